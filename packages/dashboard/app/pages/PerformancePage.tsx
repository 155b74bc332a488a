import { useMemo } from 'preact/hooks'
import { withQuery, type AppSummary } from '../api.js'
import { RangePicker } from '../components/RangePicker.js'
import { DbIpCredit, Empty, Status } from '../components/Status.js'
import { TimeChart, toSeconds } from '../components/TimeChart.js'
import { Kpi } from '../components/TopList.js'
import { rangeQuery, type FilterKey } from '../filters.js'
import { formatCount, formatMs, formatPercent, formatVital } from '../format.js'
import { setQuery } from '../router.js'
import { useApi } from '../useApi.js'

const VITALS = ['LCP', 'INP', 'CLS', 'FCP', 'TTFB'] as const
type VitalName = (typeof VITALS)[number]

const VITAL_NAMES: Record<VitalName, string> = {
  LCP: 'Largest Contentful Paint',
  INP: 'Interaction to Next Paint',
  CLS: 'Cumulative Layout Shift',
  FCP: 'First Contentful Paint',
  TTFB: 'Time to First Byte',
}

interface Vital {
  p50: number | null
  p75: number | null
  p90: number | null
  count: number
  good: number
  needs_improvement: number
  poor: number
  series?: Array<{ t: string; p75: number | null }>
  histogram?: Array<{ le: number; count: number }>
}

interface Performance {
  range: { from: string; to: string; bucket: string }
  vitals: Partial<Record<VitalName, Vital>>
  by?: Partial<Record<'page' | 'country' | 'browser' | 'device', Array<{ key: string | null; LCP_p75: number | null; INP_p75: number | null; CLS_p75: number | null; count: number }>>>
  navigation?: Record<string, number | null>
  slowest_resources?: Array<{ url: string; type: string; p75_ms: number; count: number }>
  long_tasks?: { count: number; total_ms: number; p75_ms: number | null; series?: Array<{ t: string; count: number }> }
}

const NO_TIMES: number[] = []

const BY = [
  { key: 'page', label: 'Page' },
  { key: 'country', label: 'Country' },
  { key: 'browser', label: 'Browser' },
  { key: 'device', label: 'Device' },
] as const

export function PerformancePage({ app, query }: { app: AppSummary; query: URLSearchParams }) {
  const by = BY.find((b) => b.key === query.get('by'))?.key ?? 'page'
  const path = withQuery(`/apps/${encodeURIComponent(app.name)}/performance`, { ...rangeQuery(query), by })
  const result = useApi<Performance>(path)
  return (
    <>
      <h1>{app.name}: performance</h1>
      <RangePicker query={query} />
      <Status result={result} what="Performance">
        {(data) => <PerformancePanels data={data} by={by} />}
      </Status>
    </>
  )
}

function PerformancePanels({ data, by }: { data: Performance; by: 'page' | 'country' | 'browser' | 'device' }) {
  const byRows = data.by?.[by] ?? []
  return (
    <>
      <div class="vitals">
        {VITALS.map((name) => (
          <VitalPanel key={name} name={name} vital={data.vitals[name]} />
        ))}
      </div>
      <section class="panel">
        <div class="panel-head">
          <h2>Core Web Vitals by</h2>
          <fieldset class="segmented">
            <legend class="visually-hidden">Group by</legend>
            {BY.map((b) => (
              <button type="button" key={b.key} aria-pressed={by === b.key} onClick={() => setQuery({ by: b.key })}>
                {b.label}
              </button>
            ))}
          </fieldset>
        </div>
        {byRows.length === 0 ? (
          <Empty>No Web Vitals in this range.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">{BY.find((b) => b.key === by)?.label}</th>
                <th scope="col" class="num">LCP p75</th>
                <th scope="col" class="num">INP p75</th>
                <th scope="col" class="num">CLS p75</th>
                <th scope="col" class="num">Samples</th>
              </tr>
            </thead>
            <tbody>
              {byRows.map((row) => (
                <tr key={row.key ?? ''}>
                  <td>
                    {row.key ? (
                      <button type="button" class="linklike" title={`Show only ${row.key}`} onClick={() => setQuery({ [by as FilterKey]: row.key ?? undefined })}>
                        {row.key}
                      </button>
                    ) : (
                      <span class="muted">unknown</span>
                    )}
                  </td>
                  <td class="num">{formatVital('LCP', row.LCP_p75)}</td>
                  <td class="num">{formatVital('INP', row.INP_p75)}</td>
                  <td class="num">{formatVital('CLS', row.CLS_p75)}</td>
                  <td class="num">{formatCount(row.count)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {by === 'country' && <DbIpCredit />}
      </section>
      <div class="grid-2">
        <section class="panel">
          <h2>Navigation timings (p75)</h2>
          {data.navigation && Object.keys(data.navigation).length > 0 ? (
            <dl class="kpis compact">
              {Object.entries(data.navigation).map(([key, value]) => (
                <Kpi key={key} label={key.replace(/_p75$/, '').replace(/_/g, ' ')} value={formatMs(value)} />
              ))}
            </dl>
          ) : (
            <Empty>No navigation timings in this range.</Empty>
          )}
        </section>
        <LongTasks longTasks={data.long_tasks} />
      </div>
      <section class="panel">
        <h2>Slowest resources</h2>
        {!data.slowest_resources || data.slowest_resources.length === 0 ? (
          <Empty>No resources in this range.</Empty>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Type</th>
                <th scope="col" class="num">p75</th>
                <th scope="col" class="num">Count</th>
              </tr>
            </thead>
            <tbody>
              {data.slowest_resources.map((r) => (
                <tr key={`${r.type} ${r.url}`}>
                  <td class="wrap">{r.url}</td>
                  <td>{r.type}</td>
                  <td class="num">{formatMs(r.p75_ms)}</td>
                  <td class="num">{formatCount(r.count)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  )
}

function VitalPanel({ name, vital }: { name: VitalName; vital: Vital | undefined }) {
  const times = useMemo(() => toSeconds((vital?.series ?? []).map((p) => p.t)), [vital])
  const series = useMemo(() => [{ label: `${name} p75`, values: (vital?.series ?? []).map((p) => p.p75), color: '--series-1' }], [vital, name])
  const histLabels = useMemo(() => (vital?.histogram ?? []).map((h) => formatVital(name, h.le)), [vital, name])
  const histSeries = useMemo(() => [{ label: 'Samples', values: (vital?.histogram ?? []).map((h) => h.count), color: '--series-2', bars: true }], [vital])
  const format = useMemo(() => (value: number) => formatVital(name, value), [name])
  return (
    <section class="panel vital" aria-label={VITAL_NAMES[name]}>
      <h2>
        <abbr title={VITAL_NAMES[name]}>{name}</abbr> <span class="vital-value">{formatVital(name, vital?.p75)}</span>
      </h2>
      {!vital || vital.count === 0 ? (
        <Empty>No samples in this range.</Empty>
      ) : (
        <>
          <p class="muted">
            p50 {formatVital(name, vital.p50)} · p90 {formatVital(name, vital.p90)} · {formatCount(vital.count)} samples
          </p>
          <ShareBar good={vital.good} needsImprovement={vital.needs_improvement} poor={vital.poor} />
          {times.length > 0 && <TimeChart title={`${name} p75 over time`} times={times} series={series} height={120} valueFormat={format} />}
          {histLabels.length > 0 && <TimeChart title={`${name} distribution (bucket upper bounds)`} times={NO_TIMES} xLabels={histLabels} series={histSeries} height={140} valueFormat={formatCount} integers />}
        </>
      )}
    </section>
  )
}

/** Good / needs improvement / poor shares (Google's thresholds), as a bar with the numbers written out too. */
function ShareBar({ good, needsImprovement, poor }: { good: number; needsImprovement: number; poor: number }) {
  const parts = [
    { key: 'good', label: 'Good', share: good },
    { key: 'ni', label: 'Needs improvement', share: needsImprovement },
    { key: 'poor', label: 'Poor', share: poor },
  ]
  return (
    <div class="sharebar-wrap">
      <div class="sharebar" aria-hidden="true">
        {parts.map((p) => (
          <span key={p.key} class={`share share-${p.key}`} ref={(el) => el?.style.setProperty('--share', String(p.share))} />
        ))}
      </div>
      <ul class="share-legend">
        {parts.map((p) => (
          <li key={p.key}>
            <span class={`dot share-${p.key}`} aria-hidden="true" />
            {p.label} {formatPercent(p.share, 0)}
          </li>
        ))}
      </ul>
    </div>
  )
}

function LongTasks({ longTasks }: { longTasks: Performance['long_tasks'] }) {
  const times = useMemo(() => toSeconds((longTasks?.series ?? []).map((p) => p.t)), [longTasks])
  const series = useMemo(() => [{ label: 'Long tasks', values: (longTasks?.series ?? []).map((p) => p.count), color: '--series-bad', bars: true }], [longTasks])
  return (
    <section class="panel">
      <h2>Long tasks</h2>
      {!longTasks || longTasks.count === 0 ? (
        <Empty>No long tasks in this range.</Empty>
      ) : (
        <>
          <dl class="kpis compact">
            <Kpi label="Count" value={formatCount(longTasks.count)} />
            <Kpi label="Total" value={formatMs(longTasks.total_ms)} />
            <Kpi label="p75" value={formatMs(longTasks.p75_ms)} />
          </dl>
          {times.length > 0 && <TimeChart title="Long tasks over time" times={times} series={series} height={120} valueFormat={formatCount} integers />}
        </>
      )}
    </section>
  )
}
