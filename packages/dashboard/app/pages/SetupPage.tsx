import { useState } from 'preact/hooks'
import { api, ApiError, type SessionInfo } from '../api.js'

/**
 * First run: the one-time setup link carries its token in the fragment (`/setup#<token>`), which browsers never
 * send to the server, so it stays out of access logs. It is read once and removed from the address bar.
 */
export function SetupPage({ onDone }: { onDone(session: SessionInfo): void }) {
  const [token] = useState(() => {
    const value = decodeURIComponent(window.location.hash.slice(1))
    if (value) window.history.replaceState(null, '', '/setup')
    return value
  })
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)

  const submit = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      await api('POST', '/setup', { token, email, password })
      // The session (with its CSRF token) as every other page reads it.
      onDone(await api<SessionInfo>('GET', '/session'))
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : String(caught))
    } finally {
      setBusy(false)
    }
  }

  return (
    <main class="centered narrow" id="main">
      <h1>Create the first owner</h1>
      {!token ? (
        <p class="notice notice-error" role="alert">
          This page needs the one-time setup link the server printed when it first started (it ends in <code>#</code> and a token).
        </p>
      ) : (
        <form class="stack" onSubmit={submit}>
          <label>
            Email
            <input type="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          </label>
          <label>
            Password
            <input type="password" autoComplete="new-password" required minLength={10} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            <span class="hint">At least 10 characters.</span>
          </label>
          {error && (
            <p class="notice notice-error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" class="primary" disabled={busy}>
            Create account
          </button>
        </form>
      )}
    </main>
  )
}
