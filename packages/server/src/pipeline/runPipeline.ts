import type { DropReason } from './dropReasons.js'
import type { StoredEvent } from './storedEvent.js'

/**
 * What a stage may know about the request an event came in. The IP address and User-Agent live here, in
 * the request's scope, and stages reduce them to what may be stored.
 */
export interface RequestContext {
  appId: number
  receivedAt: number
  ip: string
  userAgent: string | undefined
}

/** A stage changes the event in place, or returns why it must be dropped. */
export interface Stage {
  name: string
  run(event: StoredEvent, request: RequestContext): DropReason | undefined
}

export type PipelineOutcome = { stored: StoredEvent } | { dropped: DropReason; stage: string }

/** Runs the stages in order and stops at the first drop (DESIGN.md §3.2). */
export function runPipeline(stages: readonly Stage[], event: StoredEvent, request: RequestContext): PipelineOutcome {
  for (const stage of stages) {
    const dropped = stage.run(event, request)
    if (dropped !== undefined) return { dropped, stage: stage.name }
  }
  return { stored: event }
}
