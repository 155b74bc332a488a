import { useState } from 'preact/hooks'
import { api, ApiError, type AppSummary } from '../api.js'
import { DbIpCredit, ErrorNotice, Status } from '../components/Status.js'
import { TimeChart } from '../components/TimeChart.js'
import { formatCount, formatTime, safeHref } from '../format.js'
import { useApi } from '../useApi.js'
import { StatusBadge, type IssueSummary } from './IssuesPage.js'

interface Position {
  function: string | null
  file: string | null
  line: number | null
  column: number | null
}

interface Frame extends Position {
  in_app: boolean
  resolved?: boolean
  reason?: string
  map?: string
  context?: { pre: string[]; line: string; post: string[] }
  minified?: Position
}

interface TagCount {
  value: string
  count: number
}

/** Exact counts of every event of the issue (the API's `breakdown`), not only of the stored sample. */
interface Breakdown {
  days: Array<{ day: string; count: number }>
  browser: TagCount[]
  os: TagCount[]
  device: TagCount[]
  country: TagCount[]
}

interface IssueDetail extends IssueSummary {
  breakdown?: Breakdown
  latest_event:
    | { ts: string; release: string | null; env: string | null; message: string; type: string | null; stack: string | null; frames: Frame[] }
    | { ts: string; release: string | null; env: string | null; report: Record<string, unknown> }
    | null
}

interface StoredEvent {
  ts: number
  type: string
  release?: string
  env?: string
  view?: { url?: string }
  error?: { message?: string; type?: string; handled?: boolean }
  device?: { browser?: string; browser_version?: string; os?: string; type?: string }
  geo?: { country?: string }
  session?: { id?: string }
}

export function IssuePage({ app, issueId, base }: { app: AppSummary; issueId: string; base: string }) {
  const path = `/apps/${encodeURIComponent(app.name)}/issues/${encodeURIComponent(issueId)}`
  const issue = useApi<IssueDetail>(path)
  const events = useApi<{ events: StoredEvent[] }>(`${path}/events?limit=20`)
  const [changeError, setChangeError] = useState<ApiError | undefined>()
  const [busy, setBusy] = useState(false)
  const canChange = app.role !== 'viewer'

  const setStatus = async (status: 'resolved' | 'ignored' | 'open') => {
    setBusy(true)
    setChangeError(undefined)
    try {
      await api('PATCH', path, { status })
      issue.reload()
    } catch (error) {
      setChangeError(error instanceof ApiError ? error : new ApiError(0, 'error', String(error)))
    } finally {
      setBusy(false)
    }
  }

  return (
    <>
      <p>
        <a href={`${base}/issues`}>← Issues</a>
      </p>
      <Status result={issue} what="This issue">
        {(data) => (
          <>
            <h1 class="wrap">{data.title}</h1>
            <p class="muted wrap">{data.culprit}</p>
            <div class="toolbar">
              <StatusBadge issue={data} />
              {canChange && (
                <span class="actions">
                  {data.status !== 'resolved' && (
                    <button type="button" disabled={busy} onClick={() => setStatus('resolved')}>
                      Resolve
                    </button>
                  )}
                  {data.status !== 'ignored' && (
                    <button type="button" disabled={busy} onClick={() => setStatus('ignored')}>
                      Ignore
                    </button>
                  )}
                  {(data.status !== 'open' || data.regressed) && (
                    <button type="button" disabled={busy} onClick={() => setStatus('open')}>
                      Reopen
                    </button>
                  )}
                </span>
              )}
            </div>
            {changeError && <ErrorNotice error={changeError} />}
            <dl class="kpis compact">
              <div class="kpi"><dt>Events</dt><dd>{formatCount(data.count)}</dd></div>
              <div class="kpi"><dt>Sessions</dt><dd>{formatCount(data.sessions)}</dd></div>
              <div class="kpi"><dt>First seen</dt><dd class="small">{formatTime(data.first_seen)}</dd></div>
              <div class="kpi"><dt>Last seen</dt><dd class="small">{formatTime(data.last_seen)}</dd></div>
            </dl>
            {data.breakdown && <IssueBreakdown breakdown={data.breakdown} />}
            <section class="panel">
              <h2>Stack trace</h2>
              <LatestEvent event={data.latest_event} />
            </section>
            <div class="grid-2">
              <section class="panel">
                <h2>Releases</h2>
                <CountTable rows={data.releases.map((r) => ({ key: r.release, count: r.count, last: r.last_seen }))} label="Release" />
              </section>
              <section class="panel">
                <h2>Environments</h2>
                <CountTable rows={data.environments.map((r) => ({ key: r.environment, count: r.count, last: r.last_seen }))} label="Environment" />
              </section>
            </div>
          </>
        )}
      </Status>
      <section class="panel">
        <h2>Sample events</h2>
        <Status result={events} what="The sample events">
          {(data) => <SampleEvents events={data.events} base={base} />}
        </Status>
      </section>
    </>
  )
}

const DAY_S = 86_400

/** Events per day over the last 30 days (days without events shown as zero), and the top browsers, OSes, devices and countries. */
function IssueBreakdown({ breakdown }: { breakdown: Breakdown }) {
  const today = Math.floor(Date.now() / 1000 / DAY_S) * DAY_S
  const times = Array.from({ length: 30 }, (_, i) => today - (29 - i) * DAY_S)
  const counts = new Map(breakdown.days.map((d) => [Date.parse(`${d.day}T00:00:00Z`) / 1000, d.count]))
  const tags: Array<[string, TagCount[]]> = [
    ['Browsers', breakdown.browser],
    ['Operating systems', breakdown.os],
    ['Devices', breakdown.device],
    ['Countries', breakdown.country],
  ]
  return (
    <>
      <section class="panel">
        <TimeChart title="Events per day (last 30 days, UTC)" times={times} series={[{ label: 'Events', values: times.map((t) => counts.get(t) ?? 0), color: '--series-bad', bars: true }]} integers />
      </section>
      <div class="grid-3">
        {tags.map(([label, values]) => (
          <section class="panel" key={label}>
            <h2>{label}</h2>
            {values.length === 0 ? (
              <p class="muted">None known.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">{label}</th>
                    <th scope="col" class="num">Events</th>
                  </tr>
                </thead>
                <tbody>
                  {values.map((v) => (
                    <tr key={v.value}>
                      <td>{v.value}</td>
                      <td class="num">{formatCount(v.count)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {label === 'Countries' && values.length > 0 && <DbIpCredit />}
          </section>
        ))}
      </div>
    </>
  )
}

function CountTable({ rows, label }: { rows: Array<{ key: string; count: number; last: string }>; label: string }) {
  if (rows.length === 0) return <p class="muted">None named.</p>
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">{label}</th>
          <th scope="col" class="num">Events</th>
          <th scope="col">Last seen</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key}>
            <td>{r.key}</td>
            <td class="num">{formatCount(r.count)}</td>
            <td>{formatTime(r.last)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function LatestEvent({ event }: { event: IssueDetail['latest_event'] }) {
  if (!event) return <p class="muted">Retention has deleted every stored event of this issue.</p>
  if ('report' in event) return <pre class="code" tabIndex={0}>{JSON.stringify(event.report, null, 2)}</pre>
  return (
    <>
      <p class="wrap">
        <strong>{event.type ?? 'Error'}</strong>: {event.message}
      </p>
      <p class="muted small">
        {formatTime(event.ts)}
        {event.release && ` · release ${event.release}`}
        {event.env && ` · ${event.env}`}
      </p>
      {event.frames.length === 0 ? (
        event.stack ? <pre class="code" tabIndex={0}>{event.stack}</pre> : <p class="muted">No stack trace.</p>
      ) : (
        <ol class="frames">
          {event.frames.map((frame, index) => (
            <FrameView key={index} frame={frame} open={index === event.frames.findIndex((f) => f.in_app)} />
          ))}
        </ol>
      )}
    </>
  )
}

function where(position: Position): string {
  return `${position.file ?? '?'}${position.line !== null ? `:${position.line}` : ''}${position.column !== null ? `:${position.column}` : ''}`
}

function FrameView({ frame, open }: { frame: Frame; open: boolean }) {
  const summary = (
    <>
      <code class="fn">{frame.function ?? '<anonymous>'}</code> <span class="muted">at</span> <code class="wrap">{where(frame)}</code>
      {!frame.in_app && <span class="badge">library</span>}
      {frame.resolved === false && frame.reason && <span class="badge" title="Why this frame is still minified">{frame.reason.replace(/_/g, ' ')}</span>}
    </>
  )
  if (!frame.context && !frame.minified) return <li class="frame">{summary}</li>
  return (
    <li class="frame">
      <details open={open}>
        <summary>{summary}</summary>
        {frame.context && (
          <pre class="code context" tabIndex={0}>
            {frame.context.pre.map((line, i) => (
              <span key={`pre${i}`} class="ctx-line">
                {line}
                {'\n'}
              </span>
            ))}
            <mark class="ctx-line ctx-current">
              {frame.context.line}
              {'\n'}
            </mark>
            {frame.context.post.map((line, i) => (
              <span key={`post${i}`} class="ctx-line">
                {line}
                {'\n'}
              </span>
            ))}
          </pre>
        )}
        {frame.minified && frame.resolved && (
          <p class="muted small">
            Minified: <code>{frame.minified.function ?? '<anonymous>'}</code> at <code class="wrap">{where(frame.minified)}</code>
            {frame.map && ` (map ${frame.map})`}
          </p>
        )}
      </details>
    </li>
  )
}

function SampleEvents({ events, base }: { events: StoredEvent[]; base: string }) {
  if (events.length === 0) return <p class="muted">No stored events.</p>
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Message</th>
          <th scope="col">Page</th>
          <th scope="col">Browser</th>
          <th scope="col">Release</th>
          <th scope="col">Session</th>
        </tr>
      </thead>
      <tbody>
        {events.map((event, index) => (
          <tr key={index}>
            <td>{formatTime(event.ts)}</td>
            <td class="wrap">{event.error?.message ?? event.type}</td>
            <td class="wrap">
              <UrlText url={event.view?.url} />
            </td>
            <td>{[event.device?.browser, event.device?.browser_version].filter(Boolean).join(' ') || '–'}</td>
            <td>{event.release ?? '–'}</td>
            <td>{event.session?.id ? <a href={`${base}/sessions/${encodeURIComponent(event.session.id)}`}>{event.session.id.slice(0, 8)}</a> : '–'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

/** A URL from event data: a link only when it parses as http(s); otherwise (javascript:, data:, junk) plain text. */
export function UrlText({ url }: { url: string | undefined }) {
  if (!url) return <>–</>
  const href = safeHref(url)
  if (!href) return <span>{url}</span>
  return (
    <a href={href} rel="noopener noreferrer nofollow" target="_blank" data-external>
      {url}
    </a>
  )
}
