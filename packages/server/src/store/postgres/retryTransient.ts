/** SQLSTATEs after which the same work, run again from the start, may well succeed. */
const DEADLOCK = '40P01'
const SERIALIZATION_FAILURE = '40001'
const ATTEMPTS = 5

export function sqlState(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined
}

/**
 * Runs `work` (a whole transaction) again when PostgreSQL aborted it to break a deadlock or a serialization
 * conflict with another node's transaction, a few times, after a short random pause so the two do not meet
 * again in step. Rows are locked in a fixed order, so this is the rare case, not the way writes get through.
 */
export async function retryTransient<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work()
    } catch (error) {
      const code = sqlState(error)
      if ((code !== DEADLOCK && code !== SERIALIZATION_FAILURE) || attempt >= ATTEMPTS) throw error
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt))
    }
  }
}

/** A transient failure: the caller must not treat it as its batch's own fault. */
export function isTransient(error: unknown): boolean {
  const code = sqlState(error)
  return code === DEADLOCK || code === SERIALIZATION_FAILURE
}
