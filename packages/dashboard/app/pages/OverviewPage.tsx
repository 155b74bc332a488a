import { useMemo } from 'preact/hooks'
import { withQuery, type AppSummary } from '../api.js'
import { RangePicker } from '../components/RangePicker.js'
import { DbIpCredit, Status } from '../components/Status.js'
import { TimeChart, toSeconds } from '../components/TimeChart.js'
import { Kpi, TopList, type TopRow } from '../components/TopList.js'
import { rangeQuery, type FilterKey } from '../filters.js'
import { formatCount, formatMs, formatPercent } from '../format.js'
import { useApi } from '../useApi.js'

type Top = Array<{ key: string | null; views?: number; sessions?: number }>

export interface Overview {
  range: { from: string; to: string; bucket: string }
  totals: {
    sessions: number
    views: number
    actions: number
    errors: number
    error_rate: number | null
    crash_free_rate: number | null
    bounce_rate: number | null
    view_duration_p50_ms: number | null
    view_duration_p75_ms: number | null
  }
  series: Array<{ t: string; sessions: number; views: number; errors: number }>
  top: Record<'pages' | 'entry_pages' | 'exit_pages' | 'referrers' | 'utm_campaigns' | 'countries' | 'browsers' | 'oses' | 'devices', Top | undefined>
}

const rows = (top: Top | undefined): TopRow[] => (top ?? []).map((r) => ({ key: r.key, value: r.views ?? r.sessions ?? 0 }))

export function OverviewPage({ app, query }: { app: AppSummary; query: URLSearchParams }) {
  const path = withQuery(`/apps/${encodeURIComponent(app.name)}/overview`, rangeQuery(query))
  const overview = useApi<Overview>(path)
  return (
    <>
      <h1>
        {app.name}: overview
      </h1>
      <RangePicker query={query} />
      <Status result={overview} what="The overview">
        {(data) => <OverviewPanels data={data} />}
      </Status>
    </>
  )
}

function OverviewPanels({ data }: { data: Overview }) {
  const { totals, top } = data
  const times = useMemo(() => toSeconds(data.series.map((p) => p.t)), [data])
  const traffic = useMemo(
    () => [
      { label: 'Views', values: data.series.map((p) => p.views), color: '--series-1' },
      { label: 'Sessions', values: data.series.map((p) => p.sessions), color: '--series-2' },
    ],
    [data],
  )
  const errors = useMemo(() => [{ label: 'Errors', values: data.series.map((p) => p.errors), color: '--series-bad', bars: true }], [data])
  const lists: Array<{ title: string; top: Top | undefined; unit: string; filter?: FilterKey }> = [
    { title: 'Pages', top: top.pages, unit: 'Views', filter: 'page' },
    { title: 'Entry pages', top: top.entry_pages, unit: 'Sessions', filter: 'page' },
    { title: 'Exit pages', top: top.exit_pages, unit: 'Sessions', filter: 'page' },
    { title: 'Referrers', top: top.referrers, unit: 'Views' },
    { title: 'UTM campaigns', top: top.utm_campaigns, unit: 'Views' },
    { title: 'Countries', top: top.countries, unit: 'Sessions', filter: 'country' },
    { title: 'Browsers', top: top.browsers, unit: 'Sessions', filter: 'browser' },
    { title: 'Operating systems', top: top.oses, unit: 'Sessions', filter: 'os' },
    { title: 'Devices', top: top.devices, unit: 'Sessions', filter: 'device' },
  ]
  return (
    <>
      <dl class="kpis" aria-label="Totals">
        <Kpi label="Sessions" value={formatCount(totals.sessions)} />
        <Kpi label="Views" value={formatCount(totals.views)} />
        <Kpi label="Actions" value={formatCount(totals.actions)} />
        <Kpi label="Errors" value={formatCount(totals.errors)} />
        <Kpi label="Error rate" value={totals.error_rate === null ? '–' : `${(totals.error_rate * 100).toFixed(2)} %`} hint="errors per view" />
        <Kpi label="Crash-free sessions" value={formatPercent(totals.crash_free_rate)} />
        <Kpi label="Bounce rate" value={formatPercent(totals.bounce_rate)} />
        <Kpi label="View duration" value={formatMs(totals.view_duration_p50_ms)} hint={`p75 ${formatMs(totals.view_duration_p75_ms)}`} />
      </dl>
      <div class="grid-2">
        <section class="panel">
          <TimeChart title="Views and sessions" times={times} series={traffic} valueFormat={formatCount} integers />
        </section>
        <section class="panel">
          <TimeChart title="Errors" times={times} series={errors} valueFormat={formatCount} integers />
        </section>
      </div>
      <div class="grid-3">
        {lists.map((list) => (
          <TopList key={list.title} title={list.title} rows={rows(list.top)} unit={list.unit} filter={list.filter} />
        ))}
      </div>
      <DbIpCredit />
    </>
  )
}
