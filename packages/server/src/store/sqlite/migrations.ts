/**
 * Forward-only schema migrations, applied in order at start. Never edit a released migration: add one.
 * The PostgreSQL adapter follows the same logical schema and version numbers. `app_id` leads every
 * event index so the data can be split by app later.
 */
export interface Migration {
  version: number
  description: string
  sql: string
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'apps, client tokens, events, daily counts',
    sql: `
      CREATE TABLE apps (
        id INTEGER PRIMARY KEY,
        -- Unique regardless of case: "Shop" and "shop" would be the same app to a person.
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_at INTEGER NOT NULL,
        settings TEXT NOT NULL DEFAULT '{}'
      );
      CREATE TABLE client_tokens (
        token TEXT PRIMARY KEY,
        app_id INTEGER NOT NULL REFERENCES apps(id),
        created_at INTEGER NOT NULL,
        revoked_at INTEGER,
        last_used_at INTEGER
      );
      CREATE INDEX client_tokens_by_app ON client_tokens(app_id);
      CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        app_id INTEGER NOT NULL,
        type TEXT NOT NULL,
        ts INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        -- Set for events that are replaced by later versions (views): the view id.
        upsert_key TEXT,
        version INTEGER NOT NULL DEFAULT 0,
        data TEXT NOT NULL
      );
      CREATE INDEX events_by_app_type_received ON events(app_id, type, received_at);
      CREATE INDEX events_by_app_ts ON events(app_id, ts);
      CREATE UNIQUE INDEX events_by_app_upsert_key ON events(app_id, upsert_key) WHERE upsert_key IS NOT NULL;
      CREATE TABLE daily_counts (
        app_id INTEGER NOT NULL,
        day TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (app_id, day, kind, key)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    description: 'session summaries',
    // By random session id only: no visitor key, salt, IP or User-Agent has a column here (DESIGN.md P3).
    sql: `
      CREATE TABLE sessions (
        app_id INTEGER NOT NULL,
        session_id TEXT NOT NULL,
        start_ts INTEGER NOT NULL,
        end_ts INTEGER NOT NULL,
        views INTEGER NOT NULL DEFAULT 0,
        actions INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        has_error INTEGER NOT NULL DEFAULT 0,
        country TEXT,
        browser TEXT,
        os TEXT,
        device_type TEXT,
        -- When its latest event was received: retention counts from here.
        received_at INTEGER NOT NULL,
        PRIMARY KEY (app_id, session_id)
      ) WITHOUT ROWID;
      CREATE INDEX sessions_by_app_received ON sessions(app_id, received_at);
      CREATE INDEX sessions_by_app_start ON sessions(app_id, start_ts);
    `,
  },
  {
    version: 3,
    description: 'audit log',
    // Who changed what, never from where: the actor is 'cli', 'server' or a dashboard user id, never an IP.
    // The action set is checked in code rather than by a CHECK constraint, so adding one needs no table rebuild.
    sql: `
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        -- NULL for entries about no single app.
        app_id INTEGER,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        -- JSON: changed setting keys with old and new values, a token's short hint, deleted counts.
        detail TEXT NOT NULL
      );
      CREATE INDEX audit_log_by_app_at ON audit_log(app_id, at);
      CREATE INDEX audit_log_by_at ON audit_log(at);
    `,
  },
]
