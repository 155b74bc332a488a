import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
import { api, ApiError, type AppSummary } from '../api.js'
import { RecordTable } from '../components/RecordTable.js'
import { ErrorNotice, Status } from '../components/Status.js'
import { navigate } from '../router.js'
import { useApi } from '../useApi.js'

type Row = Record<string, unknown>

/** Settings, tokens, members, alerts, audit, drops, data inventory and delete-all-data: owners change, others read. */
export function SettingsPage({ app }: { app: AppSummary }) {
  const path = `/apps/${encodeURIComponent(app.name)}`
  const owner = app.role === 'owner'
  return (
    <>
      <h1>{app.name}: settings</h1>
      {!owner && <p class="notice">You are a {app.role} of this app: only owners can change its settings.</p>}
      <AppSettings path={path} owner={owner} />
      {owner && (
        <>
          <Tokens path={path} appId={app.id} />
          <Members path={path} />
          <Alerts path={path} />
          <Drops path={path} />
          <Listing title="Audit log" path={`${path}/audit`} field="entries" empty="No audited changes." what="The audit log" />
          <Inventory path={path} />
          <DeleteAllData path={path} appName={app.name} />
        </>
      )}
    </>
  )
}

function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section class="panel" aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  )
}

function useAction(after: () => void) {
  const [error, setError] = useState<ApiError | undefined>()
  const [busy, setBusy] = useState(false)
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true)
    setError(undefined)
    try {
      await action()
      after()
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, 'error', String(caught)))
    } finally {
      setBusy(false)
    }
  }
  return { error, busy, run }
}

/** Groups of settings, in the order a person reads a privacy policy; anything else lands in "Other". */
const SETTING_GROUPS: Array<{ title: string; match: (key: string) => boolean }> = [
  { title: 'Ingest', match: (key) => ['origins', 'rate_limit', 'session_timeout'].includes(key) },
  { title: 'Privacy', match: (key) => ['ip', 'geo', 'allow_user_identity', 'allow_user_details', 'honor_gpc', 'keep_bots'].includes(key) || key.startsWith('scrub.') },
  { title: 'Inbound filters', match: (key) => ['block_countries', 'block_paths', 'ip_allow', 'ip_deny'].includes(key) },
  { title: 'Retention (days)', match: (key) => key.startsWith('retention.') },
]

type SettingValue = string | number | boolean | null | string[]

/** How a value shows in its input: lists comma-separated (as `tacit app set` takes them), nothing for null. */
function settingText(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (Array.isArray(value)) return value.join(',')
  return String(value)
}

/** The edited text back as the JSON the API takes: numbers stay numbers, an emptied field clears the setting. */
function settingValue(original: unknown, text: string): SettingValue {
  if (typeof original === 'number' && /^\d+$/.test(text.trim())) return Number(text.trim())
  if (text.trim() === '') return null
  return text
}

/** The settings as `tacit app set` names them; the changes are sent together and applied all-or-nothing. */
function AppSettings({ path, owner }: { path: string; owner: boolean }) {
  const settings = useApi<{ settings: Record<string, unknown>; defaults?: string[] }>(`${path}/settings`)
  const [edits, setEdits] = useState<Record<string, SettingValue>>({})
  const [saved, setSaved] = useState(false)
  const action = useAction(() => {
    setEdits({})
    setSaved(true)
    settings.reload()
  })
  return (
    <Section title="Settings">
      <Status result={settings} what="Settings">
        {(data) => {
          const keys = Object.keys(data.settings)
          const groups = [...SETTING_GROUPS, { title: 'Other', match: (key: string) => !SETTING_GROUPS.some((g) => g.match(key)) }]
          return (
            <form
              onSubmit={(event) => {
                event.preventDefault()
                setSaved(false)
                void action.run(() => api('PATCH', `${path}/settings`, edits))
              }}
            >
              {groups.map((group) => {
                const inGroup = keys.filter(group.match)
                if (inGroup.length === 0) return null
                return (
                  <fieldset key={group.title} class="settings-group">
                    <legend>{group.title}</legend>
                    <div class="settings-form">
                      {inGroup.map((key) => {
                        const original = data.settings[key]
                        const isDefault = data.defaults?.includes(key)
                        if (typeof original === 'boolean') {
                          const current = key in edits ? edits[key] : original
                          return (
                            <label key={key} class="setting checkbox">
                              <input type="checkbox" disabled={!owner} checked={current === true} onChange={(e) => setEdits({ ...edits, [key]: e.currentTarget.checked })} />
                              <code>{key}</code>
                              {isDefault && <span class="hint">default</span>}
                            </label>
                          )
                        }
                        const current = key in edits ? settingText(edits[key]) : settingText(original)
                        return (
                          <label key={key} class="setting">
                            <span>
                              <code>{key}</code> {isDefault && <span class="hint">default</span>}
                            </span>
                            <input
                              type="text"
                              inputMode={typeof original === 'number' ? 'numeric' : undefined}
                              readOnly={!owner}
                              value={current}
                              placeholder={Array.isArray(original) ? 'comma-separated' : undefined}
                              onInput={(e) => setEdits({ ...edits, [key]: settingValue(original, e.currentTarget.value) })}
                            />
                          </label>
                        )
                      })}
                    </div>
                  </fieldset>
                )
              })}
              {action.error && <ErrorNotice error={action.error} />}
              {saved && !action.error && (
                <p class="notice" role="status">
                  Saved. New events follow the new settings within a second.
                </p>
              )}
              {owner && (
                <button type="submit" class="primary" disabled={action.busy || Object.keys(edits).length === 0}>
                  Save changes
                </button>
              )}
            </form>
          )
        }}
      </Status>
    </Section>
  )
}

function Tokens({ path, appId }: { path: string; appId: number }) {
  const tokens = useApi<{ tokens: Row[] }>(`${path}/tokens`)
  const action = useAction(() => tokens.reload())
  return (
    <Section title="Client tokens">
      <p class="muted">Client tokens are public and write-only: they sit in every page and can only send events.</p>
      <Status result={tokens} what="Client tokens">
        {(data) => (
          <RecordTable
            rows={data.tokens}
            empty="No client tokens: this app receives nothing."
            caption="Client tokens"
            actions={(row) =>
              typeof row.token === 'string' && !row.revoked_at ? (
                <button type="button" class="danger" disabled={action.busy} onClick={() => action.run(() => api('DELETE', `${path}/tokens/${encodeURIComponent(String(row.token))}`))}>
                  Revoke
                </button>
              ) : null
            }
          />
        )}
      </Status>
      {action.error && <ErrorNotice error={action.error} />}
      <button type="button" disabled={action.busy} onClick={() => action.run(() => api('POST', `${path}/tokens`, {}))}>
        Create a token
      </button>
      {tokens.state === 'ok' && <OtherSdks appId={appId} token={tokens.data.tokens.find((row) => typeof row.token === 'string' && !row.revoked_at)?.token as string | undefined} />}
    </Section>
  )
}

/**
 * Issue 9: the same token in another vendor's SDK (docs/SDKS.md), ready to paste: Sentry's DSN (its project is the
 * app's id: Sentry's SDKs take only numbers there) and the Datadog SDK's options.
 */
function OtherSdks({ appId, token }: { appId: number; token: string | undefined }) {
  if (!token) return null
  const { protocol, host, origin } = window.location
  return (
    <>
      <h3>Sending with another SDK</h3>
      <p class="muted">Sentry SDKs (@sentry/browser, @sentry/node…): use this DSN.</p>
      <pre class="code" tabIndex={0} aria-label="Sentry DSN">
        <code>{`${protocol}//${token}@${host}/${appId}`}</code>
      </pre>
      <p class="muted">The Datadog browser SDK: these options (see docs/SDKS.md for the cookie-less ones).</p>
      <pre class="code" tabIndex={0} aria-label="Datadog SDK options">
        <code>{`clientToken: '${token}',\nproxy: '${origin}/api/compat/datadog',\nsessionPersistence: 'memory',\ntrackAnonymousUser: false,`}</code>
      </pre>
    </>
  )
}

function Members({ path }: { path: string }) {
  const members = useApi<{ members: Array<{ user_id: number; email: string; role: string }> }>(`${path}/members`)
  const [email, setEmail] = useState('')
  const [role, setRole] = useState('viewer')
  const action = useAction(() => members.reload())
  return (
    <Section title="Members">
      <Status result={members} what="Members">
        {(data) => (
          <table>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.members.map((m) => (
                <tr key={m.user_id}>
                  <td>{m.email}</td>
                  <td>
                    <select
                      aria-label={`Role of ${m.email}`}
                      value={m.role}
                      disabled={action.busy}
                      onChange={(e) => {
                        const next = e.currentTarget.value
                        void action.run(() => api('PATCH', `${path}/members/${m.user_id}`, { role: next }))
                      }}
                    >
                      <option value="viewer">viewer</option>
                      <option value="member">member</option>
                      <option value="owner">owner</option>
                    </select>
                  </td>
                  <td>
                    <button type="button" class="danger" disabled={action.busy} onClick={() => action.run(() => api('DELETE', `${path}/members/${m.user_id}`))}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Status>
      <form
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault()
          void action.run(() => api('POST', `${path}/members`, { email, role }).then(() => setEmail('')))
        }}
      >
        <label>
          Email of an existing user
          <input type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            <option value="viewer">viewer</option>
            <option value="member">member</option>
            <option value="owner">owner</option>
          </select>
        </label>
        <button type="submit" disabled={action.busy}>
          Add member
        </button>
      </form>
      {action.error && <ErrorNotice error={action.error} />}
    </Section>
  )
}

function Alerts({ path }: { path: string }) {
  const alerts = useApi<{ rules: Row[] }>(`${path}/alerts`)
  const deliveries = useApi<{ deliveries: Row[] }>(`${path}/alerts/deliveries`)
  const [on, setOn] = useState('new-issue')
  const [url, setUrl] = useState('')
  const [format, setFormat] = useState('json')
  const [threshold, setThreshold] = useState('')
  const [windowMinutes, setWindowMinutes] = useState('')
  const action = useAction(() => {
    setUrl('')
    alerts.reload()
  })
  const add = (event: Event) => {
    event.preventDefault()
    const body: Record<string, unknown> = { on, url, format }
    if (on === 'error-rate') {
      if (threshold) body.threshold = Number(threshold)
      if (windowMinutes) body.window_minutes = Number(windowMinutes)
    }
    void action.run(() => api('POST', `${path}/alerts`, body))
  }
  return (
    <Section title="Alerts">
      <Status result={alerts} what="Alerts">
        {(data) => (
          <RecordTable
            rows={data.rules}
            empty="No alert rules."
            caption="Alert rules"
            actions={(row) =>
              row.id !== undefined ? (
                <button type="button" class="danger" disabled={action.busy} onClick={() => action.run(() => api('DELETE', `${path}/alerts/${encodeURIComponent(String(row.id))}`))}>
                  Delete
                </button>
              ) : null
            }
          />
        )}
      </Status>
      <form class="toolbar" onSubmit={add}>
        <label>
          On
          <select value={on} onChange={(e) => setOn(e.currentTarget.value)}>
            <option value="new-issue">a new issue</option>
            <option value="regression">a regression</option>
            <option value="error-rate">an error-rate spike</option>
          </select>
        </label>
        <label class="grow">
          Webhook URL
          <input type="url" required placeholder="https://hooks.example.com/tacit" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
        </label>
        <label>
          Format
          <select value={format} onChange={(e) => setFormat(e.currentTarget.value)}>
            <option value="json">JSON</option>
            <option value="slack">Slack</option>
          </select>
        </label>
        {on === 'error-rate' && (
          <>
            <label>
              Error events in the window (threshold)
              <input type="number" min={1} value={threshold} onInput={(e) => setThreshold(e.currentTarget.value)} />
            </label>
            <label>
              Window (minutes)
              <input type="number" min={1} value={windowMinutes} onInput={(e) => setWindowMinutes(e.currentTarget.value)} />
            </label>
          </>
        )}
        <button type="submit" disabled={action.busy}>
          Add alert
        </button>
      </form>
      {action.error && <ErrorNotice error={action.error} />}
      <h3>Webhook deliveries</h3>
      <Status result={deliveries} what="Webhook deliveries">
        {(data) => <RecordTable rows={data.deliveries} empty="No deliveries yet." caption="Webhook deliveries" />}
      </Status>
    </Section>
  )
}

/** Events dropped (and fields stripped) per day and reason: only the days that had any. */
function Drops({ path }: { path: string }) {
  const result = useApi<{ days: Array<{ day: string; accepted: Record<string, number>; dropped: Record<string, number>; stripped: Record<string, number> }> }>(`${path}/drops?days=30`)
  const counts = (byReason: Record<string, number>) =>
    Object.entries(byReason)
      .map(([reason, count]) => `${reason}: ${count}`)
      .join(', ') || '–'
  const total = (byReason: Record<string, number>) => Object.values(byReason).reduce((sum, n) => sum + n, 0)
  return (
    <Section title="Drops by reason (last 30 days)">
      <Status result={result} what="The drop counters">
        {(data) => (
          <RecordTable
            rows={(data.days ?? [])
              .filter((d) => total(d.dropped) > 0 || total(d.stripped) > 0)
              .reverse()
              .map((d) => ({ day: d.day, accepted: total(d.accepted), dropped: counts(d.dropped), stripped: counts(d.stripped) }))}
            empty="Nothing was dropped in the last 30 days."
            caption="Drops by reason"
          />
        )}
      </Status>
    </Section>
  )
}

function Listing({ title, path, field, empty, what }: { title: string; path: string; field: string; empty: string; what: string }) {
  const result = useApi<Record<string, unknown>>(path)
  return (
    <Section title={title}>
      <Status result={result} what={what}>
        {(data) => {
          const rows = data[field]
          return <RecordTable rows={Array.isArray(rows) ? (rows as Row[]) : []} empty={empty} caption={title} />
        }}
      </Status>
    </Section>
  )
}

/** What this app stores, field by field, as its settings decide (the app's part of docs/PRIVACY.md). */
function Inventory({ path }: { path: string }) {
  const result = useApi<Record<string, unknown>>(`${path}/inventory`)
  const title = (key: string) => key.charAt(0).toUpperCase() + key.slice(1).replace(/_/g, ' ')
  return (
    <Section title="Data inventory">
      <Status result={result} what="The data inventory">
        {(data) => (
          <>
            {Object.entries(data).map(([key, value]) => {
              if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
                return (
                  <div key={key}>
                    <h3>{title(key)}</h3>
                    <ul>
                      {(value as string[]).map((item) => (
                        <li key={item}>{item}</li>
                      ))}
                    </ul>
                  </div>
                )
              }
              if (Array.isArray(value)) {
                return (
                  <div key={key}>
                    <h3>{title(key)}</h3>
                    <RecordTable rows={value.filter((item): item is Row => typeof item === 'object' && item !== null)} empty="Nothing." caption={title(key)} />
                  </div>
                )
              }
              if (typeof value === 'object' && value !== null) {
                return (
                  <div key={key}>
                    <h3>{title(key)}</h3>
                    <dl class="pairs">
                      {Object.entries(value).map(([name, inner]) => (
                        <div key={name}>
                          <dt>{name}</dt>
                          <dd>{typeof inner === 'string' ? inner : JSON.stringify(inner)}</dd>
                        </div>
                      ))}
                    </dl>
                  </div>
                )
              }
              return (
                <dl class="pairs" key={key}>
                  <div>
                    <dt>{title(key)}</dt>
                    <dd>{String(value)}</dd>
                  </div>
                </dl>
              )
            })}
          </>
        )}
      </Status>
    </Section>
  )
}

/** Deletes every stored event of the app at once; the owner types the app's name to confirm. */
function DeleteAllData({ path, appName }: { path: string; appName: string }) {
  const [typed, setTyped] = useState('')
  const [done, setDone] = useState(false)
  const action = useAction(() => setDone(true))
  return (
    <section class="panel danger-zone" aria-label="Delete all data">
      <h2>Delete all data</h2>
      <p>
        This deletes every event, issue, session and aggregate this app has stored, at once and for good. The app, its settings and tokens stay. Type <strong>{appName}</strong> to confirm.
      </p>
      <form
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault()
          void action.run(() => api('POST', `${path}/purge`, { confirm: typed }))
        }}
      >
        <label>
          App name
          <input type="text" autoComplete="off" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} />
        </label>
        <button type="submit" class="danger" disabled={action.busy || typed !== appName}>
          Delete all data
        </button>
      </form>
      {action.error && <ErrorNotice error={action.error} />}
      {done && (
        <p class="notice" role="status">
          All data of {appName} was deleted. <button type="button" class="linklike" onClick={() => navigate(`/apps/${encodeURIComponent(appName)}/overview`)}>Back to the overview</button>
        </p>
      )}
    </section>
  )
}
