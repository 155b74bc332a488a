import type { AppSummary } from '../api.js'
import type { Auth } from '../App.js'
import { Header } from '../components/AppLayout.js'
import { CreateAppForm } from '../components/CreateAppForm.js'
import { PasswordForm } from '../components/PasswordForm.js'
import { Empty, Status } from '../components/Status.js'
import { useApi } from '../useApi.js'

export function AppPickerPage({ auth, onSignOut }: { auth: Auth; onSignOut(): void }) {
  const apps = useApi<{ apps: AppSummary[] }>('/apps')
  return (
    <>
      <Header auth={auth} onSignOut={onSignOut} />
      <main id="main" class="narrow">
        <h1>Your apps</h1>
        <Status result={apps} what="The app list">
          {(data) =>
            data.apps.length === 0 ? (
              <Empty>
                You do not belong to any app yet. An operator can create one with <code>tacit app create &lt;name&gt;</code> and add you with{' '}
                <code>tacit user add</code>.
              </Empty>
            ) : (
              <ul class="app-list">
                {data.apps.map((app) => (
                  <li key={app.id}>
                    <a href={`/apps/${encodeURIComponent(app.name)}/overview`}>{app.name}</a>
                    <span class="muted">{app.role}</span>
                  </li>
                ))}
              </ul>
            )
          }
        </Status>
        {auth.state === 'signed_in' && auth.session.can_create_apps && <CreateAppForm onCreated={() => apps.reload()} />}
        {auth.state === 'signed_in' && <PasswordForm />}
      </main>
    </>
  )
}
