import { withQuery, type AppSummary } from '../api.js'
import { RangePicker } from '../components/RangePicker.js'
import { DbIpCredit, Empty, Status } from '../components/Status.js'
import { rangeQuery } from '../filters.js'
import { formatCount, formatMs, formatTime } from '../format.js'
import { useApi } from '../useApi.js'
import { Pager } from '../components/Pager.js'

interface SessionRow {
  id: string
  start: string
  duration_ms: number
  views: number
  actions: number
  errors: number
  country: string | null
  browser: string | null
  os: string | null
  device: string | null
  release: string | null
  entry_page: string | null
  exit_page: string | null
}

const PAGE = 50

export function SessionsPage({ app, query, base }: { app: AppSummary; query: URLSearchParams; base: string }) {
  const offset = Number(query.get('offset') ?? 0) || 0
  const sessions = useApi<{ sessions: SessionRow[]; next_offset: number | null }>(
    withQuery(`/apps/${encodeURIComponent(app.name)}/sessions`, { ...rangeQuery(query), limit: PAGE, offset: offset || undefined }),
  )
  return (
    <>
      <h1>{app.name}: sessions</h1>
      <p class="muted">Sessions are anonymous: a random id per visit, nothing that leads back to a person. A page filter keeps the sessions that entered on that page.</p>
      <RangePicker query={query} />
      <Status result={sessions} what="The session list">
        {(data) =>
          data.sessions.length === 0 ? (
            <Empty>No sessions in this range.</Empty>
          ) : (
            <>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Start</th>
                    <th scope="col">Pages (entry → exit)</th>
                    <th scope="col" class="num">Duration</th>
                    <th scope="col" class="num">Views</th>
                    <th scope="col" class="num">Actions</th>
                    <th scope="col" class="num">Errors</th>
                    <th scope="col">Country</th>
                    <th scope="col">Browser</th>
                    <th scope="col">Device</th>
                  </tr>
                </thead>
                <tbody>
                  {data.sessions.map((s) => (
                    <tr key={s.id}>
                      <td>
                        <a href={`${base}/sessions/${encodeURIComponent(s.id)}`}>{formatTime(s.start)}</a>
                      </td>
                      <td>{s.entry_page === null ? '–' : s.entry_page === s.exit_page ? s.entry_page : `${s.entry_page} → ${s.exit_page ?? '–'}`}</td>
                      <td class="num">{formatMs(s.duration_ms)}</td>
                      <td class="num">{formatCount(s.views)}</td>
                      <td class="num">{formatCount(s.actions)}</td>
                      <td class="num">{formatCount(s.errors)}</td>
                      <td>{s.country ?? '–'}</td>
                      <td>{[s.browser, s.os].filter(Boolean).join(' on ') || '–'}</td>
                      <td>{s.device ?? '–'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager offset={offset} pageSize={PAGE} nextOffset={data.next_offset} />
              <DbIpCredit />
            </>
          )
        }
      </Status>
    </>
  )
}
