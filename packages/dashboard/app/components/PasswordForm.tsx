import { useState } from 'preact/hooks'
import { api, ApiError } from '../api.js'

/** Changing one's own password (a new account starts with a one-time password); the user's other sessions end. */
export function PasswordForm() {
  const [current, setCurrent] = useState('')
  const [next, setNext] = useState('')
  const [message, setMessage] = useState<{ ok: boolean; text: string } | undefined>()
  const [busy, setBusy] = useState(false)
  const submit = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setMessage(undefined)
    try {
      await api('POST', '/account/password', { current_password: current, new_password: next }, { quietUnauthorized: true })
      setCurrent('')
      setNext('')
      setMessage({ ok: true, text: 'Password changed. Your other sessions were signed out.' })
    } catch (error) {
      setMessage({ ok: false, text: error instanceof ApiError ? error.message : String(error) })
    } finally {
      setBusy(false)
    }
  }
  return (
    <section class="panel" aria-label="Change password">
      <h2>Change password</h2>
      <form class="toolbar" onSubmit={submit}>
        <label>
          Current password
          <input type="password" autoComplete="current-password" required value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
        </label>
        <label>
          New password
          <input type="password" autoComplete="new-password" required minLength={10} value={next} onInput={(e) => setNext(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          Change password
        </button>
      </form>
      {message && (
        <p class={message.ok ? 'notice' : 'notice notice-error'} role={message.ok ? 'status' : 'alert'}>
          {message.text}
        </p>
      )}
    </section>
  )
}
