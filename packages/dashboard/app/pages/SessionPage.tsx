import type { AppSummary } from '../api.js'
import { DbIpCredit, Status } from '../components/Status.js'
import { formatCount, formatMs, formatTime } from '../format.js'
import { useApi } from '../useApi.js'
import { UrlText } from './IssuePage.js'

interface TimelineEvent {
  type: string
  ts: string | number
  view?: { url?: string }
  action?: { name?: string; type?: string }
  error?: { message?: string; type?: string }
  custom?: { name?: string }
  vital?: { name?: string; value?: number }
  resource?: { url?: string }
  [key: string]: unknown
}

interface SessionDetail {
  session: { id: string; start: string; duration_ms: number; views: number; actions: number; errors: number; country: string | null; browser: string | null; os: string | null; device: string | null; release: string | null }
  events: TimelineEvent[]
}

/** One session's views, actions and errors in time order. */
export function SessionPage({ app, sessionId, base }: { app: AppSummary; sessionId: string; base: string }) {
  const detail = useApi<SessionDetail>(`/apps/${encodeURIComponent(app.name)}/sessions/${encodeURIComponent(sessionId)}`)
  return (
    <>
      <p>
        <a href={`${base}/sessions`}>← Sessions</a>
      </p>
      <h1>Session timeline</h1>
      <Status result={detail} what="The session timeline">
        {({ session, events }) => (
          <>
            <dl class="kpis compact">
              <div class="kpi"><dt>Start</dt><dd class="small">{formatTime(session.start)}</dd></div>
              <div class="kpi"><dt>Duration</dt><dd>{formatMs(session.duration_ms)}</dd></div>
              <div class="kpi"><dt>Views</dt><dd>{formatCount(session.views)}</dd></div>
              <div class="kpi"><dt>Actions</dt><dd>{formatCount(session.actions)}</dd></div>
              <div class="kpi"><dt>Errors</dt><dd>{formatCount(session.errors)}</dd></div>
              <div class="kpi"><dt>Where</dt><dd class="small">{[session.country, session.browser, session.os, session.device].filter(Boolean).join(' · ') || '–'}</dd></div>
            </dl>
            <ol class="timeline">
              {events.map((event, index) => (
                <li key={index} class={`tl tl-${event.type}`}>
                  <span class="tl-time">{formatTime(event.ts)}</span>
                  <span class="badge">{event.type}</span>
                  <span class="wrap">{describe(event)}</span>
                </li>
              ))}
            </ol>
            {session.country && <DbIpCredit />}
          </>
        )}
      </Status>
    </>
  )
}

function describe(event: TimelineEvent) {
  if (event.type === 'view') return <UrlText url={event.view?.url} />
  if (event.type === 'action') return <>{event.action?.name ?? event.action?.type ?? ''}</>
  if (event.type === 'error') return <>{[event.error?.type, event.error?.message].filter(Boolean).join(': ')}</>
  if (event.type === 'custom') return <>{event.custom?.name ?? ''}</>
  if (event.type === 'vital') return <>{`${event.vital?.name ?? ''} ${event.vital?.value ?? ''}`}</>
  if (event.type === 'resource') return <>{event.resource?.url ?? ''}</>
  return <UrlText url={event.view?.url} />
}
