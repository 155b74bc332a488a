/** Injected timers with a manual clock: tests advance time instead of sleeping (DESIGN.md §3.5). */
export interface FakeTimer {
  at: number
  fn: () => void
  keepAlive: boolean
}

export function createFakeTimers() {
  let now = 0
  let nextId = 0
  const timers = new Map<number, FakeTimer>()
  return {
    now: () => now,
    setTimer: (fn: () => void, ms: number, keepAlive = false): unknown => {
      timers.set(++nextId, { at: now + ms, fn, keepAlive })
      return nextId
    },
    clearTimer: (timer: unknown) => {
      timers.delete(timer as number)
    },
    /** Timers waiting now. */
    pending: (): FakeTimer[] => [...timers.values()],
    /** Moves the clock forward, running due timers in order and letting promises settle after each. */
    async advance(ms: number): Promise<void> {
      const end = now + ms
      await settle()
      for (;;) {
        const due = [...timers.entries()].filter(([, timer]) => timer.at <= end).sort((a, b) => a[1].at - b[1].at)[0]
        if (!due) break
        timers.delete(due[0])
        now = Math.max(now, due[1].at)
        due[1].fn()
        await settle()
      }
      now = end
      await settle()
    },
  }
}

/** Lets pending promise callbacks (a fake server's answers) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}
