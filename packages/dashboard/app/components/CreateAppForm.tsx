import { useState } from 'preact/hooks'
import { api, ApiError } from '../api.js'

interface Created {
  app: { id: number; name: string }
  token: { token: string }
}

/**
 * Creating an app (POST /api/v1/apps, for owners): a name and, optionally, the origins allowed to send. The
 * answer's client token is shown with the script tag that installs the browser SDK, ready to paste.
 */
export function CreateAppForm({ onCreated }: { onCreated(): void }) {
  const [name, setName] = useState('')
  const [origins, setOrigins] = useState('')
  const [error, setError] = useState<string | undefined>()
  const [created, setCreated] = useState<Created | undefined>()
  const [busy, setBusy] = useState(false)
  const submit = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      const list = origins.split(/[\s,]+/).filter((origin) => origin !== '')
      const answer = await api<Created>('POST', '/apps', { name: name.trim(), ...(list.length > 0 && { origins: list }) })
      setCreated(answer)
      setName('')
      setOrigins('')
      onCreated()
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : String(caught))
    } finally {
      setBusy(false)
    }
  }
  const origin = window.location.origin
  return (
    <section class="panel" aria-label="Create an app">
      <h2>Create an app</h2>
      <form class="toolbar" onSubmit={submit}>
        <label>
          App name
          <input required maxLength={63} pattern="[A-Za-z0-9][A-Za-z0-9_\-]*" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Allowed origins (optional)
          <input placeholder="https://shop.example.com" value={origins} onInput={(e) => setOrigins(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          Create
        </button>
      </form>
      {error && (
        <p class="notice notice-error" role="alert">
          {error}
        </p>
      )}
      {created && (
        <div role="status">
          <p class="notice">
            Created <a href={`/apps/${encodeURIComponent(created.app.name)}/overview`}>{created.app.name}</a>. Its client token is{' '}
            <code>{created.token.token}</code>. Add this to your pages (docs: the README's “Browser” section):
          </p>
          <pre class="code" tabIndex={0} aria-label="Script tag for your pages">
            <code>{`<script src="${origin}/sdk/tacit.js" data-token="${created.token.token}" data-endpoint="${origin}" defer></script>`}</code>
          </pre>
        </div>
      )}
    </section>
  )
}
