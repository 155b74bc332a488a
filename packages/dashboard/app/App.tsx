import { useEffect, useState } from 'preact/hooks'
import { api, ApiError, onUnauthorized, setCsrfToken, type SessionInfo } from './api.js'
import { AppLayout } from './components/AppLayout.js'
import { Loading } from './components/Status.js'
import { AppPickerPage } from './pages/AppPickerPage.js'
import { LoginPage } from './pages/LoginPage.js'
import { SetupPage } from './pages/SetupPage.js'
import { navigate, onLinkClick, useLocation } from './router.js'

/** Who is signed in: a session, nobody (401), or unknown when the accounts API could not answer. */
export type Auth = { state: 'loading' } | { state: 'signed_in'; session: SessionInfo } | { state: 'signed_out' } | { state: 'unavailable'; error: ApiError }

export function App() {
  const location = useLocation()
  const [auth, setAuth] = useState<Auth>({ state: 'loading' })

  const refresh = () =>
    api<SessionInfo>('GET', '/session', undefined, { quietUnauthorized: true }).then(
      (session) => {
        setCsrfToken(session.csrf_token)
        setAuth({ state: 'signed_in', session })
      },
      (error: unknown) => {
        setCsrfToken(undefined)
        if (error instanceof ApiError && error.status === 401) setAuth({ state: 'signed_out' })
        else setAuth({ state: 'unavailable', error: error instanceof ApiError ? error : new ApiError(0, 'error', String(error)) })
      },
    )

  useEffect(() => {
    void refresh()
    // A 401 anywhere means the session is over: back to the login page, then back here.
    return onUnauthorized(() => {
      setCsrfToken(undefined)
      setAuth({ state: 'signed_out' })
      if (!['/login', '/setup'].includes(window.location.pathname)) {
        navigate(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`, { replace: true })
      }
    })
  }, [])

  useEffect(() => {
    document.addEventListener('click', onLinkClick)
    return () => document.removeEventListener('click', onLinkClick)
  }, [])

  const signedIn = (session: SessionInfo, next?: string) => {
    setCsrfToken(session.csrf_token)
    setAuth({ state: 'signed_in', session })
    // Only a path of this site: a crafted ?next= cannot send the user elsewhere.
    navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/')
  }

  const signOut = async () => {
    try {
      await api('DELETE', '/session')
    } finally {
      setCsrfToken(undefined)
      setAuth({ state: 'signed_out' })
      navigate('/login')
    }
  }

  const path = location.path
  if (path === '/setup') return <SetupPage onDone={(session) => signedIn(session)} />
  if (path === '/login') return <LoginPage next={location.query.get('next') ?? undefined} onDone={signedIn} />
  if (auth.state === 'loading') return <main class="centered"><Loading /></main>
  if (auth.state === 'signed_out') return <SignedOut />

  const appMatch = /^\/apps\/([^/]+)(?:\/(.*))?$/.exec(path)
  if (appMatch) {
    return <AppLayout auth={auth} appRef={decodeURIComponent(appMatch[1]!)} rest={appMatch[2] ?? ''} query={location.query} onSignOut={signOut} />
  }
  if (path === '/' || path === '/apps') return <AppPickerPage auth={auth} onSignOut={signOut} />
  return (
    <main class="centered">
      <h1>Not found</h1>
      <p>
        There is no page at this address. <a href="/">Go to your apps</a>.
      </p>
    </main>
  )
}

/** Not signed in: the login page, or the first-run hint when no account exists yet. */
function SignedOut() {
  const [setupNeeded, setSetupNeeded] = useState<boolean | undefined>(undefined)
  useEffect(() => {
    api<{ needed: boolean }>('GET', '/setup', undefined, { quietUnauthorized: true }).then(
      (answer) => setSetupNeeded(answer.needed),
      () => setSetupNeeded(false),
    )
  }, [])
  useEffect(() => {
    if (setupNeeded === false) navigate(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`, { replace: true })
  }, [setupNeeded])
  if (setupNeeded === undefined) return <main class="centered"><Loading /></main>
  if (!setupNeeded) return <main class="centered"><Loading /></main>
  return (
    <main class="centered narrow">
      <h1>Welcome to Tacit</h1>
      <p>No account exists yet. Open the one-time setup link that the server printed when it started (it looks like <code>http://…/setup#…</code>) to create the first owner.</p>
    </main>
  )
}

