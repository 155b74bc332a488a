import { useEffect, useState } from 'preact/hooks'
import { withQuery, type AppSummary } from '../api.js'
import { Empty, Status } from '../components/Status.js'
import { formatCount, formatRelative } from '../format.js'
import { setQuery } from '../router.js'
import { useApi } from '../useApi.js'
import { Pager } from '../components/Pager.js'

export interface IssueSummary {
  id: number
  kind: 'error' | 'report'
  title: string
  culprit: string | null
  type: string | null
  status: 'open' | 'resolved' | 'ignored'
  regressed: boolean
  count: number
  sessions: number
  first_seen: string
  last_seen: string
  resolved_at: string | null
  first_release: string | null
  last_release: string | null
  releases: Array<{ release: string; count: number; first_seen: string; last_seen: string }>
  environments: Array<{ environment: string; count: number; first_seen: string; last_seen: string }>
}

const STATUSES = ['', 'open', 'regressed', 'resolved', 'ignored'] as const
const SORTS = [
  { key: 'last_seen', label: 'Last seen' },
  { key: 'count', label: 'Events' },
  { key: 'sessions', label: 'Sessions affected' },
  { key: 'first_seen', label: 'First seen' },
] as const
const PAGE = 50

export function IssuesPage({ app, query, base }: { app: AppSummary; query: URLSearchParams; base: string }) {
  const appPath = `/apps/${encodeURIComponent(app.name)}`
  const status = query.get('status') ?? 'open'
  const sort = query.get('sort') ?? 'last_seen'
  const offset = Number(query.get('offset') ?? 0) || 0
  const [search, setSearch] = useState(query.get('search') ?? '')
  useEffect(() => setSearch(query.get('search') ?? ''), [query.get('search')])
  const releases = useApi<{ releases: Array<{ release: string }> }>(`${appPath}/releases`)
  const issues = useApi<{ issues: IssueSummary[]; next_offset: number | null }>(
    withQuery(`${appPath}/issues`, {
      status: status === 'all' ? undefined : status,
      sort,
      release: query.get('release'),
      environment: query.get('environment'),
      search: query.get('search'),
      limit: PAGE,
      offset: offset || undefined,
    }),
  )
  const environments = new Set<string>()
  if (issues.state === 'ok') for (const issue of issues.data.issues) for (const e of issue.environments) environments.add(e.environment)
  const currentEnv = query.get('environment')
  if (currentEnv) environments.add(currentEnv)

  return (
    <>
      <h1>{app.name}: issues</h1>
      <form
        class="toolbar filters"
        role="search"
        onSubmit={(event) => {
          event.preventDefault()
          setQuery({ search: search.trim() || undefined, offset: undefined })
        }}
      >
        <label>
          Status
          <select value={status} onChange={(e) => setQuery({ status: e.currentTarget.value, offset: undefined })}>
            {STATUSES.map((s) => (
              <option key={s} value={s || 'all'}>
                {s || 'all'}
              </option>
            ))}
          </select>
        </label>
        <label>
          Release
          <select value={query.get('release') ?? ''} onChange={(e) => setQuery({ release: e.currentTarget.value, offset: undefined })}>
            <option value="">all</option>
            {releases.state === 'ok' && releases.data.releases.map((r) => <option key={r.release} value={r.release}>{r.release}</option>)}
          </select>
        </label>
        <label>
          Environment
          <select value={currentEnv ?? ''} onChange={(e) => setQuery({ environment: e.currentTarget.value, offset: undefined })}>
            <option value="">all</option>
            {[...environments].sort().map((e) => <option key={e} value={e}>{e}</option>)}
          </select>
        </label>
        <label>
          Sort by
          <select value={sort} onChange={(e) => setQuery({ sort: e.currentTarget.value, offset: undefined })}>
            {SORTS.map((s) => (
              <option key={s.key} value={s.key}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        <label class="grow">
          Search
          <input type="search" maxLength={200} value={search} placeholder="Title or culprit" onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
        <button type="submit">Search</button>
      </form>
      <Status result={issues} what="The issue list">
        {(data) =>
          data.issues.length === 0 ? (
            <Empty>No issues match.</Empty>
          ) : (
            <>
              <table class="issues">
                <thead>
                  <tr>
                    <th scope="col">Issue</th>
                    <th scope="col">Status</th>
                    <th scope="col" class="num">Events</th>
                    <th scope="col" class="num">Sessions</th>
                    <th scope="col">Last seen</th>
                  </tr>
                </thead>
                <tbody>
                  {data.issues.map((issue) => (
                    <tr key={issue.id}>
                      <td class="wrap">
                        <a href={`${base}/issues/${issue.id}`} class="issue-title">
                          {issue.title}
                        </a>
                        {issue.culprit && <div class="muted small">{issue.culprit}</div>}
                      </td>
                      <td>
                        <StatusBadge issue={issue} />
                      </td>
                      <td class="num">{formatCount(issue.count)}</td>
                      <td class="num">{formatCount(issue.sessions)}</td>
                      <td title={issue.last_seen}>{formatRelative(issue.last_seen)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager offset={offset} pageSize={PAGE} nextOffset={data.next_offset} />
            </>
          )
        }
      </Status>
    </>
  )
}

export function StatusBadge({ issue }: { issue: Pick<IssueSummary, 'status' | 'regressed'> }) {
  const label = issue.regressed ? 'regressed' : issue.status
  return <span class={`badge badge-${label}`}>{label}</span>
}
