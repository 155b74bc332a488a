import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { inject } from 'vitest'

export interface TempPostgresDatabase {
  /** postgres://… of a fresh, empty database. */
  url: string
  /** Drops the database, closing whatever connections are still open to it. */
  drop(): Promise<void>
}

/** A fresh database on the test run's PostgreSQL server (test/support/startTestPostgres.ts). */
export async function createTempPostgresDatabase(adminUrl: string = inject('databaseUrl')): Promise<TempPostgresDatabase> {
  const name = `tacit_test_${randomBytes(6).toString('hex')}`
  // A linguistic collation (ICU en-US), as production databases usually have, rather than the cluster's C
  // locale: text the adapter must order byte-wise, as SQLite does, then needs its COLLATE "C", or tests fail.
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`))
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: () => withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  }
}

async function withAdmin<T>(adminUrl: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    return await use(client)
  } finally {
    await client.end()
  }
}
