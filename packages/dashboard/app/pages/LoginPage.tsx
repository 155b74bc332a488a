import { useState } from 'preact/hooks'
import { api, ApiError, type SessionInfo } from '../api.js'

export function LoginPage({ next, onDone }: { next?: string; onDone(session: SessionInfo, next?: string): void }) {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)

  const submit = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      await api('POST', '/session', { email, password }, { quietUnauthorized: true })
      onDone(await api<SessionInfo>('GET', '/session', undefined, { quietUnauthorized: true }), next)
    } catch (caught) {
      setError(
        caught instanceof ApiError
          ? caught.endpointMissing
            ? 'Signing in is not available on this server yet.'
            : caught.message
          : String(caught),
      )
    } finally {
      setBusy(false)
    }
  }

  return (
    <main class="centered narrow" id="main">
      <h1>Sign in to Tacit</h1>
      <form class="stack" onSubmit={submit}>
        <label>
          Email
          <input type="email" name="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input type="password" name="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        {error && (
          <p class="notice notice-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  )
}
