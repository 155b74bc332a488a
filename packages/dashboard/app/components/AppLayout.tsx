import type { ComponentChildren } from 'preact'
import type { AppSummary } from '../api.js'
import type { Auth } from '../App.js'
import { ExplorePage } from '../pages/ExplorePage.js'
import { IssuePage } from '../pages/IssuePage.js'
import { IssuesPage } from '../pages/IssuesPage.js'
import { OverviewPage } from '../pages/OverviewPage.js'
import { PerformancePage } from '../pages/PerformancePage.js'
import { SessionPage } from '../pages/SessionPage.js'
import { SessionsPage } from '../pages/SessionsPage.js'
import { SettingsPage } from '../pages/SettingsPage.js'
import { navigate } from '../router.js'
import { useApi } from '../useApi.js'
import { ErrorNotice, Loading } from './Status.js'

const TABS = [
  { path: 'overview', label: 'Overview' },
  { path: 'performance', label: 'Performance' },
  { path: 'issues', label: 'Issues' },
  { path: 'sessions', label: 'Sessions' },
  { path: 'explore', label: 'Explore' },
  { path: 'settings', label: 'Settings' },
] as const

/** The frame of every page of one app: header, app switcher, tabs, and the page for the rest of the path. */
export function AppLayout({ auth, appRef, rest, query, onSignOut }: { auth: Auth; appRef: string; rest: string; query: URLSearchParams; onSignOut(): void }) {
  const apps = useApi<{ apps: AppSummary[] }>('/apps')
  const app = apps.state === 'ok' ? apps.data.apps.find((a) => a.name === appRef || String(a.id) === appRef) : undefined
  const [section = 'overview', id] = rest.split('/')

  let page: ComponentChildren
  if (apps.state === 'loading') page = <Loading />
  else if (apps.state === 'error') page = <ErrorNotice error={apps.error} what="The app list" />
  else if (!app) page = <p class="notice notice-error" role="alert">There is no such app, or you do not have access to it.</p>
  else {
    const base = `/apps/${encodeURIComponent(app.name)}`
    if (section === 'overview') page = <OverviewPage app={app} query={query} />
    else if (section === 'performance') page = <PerformancePage app={app} query={query} />
    else if (section === 'issues' && id) page = <IssuePage app={app} issueId={id} base={base} />
    else if (section === 'issues') page = <IssuesPage app={app} query={query} base={base} />
    else if (section === 'sessions' && id) page = <SessionPage app={app} sessionId={id} base={base} />
    else if (section === 'sessions') page = <SessionsPage app={app} query={query} base={base} />
    else if (section === 'explore') page = <ExplorePage app={app} query={query} />
    else if (section === 'settings') page = <SettingsPage app={app} />
    else page = <p class="notice notice-error">There is no such page.</p>
  }

  return (
    <>
      <Header auth={auth} onSignOut={onSignOut}>
        {apps.state === 'ok' && apps.data.apps.length > 0 && (
          <label class="app-switcher">
            <span class="visually-hidden">App</span>
            <select value={app?.name ?? ''} onChange={(e) => navigate(`/apps/${encodeURIComponent(e.currentTarget.value)}/${section}`)}>
              {!app && <option value="">Choose an app</option>}
              {apps.data.apps.map((a) => (
                <option key={a.id} value={a.name}>
                  {a.name}
                </option>
              ))}
            </select>
          </label>
        )}
      </Header>
      {app && (
        <nav class="tabs" aria-label="App sections">
          {TABS.map((tab) => (
            <a key={tab.path} href={`/apps/${encodeURIComponent(app.name)}/${tab.path}`} aria-current={section === tab.path ? 'page' : undefined}>
              {tab.label}
            </a>
          ))}
        </nav>
      )}
      <main id="main">{page}</main>
    </>
  )
}

export function Header({ auth, onSignOut, children }: { auth: Auth; onSignOut(): void; children?: ComponentChildren }) {
  return (
    <header class="topbar">
      <a class="brand" href="/">
        Tacit
      </a>
      {children}
      <span class="spacer" />
      {auth.state === 'signed_in' ? (
        <span class="user">
          <span class="user-email">{auth.session.user.email}</span>
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </span>
      ) : auth.state === 'unavailable' ? (
        <span class="user muted" title={auth.error.message}>
          Accounts are not available on this server
        </span>
      ) : null}
    </header>
  )
}
