import type { CliIo } from './cliCommand.js'

export interface Progress {
  /** Shows the line now if enough time has passed since the last one. */
  update(line: string): void
  /** Clears the progress line, then prints `final` if given. */
  done(final?: string): void
}

const INTERVAL_MS = 200

/**
 * One self-rewriting status line on stderr for long work (DESIGN.md §3.11), only when a person is watching:
 * when stderr is a pipe or a file, nothing is printed, so scripts and logs stay clean.
 */
export function createProgress(io: CliIo, options: { enabled?: boolean } = {}): Progress {
  const stream = io.stderr
  if (!(options.enabled ?? stream.isTTY)) return { update() {}, done() {} }
  let lastShown = -Infinity
  let shown = false
  return {
    update(line) {
      const now = performance.now()
      if (now - lastShown < INTERVAL_MS) return
      lastShown = now
      shown = true
      stream.write(`\r\x1b[K${line}`)
    },
    done(final) {
      if (shown) stream.write('\r\x1b[K')
      if (final !== undefined) stream.write(`${final}\n`)
    },
  }
}
