import { useMemo, useState } from 'preact/hooks'
import { withQuery, type AppSummary } from '../api.js'
import { RangePicker } from '../components/RangePicker.js'
import { Empty, Status } from '../components/Status.js'
import { TimeChart, toSeconds } from '../components/TimeChart.js'
import { TopList } from '../components/TopList.js'
import { rangeQuery } from '../filters.js'
import { formatCount } from '../format.js'
import { setQuery } from '../router.js'
import { useApi } from '../useApi.js'

const TYPES = ['view', 'action', 'error', 'resource', 'long_task', 'vital', 'report', 'custom'] as const

interface Explore {
  total: number
  series: Array<{ t: string; count: number }>
  groups: Array<{ key: string | null; count: number }>
  events: unknown[]
}

/** Any event type, filtered by attributes (`where`, repeatable) and grouped by one, like Datadog's RUM explorer. */
export function ExplorePage({ app, query }: { app: AppSummary; query: URLSearchParams }) {
  const type = query.get('type') ?? 'view'
  const where = query.getAll('where')
  const groupBy = query.get('group_by') ?? ''
  const [whereText, setWhereText] = useState(where.join('\n'))
  const [groupText, setGroupText] = useState(groupBy)
  const range = rangeQuery(query)
  const path = withQuery(`/apps/${encodeURIComponent(app.name)}/explore`, {
    type,
    from: range.from as string | undefined,
    to: range.to as string | undefined,
    where,
    group_by: groupBy || undefined,
  })
  const result = useApi<Explore>(path)

  const apply = (event: Event) => {
    event.preventDefault()
    const params = new URLSearchParams(window.location.search)
    params.delete('where')
    for (const line of whereText.split('\n').map((l) => l.trim()).filter(Boolean)) params.append('where', line)
    if (groupText.trim()) params.set('group_by', groupText.trim())
    else params.delete('group_by')
    window.history.replaceState(null, '', `${window.location.pathname}?${params}`)
    setQuery({})
  }

  return (
    <>
      <h1>{app.name}: explore</h1>
      <RangePicker query={query} />
      <form class="toolbar filters" onSubmit={apply}>
        <label>
          Event type
          <select value={type} onChange={(e) => setQuery({ type: e.currentTarget.value })}>
            {TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label class="grow">
          Where (one <code>attribute:value</code> a line, e.g. <code>view.url:/cart</code>, <code>context.plan:pro</code>)
          <textarea rows={2} value={whereText} onInput={(e) => setWhereText(e.currentTarget.value)} />
        </label>
        <label>
          Group by
          <input type="text" value={groupText} placeholder="device.browser" onInput={(e) => setGroupText(e.currentTarget.value)} />
        </label>
        <button type="submit">Run</button>
      </form>
      <Status result={result} what="The explorer">
        {(data) => <ExploreResults data={data} type={type} />}
      </Status>
    </>
  )
}

function ExploreResults({ data, type }: { data: Explore; type: string }) {
  const times = useMemo(() => toSeconds(data.series.map((p) => p.t)), [data])
  const series = useMemo(() => [{ label: 'Events', values: data.series.map((p) => p.count), color: '--series-1', bars: true }], [data])
  return (
    <>
      <p>
        <strong>{formatCount(data.total)}</strong> {type} events match.
      </p>
      <div class="grid-2">
        <section class="panel">
          <TimeChart title="Matching events over time" times={times} series={series} valueFormat={formatCount} integers />
        </section>
        <TopList title="Groups" rows={data.groups.map((g) => ({ key: g.key, value: g.count }))} unit="Events" />
      </div>
      <section class="panel">
        <h2>Latest matching events</h2>
        {data.events.length === 0 ? (
          <Empty>No events match.</Empty>
        ) : (
          <ol class="event-list">
            {data.events.map((event, index) => (
              <li key={index}>
                {/* Event data as JSON text: never markup. */}
                <pre class="code" tabIndex={0}>{JSON.stringify(event, null, 2)}</pre>
              </li>
            ))}
          </ol>
        )}
      </section>
    </>
  )
}
