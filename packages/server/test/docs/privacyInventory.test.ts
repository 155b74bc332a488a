import Database from 'better-sqlite3'
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { RETENTION_KINDS, SETTING_KEYS } from '../../src/apps/appSettings.js'
import { DROP_REASONS } from '../../src/pipeline/dropReasons.js'
import { WIRE_TYPES } from '../../src/protocol/wireSchema.js'
import pg from 'pg'
import { openPostgresStore } from '../../src/store/postgres/createPostgresStore.js'
import { createSqliteStore } from '../../src/store/sqlite/createSqliteStore.js'
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js'
import { writeMmdb } from '../fixtures/geo/writeMmdb.js'
import { createTestApp, readStoredEvents } from '../support/storedData.js'
import { createTempPostgresDatabase } from '../support/tempPostgresDatabase.js'
import { ingest, makeTempDir, runTacit, startServerProcess } from '../support/tacitProcess.js'
import { FULL_EVENTS } from '../unit/wireSamples.js'

/**
 * DESIGN.md P10: docs/PRIVACY.md lists every stored field, checked against the live schema and against the
 * keys that really appear in `tacit export`, so the inventory cannot drift. The markers it relies on:
 * - a `### Table \`name\`` heading per database table, followed by a table whose first cell is `` `column` ``;
 * - under `## Every field of a stored event`, tables whose first cell is a dotted key path, `` `view.url` ``.
 */

const DOC_PATH = resolve(import.meta.dirname, '../../../../docs/PRIVACY.md')
const DOC = 'docs/PRIVACY.md'
const EVENT_SECTION = '## Every field of a stored event'

/** Free-form objects: their keys are the site's own, so the inventory documents the object, not its keys. */
const FREE_FORM_PATHS = new Set(['context', 'report.body'])

/**
 * The one table the doc may list before the schema has it: the audit log was written up while its migration
 * was being added. The exception ends by itself as soon as a migration creates the table.
 */
const TABLE_AWAITING_MIGRATION = 'audit_log'

// An address DB-IP places in Germany (as in privacyEndToEnd.test.ts), and a Chrome on macOS.
const CLIENT_IP = '78.46.221.17'
const USER_AGENT = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.86 Safari/537.36'
const BOT_USER_AGENT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'

function readDoc(): string {
  return readFileSync(DOC_PATH, 'utf8')
}

/** The text from `start` (exclusive) to the next heading of level 2, or of level 2 or 3 when `upToLevel3`. */
function sectionAfter(doc: string, start: number, upToLevel3: boolean): string {
  const rest = doc.slice(start)
  const next = rest.search(upToLevel3 ? /^#{2,3} /m : /^## /m)
  return next === -1 ? rest : rest.slice(0, next)
}

/** First cells of markdown table rows that are one backticked name: `| \`name\` | …`. */
function firstCellNames(section: string): string[] {
  return [...section.matchAll(/^\|\s*`([a-z_][a-z0-9_.]*)`\s*\|/gm)].map((match) => match[1]!)
}

function documentedTables(doc: string): Map<string, string[]> {
  const tables = new Map<string, string[]>()
  for (const heading of doc.matchAll(/^### Table `([a-z_][a-z0-9_]*)`[ \t]*$/gm)) {
    tables.set(heading[1]!, firstCellNames(sectionAfter(doc, heading.index + heading[0].length, true)))
  }
  return tables
}

function documentedEventKeys(doc: string): Set<string> {
  const start = doc.indexOf(`${EVENT_SECTION}\n`)
  if (start === -1) return new Set()
  return new Set(firstCellNames(sectionAfter(doc, start + EVENT_SECTION.length, false)))
}

/** Every dotted key path in a stored event; free-form objects and arrays count as one key. */
function keyPaths(value: Record<string, unknown>, prefix = '', into = new Set<string>()): Set<string> {
  for (const [key, child] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key
    if (child !== null && typeof child === 'object' && !Array.isArray(child) && !FREE_FORM_PATHS.has(path)) {
      keyPaths(child as Record<string, unknown>, path, into)
    } else {
      into.add(path)
    }
  }
  return into
}

/** Tables and their columns of a freshly migrated SQLite database. */
async function sqliteSchema(path: string): Promise<Map<string, string[]>> {
  await createSqliteStore({ path }).close()
  const db = new Database(path, { readonly: true, fileMustExist: true })
  const schema = new Map<string, string[]>()
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").pluck().all() as string[]
    for (const table of tables) schema.set(table, db.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').pluck().all(table) as string[])
  } finally {
    db.close()
  }
  return schema
}

/**
 * Tables and their columns of a freshly migrated PostgreSQL database, on the test run's server. The weekly
 * partitions of `events` are `events` itself (PRIVACY.md says so): one is made by writing an event.
 */
async function postgresSchema(): Promise<Map<string, string[]>> {
  const database = await createTempPostgresDatabase()
  try {
    const store = await openPostgresStore({ url: database.url })
    const app = await store.createApp({ name: 'inventory', createdAt: 0, settings: {} })
    await store.writeBatches([{ appId: app.id, day: '2024-05-01', events: [{ type: 'custom', custom: { name: 'x' }, ts: 1, received_at: 1 } as never], dropped: {} }])
    await store.close()
    const client = new pg.Client({ connectionString: database.url })
    await client.connect()
    try {
      const { rows } = await client.query<{ table_name: string; column_name: string }>(
        `SELECT c.table_name, c.column_name FROM information_schema.columns c
         JOIN pg_class t ON t.relname = c.table_name AND NOT t.relispartition
         WHERE c.table_schema = 'public' ORDER BY c.table_name, c.ordinal_position`,
      )
      const schema = new Map<string, string[]>()
      for (const row of rows) schema.set(row.table_name, [...(schema.get(row.table_name) ?? []), row.column_name])
      return schema
    } finally {
      await client.end()
    }
  } finally {
    await database.drop()
  }
}

function assertNoProblems(problems: string[]): void {
  expect(problems, `${DOC} is out of date:\n- ${problems.join('\n- ')}\n`).toEqual([])
}

describe('docs/PRIVACY.md, the data inventory (DESIGN.md P10)', () => {
  const dir = makeTempDir('tacit-privacy-doc-')
  afterAll(() => dir.remove())

  it('documents every table and column of a freshly migrated database, SQLite and PostgreSQL, and nothing that is not there', async () => {
    const sqlite = await sqliteSchema(join(dir.path, 'schema', 'tacit.db'))
    const postgres = await postgresSchema()
    expect(sqlite.size, 'the migrated SQLite database has no tables').toBeGreaterThan(0)
    expect(postgres.size, 'the migrated PostgreSQL database has no tables').toBeGreaterThan(0)

    const documented = documentedTables(readDoc())
    const problems: string[] = []
    for (const [adapter, schema] of [['SQLite', sqlite], ['PostgreSQL', postgres]] as const) {
      for (const [table, columns] of schema) {
        const listed = documented.get(table)
        if (!listed) {
          problems.push(
            `the ${adapter} table \`${table}\` is not documented: add a section "### Table \`${table}\`" (what it holds, how long it is kept) ` +
              `with a table of its columns, one row each: ${columns.map((column) => `"| \`${column}\` | … |"`).join(', ')}`,
          )
          continue
        }
        for (const column of columns) {
          if (!listed.includes(column)) {
            problems.push(`the ${adapter} column \`${table}.${column}\` is not documented: add the row "| \`${column}\` | what it holds | where it comes from |" under "### Table \`${table}\`"`)
          }
        }
      }
    }
    const auditMigrationExists = MIGRATIONS.some((migration) => new RegExp(`CREATE TABLE ${TABLE_AWAITING_MIGRATION}\\b`).test(migration.sql))
    for (const [table, listed] of documented) {
      const columns = [...(sqlite.get(table) ?? []), ...(postgres.get(table) ?? [])]
      if (columns.length === 0) {
        if (table === TABLE_AWAITING_MIGRATION && !auditMigrationExists) continue
        problems.push(`"### Table \`${table}\`" documents a table neither database has: remove that section, or add its migration`)
        continue
      }
      for (const column of listed) {
        if (!columns.includes(column)) problems.push(`"### Table \`${table}\`" lists \`${column}\`, which the table does not have: remove that row`)
      }
    }
    assertNoProblems(problems)
  })

  it('documents every key that appears in `tacit export` with the most revealing settings, and nothing that does not', async () => {
    // geo=city needs an operator's city database: a fixture that places the client in Nuremberg.
    const cityDatabase = join(dir.path, 'city.mmdb')
    writeFileSync(cityDatabase, writeMmdb([{ cidr: '78.46.221.0/24', data: { city: 'Nuremberg', country_code: 'DE' } }]))
    const dataDir = join(dir.path, 'server')
    const { appId, token } = await createTestApp(dataDir, 'shop', ['ip=truncated', 'geo=city', 'allow_user_identity=true', 'keep_bots=true'])
    const server = await startServerProcess({
      dataDir,
      args: ['--trusted-proxies', '127.0.0.0/8,::1'],
      env: { TACIT_GEOIP_CITY_DB: cityDatabase },
    })
    let exported: Array<Record<string, unknown>>
    try {
      const headers = (userAgent: string) => ({ 'content-type': 'text/plain', 'user-agent': userAgent, 'x-forwarded-for': CLIENT_IP })
      const everyType = WIRE_TYPES.map((type) => JSON.stringify(FULL_EVENTS[type])).join('\n')
      const visitor = await ingest(server.url, token, everyType, headers(USER_AGENT))
      expect(visitor.body).toEqual({ accepted: WIRE_TYPES.length, dropped: {} })
      // A separate view id, so the bot's request cannot replace the visitor's view.
      const botEvent = { ...FULL_EVENTS.custom, view: { id: 'v-bot', url: 'https://shop.example.com/' } }
      const bot = await ingest(server.url, token, JSON.stringify(botEvent), headers(BOT_USER_AGENT))
      expect(bot.body).toEqual({ accepted: 1, dropped: {} })

      const result = await runTacit(['export', 'shop'], { dataDir })
      expect(result.stderr).toBe('')
      expect(result.code).toBe(0)
      exported = result.stdout
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>)
    } finally {
      await server.stop()
    }
    expect(exported).toHaveLength(readStoredEvents(dataDir, appId).length)
    expect(exported).toHaveLength(WIRE_TYPES.length + 1)

    const seen = new Set<string>()
    for (const event of exported) keyPaths(event, '', seen)
    // The settings really took effect, or the comparison below would prove little.
    for (const key of ['geo.country', 'geo.city', 'network.ip_prefix', 'usr.email', 'device.browser', 'session.id', 'bot']) {
      expect([...seen], `the test's events should have stored \`${key}\``).toContain(key)
    }

    const documented = documentedEventKeys(readDoc())
    const problems: string[] = []
    if (documented.size === 0) problems.push(`the section "${EVENT_SECTION}" with its tables of \`dotted.key\` rows is missing`)
    for (const key of [...seen].sort()) {
      if (!documented.has(key)) {
        problems.push(
          `the stored event key \`${key}\` is not documented: add the row "| \`${key}\` | what it holds | where it comes from | setting that controls it |" ` +
            `to a table under "${EVENT_SECTION}"`,
        )
      }
    }
    for (const key of [...documented].sort()) {
      if (!seen.has(key)) {
        problems.push(`"${EVENT_SECTION}" lists \`${key}\`, which no stored event has even with every field sent and the most revealing settings: remove that row, or make this test send it`)
      }
    }
    assertNoProblems(problems)
  }, 60_000)

  it('names every retention kind, every setting key and every drop reason', () => {
    const doc = readDoc()
    const problems: string[] = []
    for (const kind of RETENTION_KINDS) {
      if (!doc.includes(`\`retention.${kind}\``)) problems.push(`the retention kind \`retention.${kind}\` is missing: add a row for it to the table under "## Retention" with its default`)
    }
    for (const key of SETTING_KEYS) {
      if (!doc.includes(`\`${key}\``)) problems.push(`the setting \`${key}\` is missing: add it to "## The settings that decide what is stored" with its effect on stored data`)
    }
    for (const reason of DROP_REASONS) {
      if (!doc.includes(`\`${reason}\``)) problems.push(`the drop reason \`${reason}\` (a value of \`daily_counts.key\`) is missing: add it to the \`key\` row under "### Table \`daily_counts\`"`)
    }
    assertNoProblems(problems)
  })
})
