import pg from 'pg'
import { StoreUnavailableError } from '../Store.js'

/** Something that runs a statement: the pool, or one connection inside a transaction. */
export interface PgQueryable {
  /** Runs one statement with `$1`… parameters and returns its rows. */
  query<Row = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<Row[]>
}

/** One pooled connection, checked out for a transaction or for a session-level lock held across statements. */
export interface PgConnection extends PgQueryable {
  /**
   * Gives the connection back to the pool; closes it instead when `broken` is given or when the server ended it
   * while it was checked out (it must not carry a failed state or a lost lock to the next user).
   */
  release(broken?: Error): void
}

export interface PgDatabase extends PgQueryable {
  readonly pool: pg.Pool
  /** Checks a connection out of the pool; every caller releases it in a `finally`. */
  connect(): Promise<PgConnection>
  /**
   * Runs `work` in one transaction on one connection (READ COMMITTED unless told otherwise): committed when it
   * resolves, rolled back when it throws (the error is rethrown).
   */
  transaction<T>(work: (tx: PgQueryable) => Promise<T>, options?: { isolation?: 'repeatable read' | 'serializable' }): Promise<T>
  close(): Promise<void>
}

export interface PostgresPoolOptions {
  url: string
  /** Connections per node (default 10): a node's writer, its rollup job and the API share them. */
  max?: number
  /** Name in pg_stat_activity. */
  applicationName?: string
}

// bigint (int8) and numeric columns as JavaScript numbers: ids and millisecond times stay far below 2^53, and
// sum() of bigint is numeric in PostgreSQL. Per pool, so other pg users in the process keep pg's defaults.
const INT8 = 20
const NUMERIC = 1700
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8 || oid === NUMERIC) return (value: string) => Number(value)
    return pg.types.getTypeParser(oid, format)
  },
} as pg.CustomTypesConfig

/** A pg pool with the small surface the PostgreSQL store uses (store/postgres/). */
export function openPostgresPool(options: PostgresPoolOptions): PgDatabase {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'tacit',
    types,
    // A connection that cannot be made within this fails instead of waiting: a server shutting down or starting up
    // can accept the TCP connection and never answer, and the writer's hold (5 s) must see the failure and retry.
    connectionTimeoutMillis: 2_000,
  })
  // An idle connection whose server went away emits 'error' on the pool; without a listener that kills the
  // process. The next query gets a fresh connection (or the error), which is where it is handled.
  pool.on('error', () => {})

  const run = async <Row>(client: pg.Pool | pg.PoolClient, text: string, values?: readonly unknown[]): Promise<Row[]> => {
    try {
      return (await client.query({ text, values: values as unknown[] | undefined })).rows as Row[]
    } catch (error) {
      throw unavailableOr(error)
    }
  }

  async function checkOut(): Promise<PgConnection> {
    const client = await pool.connect().catch((error: unknown) => Promise.reject(unavailableOr(error)))
    // pg-pool listens for errors on idle connections only. A checked-out one that the server ends between two
    // statements (a shutdown, a restart, pg_terminate_backend) emits 'error' with no listener, which kills the
    // process: every node died this way when PostgreSQL restarted under load. Its next statement fails instead.
    let lost: Error | undefined
    const onError = (error: Error) => {
      lost = error
    }
    client.on('error', onError)
    return {
      query: (text, values) =>
        lost ? Promise.reject(new StoreUnavailableError(`PostgreSQL is unavailable: ${lost.message}`, { cause: lost })) : run(client, text, values),
      release(broken) {
        client.off('error', onError)
        client.release(lost ?? broken)
      },
    }
  }

  return {
    pool,
    query: (text, values) => run(pool, text, values),
    connect: checkOut,
    async transaction(work, { isolation } = {}) {
      const connection = await checkOut()
      let broken: Error | undefined
      try {
        await connection.query(isolation ? `BEGIN ISOLATION LEVEL ${isolation.toUpperCase()}` : 'BEGIN')
        const result = await work(connection)
        await connection.query('COMMIT')
        return result
      } catch (error) {
        try {
          await connection.query('ROLLBACK')
        } catch (rollbackError) {
          // The connection itself failed: it must not go back to the pool.
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError))
        }
        throw unavailableOr(error)
      } finally {
        connection.release(broken)
      }
    },
    async close() {
      await pool.end()
    },
  }
}

/** Node's network failures (the server is down, unreachable or went away mid-query). */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])
/** SQLSTATEs of a server that is shutting down, starting up or out of connections. */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300'])
/** pg's own messages for a connection it lost or could not make in time. */
const LOST_CONNECTION = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed)/

/**
 * A failure of the connection rather than of the statement becomes a StoreUnavailableError (keeping the
 * original as its cause): the caller may hold its work and retry, or answer 503. Anything else is rethrown as is.
 */
export function unavailableOr(error: unknown): unknown {
  if (error instanceof StoreUnavailableError || !(error instanceof Error)) return error
  const code = (error as { code?: unknown }).code
  const unavailable =
    (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('08') || UNAVAILABLE_STATES.has(code))) || LOST_CONNECTION.test(error.message)
  return unavailable ? new StoreUnavailableError(`PostgreSQL is unavailable: ${error.message}`, { cause: error }) : error
}
