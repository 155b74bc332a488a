import type { SessionSummary } from './Store.js'

/** A row of `sessions` as both adapters return it, and the SessionSummary it stands for. */
export interface SessionRow {
  app_id: number
  session_id: string
  start_ts: number
  end_ts: number
  views: number
  actions: number
  errors: number
  has_error: number
  country: string | null
  browser: string | null
  os: string | null
  device_type: string | null
  received_at: number
  release: string | null
  entry_page: string | null
  exit_page: string | null
  env: string | null
}
export function toSession(row: SessionRow): SessionSummary {
  return {
    appId: row.app_id,
    sessionId: row.session_id,
    start: row.start_ts,
    end: row.end_ts,
    views: row.views,
    actions: row.actions,
    errors: row.errors,
    hasError: row.has_error === 1,
    country: row.country,
    browser: row.browser,
    os: row.os,
    deviceType: row.device_type,
    receivedAt: row.received_at,
    ...(row.release === null ? {} : { release: row.release }),
    ...(row.entry_page === null ? {} : { entryPage: row.entry_page }),
    ...(row.exit_page === null ? {} : { exitPage: row.exit_page }),
    ...(row.env === null ? {} : { env: row.env }),
  }
}
