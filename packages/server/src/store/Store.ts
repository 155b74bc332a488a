import type { AppSettingsOverrides } from '../apps/appSettings.js'
import type { DropCounts } from '../pipeline/dropReasons.js'
import type { StoredEvent } from '../pipeline/storedEvent.js'
import type { WireType } from '../protocol/wireSchema.js'

/**
 * Storage behind one interface (DESIGN.md §3.6). Every adapter passes test/store/storeContract.ts.
 * Everything is async so a networked database fits the same shape as the embedded one.
 */
export interface Store {
  createApp(input: { name: string; createdAt: number; settings: AppSettingsOverrides }): Promise<App>
  listApps(): Promise<App[]>
  getApp(id: number): Promise<App | undefined>
  findAppByName(name: string): Promise<App | undefined>
  updateAppSettings(appId: number, settings: AppSettingsOverrides): Promise<void>

  createToken(token: ClientToken): Promise<void>
  listTokens(appId: number): Promise<ClientToken[]>
  findToken(token: string): Promise<ClientToken | undefined>
  /** Returns false when the token does not exist or was already revoked. */
  revokeToken(token: string, at: number): Promise<boolean>
  touchToken(token: string, at: number): Promise<void>

  /**
   * Writes several requests' batches at once (group commit). Each batch is stored whole or not at all;
   * the result has one entry per batch: undefined when committed, the error otherwise. A view event
   * replaces the stored view with the same id when its version is at least as high.
   */
  writeBatches(batches: readonly IngestBatch[]): Promise<Array<Error | undefined>>
  /** Events in `ts` order, then arrival order. */
  readEvents(query: EventQuery): AsyncIterable<StoredEvent>
  countEvents(query: EventQuery): Promise<number>

  /** Deletes every event and count of an app, in short transactions; returns the number of events. */
  purgeApp(appId: number): Promise<number>
  /** Deletes up to `limit` events of one type received before a time; returns how many it deleted. */
  deleteExpired(input: { appId: number; type: WireType; receivedBefore: number; limit: number }): Promise<number>
  deleteDailyCountsBefore(appId: number, day: string): Promise<number>
  readDailyCounts(appId: number, sinceDay: string): Promise<DailyCount[]>

  /** Makes deleted bytes unrecoverable from side files (WAL) after a purge or retention pass. */
  compact(): Promise<void>
  /** A cheap write-and-rollback probe for readiness checks. */
  isWritable(): Promise<boolean>
  /** A consistent copy of the whole database while it is in use. */
  backup(destination: string, onProgress?: (fraction: number) => void): Promise<void>
  close(): Promise<void>
}

export interface App {
  id: number
  name: string
  createdAt: number
  settings: AppSettingsOverrides
}

export interface ClientToken {
  token: string
  appId: number
  createdAt: number
  revokedAt: number | null
  /** Coarse: updated at most once an hour, rounded down to the hour. */
  lastUsedAt: number | null
}

export interface IngestBatch {
  appId: number
  /** UTC day the batch was received, for the daily counts. */
  day: string
  events: StoredEvent[]
  dropped: DropCounts
}

export interface EventQuery {
  appId: number
  types?: readonly WireType[]
  /** Inclusive lower bound on `ts`. */
  since?: number
  /** Exclusive upper bound on `ts`. */
  until?: number
}

export interface DailyCount {
  day: string
  kind: 'accepted' | 'dropped'
  /** Event type for accepted counts, drop reason for dropped ones. */
  key: string
  count: number
}
