import Database from 'better-sqlite3'

export interface ConnectionOptions {
  /**
   * `normal` (default) survives a killed process but may lose the last commits on power loss;
   * `full` fsyncs every commit and survives power loss too, at a throughput cost (docs/BENCHMARKS.md).
   */
  synchronous?: 'normal' | 'full'
  /** How long to wait for another connection (the CLI, the server) holding the write lock. */
  busyTimeoutMs?: number
}

/** Opens a connection with the settings every Tacit connection shares, whichever thread or process it is in. */
export function openSqliteConnection(path: string, options: ConnectionOptions): Database.Database {
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
  // Deleted content is overwritten with zeros, so purged and expired data cannot be read back from free pages.
  db.pragma('secure_delete = ON')
  db.pragma('foreign_keys = ON')
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`)
  db.pragma('journal_size_limit = 67108864')
  // Statement journals and sorts stay in memory instead of temporary files.
  db.pragma('temp_store = MEMORY')
  return db
}
