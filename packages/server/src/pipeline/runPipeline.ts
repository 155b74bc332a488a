import type { AppSettings } from '../apps/appSettings.js'
import type { RelayFields } from '../protocol/relayFields.js'
import type { DropReason, StripCounts } from './dropReasons.js'
import type { StoredEvent } from './storedEvent.js'

/**
 * What a stage may know about the request an event came in. The IP address and User-Agent live here, in
 * the request's scope, and stages reduce them to what may be stored.
 */
export interface RequestContext {
  appId: number
  /** The app's effective settings, as they were when the request arrived. */
  settings: AppSettings
  receivedAt: number
  /** The client's address; empty for a relayed request, whose relay never sends it. */
  ip: string
  /** Undefined for a relayed request too. */
  userAgent: string | undefined
  /**
   * Set only for a request from an authenticated `tacit relay` (issue 8): what the relay worked out from the
   * address and User-Agent it kept. Stages read these in place of the two.
   */
  relay?: RelayFields
  /** `Sec-GPC: 1` or `DNT: 1` was sent. */
  optOut: boolean
  /**
   * What stages work out from the IP and User-Agent, once per request, held in memory only: e.g. the
   * country is looked up before the inbound filters and stored only if the app's `geo` setting allows.
   */
  derived: { country?: string; city?: string; bot?: boolean; stripped?: StripCounts; sessionId?: string }
}

export type StageResult = DropReason | undefined

/**
 * A stage changes the event in place, or returns why it must be dropped. It may return a promise (a stage
 * backed by a shared store such as Redis); synchronous stages keep the common path free of promises.
 */
export interface Stage {
  name: string
  run(event: StoredEvent, request: RequestContext): StageResult | Promise<StageResult>
}

export type PipelineOutcome = { stored: StoredEvent } | { dropped: DropReason; stage: string }

/** Runs the stages in order and stops at the first drop (DESIGN.md §3.2). */
export function runPipeline(stages: readonly Stage[], event: StoredEvent, request: RequestContext): PipelineOutcome | Promise<PipelineOutcome> {
  for (let i = 0; i < stages.length; i++) {
    const stage = stages[i]!
    const result = stage.run(event, request)
    if (result instanceof Promise) return finishAsync(stages, i, result, event, request)
    if (result !== undefined) return { dropped: result, stage: stage.name }
  }
  return { stored: event }
}

async function finishAsync(
  stages: readonly Stage[],
  index: number,
  pending: Promise<StageResult>,
  event: StoredEvent,
  request: RequestContext,
): Promise<PipelineOutcome> {
  const dropped = await pending
  if (dropped !== undefined) return { dropped, stage: stages[index]!.name }
  for (let i = index + 1; i < stages.length; i++) {
    const stage = stages[i]!
    const result = await stage.run(event, request)
    if (result !== undefined) return { dropped: result, stage: stage.name }
  }
  return { stored: event }
}
