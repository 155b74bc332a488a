import { setImmediate as nextTurn, setTimeout as sleepFor } from 'node:timers/promises'

/**
 * Paces a background job that does its work on the event loop in short steps (the rollup rebuild): called
 * between steps, it waits long enough that the steps take at most `share` of the time — with 0.1, a step of
 * 4 ms is followed by 36 ms in which ingest has the event loop to itself. A job's cost then takes a bounded
 * share of the server whatever its size; a big job takes longer instead. With share 1 it only yields a turn.
 * `elapsed` measures work (monotonic milliseconds), it decides nothing about the data.
 */
export function createStepPacer(deps: {
  share: number
  elapsed?: () => number
  sleep?: (ms: number) => Promise<unknown>
  yieldTurn?: () => Promise<unknown>
}): () => Promise<void> {
  if (!(deps.share > 0 && deps.share <= 1)) throw new RangeError('A step pacer needs a share in (0, 1].')
  const elapsed = deps.elapsed ?? (() => performance.now())
  const sleep = deps.sleep ?? ((ms: number) => sleepFor(ms))
  const yieldTurn = deps.yieldTurn ?? (() => nextTurn())
  const idlePerBusy = 1 / deps.share - 1
  let stepStarted = elapsed()
  return async () => {
    const worked = elapsed() - stepStarted
    if (idlePerBusy > 0 && worked > 0) await sleep(worked * idlePerBusy)
    else await yieldTurn()
    stepStarted = elapsed()
  }
}
