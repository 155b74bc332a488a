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
  {
    version: 4,
    description: 'error issues, releases, session releases',
    // Everything here is derived from already-scrubbed events (the fingerprint, title and culprit come from
    // the event's `issue` field); no column can hold an IP address, User-Agent or visitor key.
    // `received_at` columns are what retention counts from (DESIGN.md P7), `first_seen`/`last_seen` in
    // issues are event times for people. `releases.first_seen` is a receive time on purpose: the regression
    // rule compares it with `issues.resolved_at`, which is the server's clock too.
    sql: `
      CREATE TABLE issues (
        id INTEGER PRIMARY KEY,
        app_id INTEGER NOT NULL,
        fingerprint TEXT NOT NULL,
        title TEXT NOT NULL,
        culprit TEXT,
        type TEXT,
        status TEXT NOT NULL DEFAULT 'open',
        resolved_at INTEGER,
        regressed_at INTEGER,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        count INTEGER NOT NULL,
        sessions INTEGER NOT NULL DEFAULT 0,
        first_release TEXT,
        last_release TEXT,
        received_at INTEGER NOT NULL,
        UNIQUE (app_id, fingerprint)
      );
      CREATE INDEX issues_by_app_last_seen ON issues(app_id, last_seen);
      CREATE TABLE issue_releases (
        app_id INTEGER NOT NULL,
        issue_id INTEGER NOT NULL,
        release TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (app_id, issue_id, release)
      ) WITHOUT ROWID;
      -- One row per issue and session, so "sessions affected" is exact; deleted with the session summary.
      CREATE TABLE issue_sessions (
        app_id INTEGER NOT NULL,
        issue_id INTEGER NOT NULL,
        session_id TEXT NOT NULL,
        PRIMARY KEY (app_id, issue_id, session_id)
      ) WITHOUT ROWID;
      CREATE INDEX issue_sessions_by_session ON issue_sessions(app_id, session_id);
      CREATE TABLE releases (
        app_id INTEGER NOT NULL,
        release TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        PRIMARY KEY (app_id, release)
      ) WITHOUT ROWID;
      ALTER TABLE events ADD COLUMN issue_id INTEGER;
      CREATE INDEX events_by_app_issue ON events(app_id, issue_id, id) WHERE issue_id IS NOT NULL;
      ALTER TABLE sessions ADD COLUMN release TEXT;
    `,
  },
  {
    version: 5,
    description: 'issue kinds: errors and browser reports',
    // Browser reports are grouped into issues too (errors/groupReport.ts); `kind` says which, so each kind
    // follows its own retention setting. Existing issues are all error issues. `type` holds the report type.
    sql: `
      ALTER TABLE issues ADD COLUMN kind TEXT NOT NULL DEFAULT 'error';
    `,
  },
  {
    version: 6,
    description: 'secret keys: upload, api, relay',
    // Only the SHA-256 of a key is stored (DESIGN.md P9); `hint` keeps 4 of its 43 random characters.
    sql: `
      CREATE TABLE secret_keys (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        app_id INTEGER,
        hash TEXT NOT NULL UNIQUE,
        hint TEXT NOT NULL,
        label TEXT,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER,
        last_used_at INTEGER
      );
      CREATE INDEX secret_keys_by_app ON secret_keys(app_id);
    `,
  },
  {
    version: 7,
    description: 'source maps',
    // The customer's build output, uploaded with an upload key: no visitor data. Source maps are resolved when
    // an issue is read, not at ingest, so a map uploaded after its errors arrived still helps. A rowid table,
    // unlike the small keyed tables: rows carry blobs of megabytes, which SQLite keeps in overflow chains, and a
    // WITHOUT ROWID table would copy them into its B-tree. A bundle is kept only as the map name it links to.
    sql: `
      CREATE TABLE source_maps (
        id INTEGER PRIMARY KEY,
        app_id INTEGER NOT NULL,
        release TEXT NOT NULL,
        -- A relative path with '/' separators, as the bundle is served: 'assets/app.3f9a.js.map'.
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        size INTEGER NOT NULL,
        stored_size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        source_mapping_url TEXT,
        uploaded_at INTEGER NOT NULL,
        -- gzip of a map's bytes, NULL for a bundle. Last, so reading the columns above skips its overflow pages.
        content BLOB,
        UNIQUE (app_id, release, name)
      );
    `,
  },
  {
    version: 8,
    description: 'alert rules and webhook deliveries',
    // Configuration and a delivery log: ids, counts, times and our own short error words. No title, event,
    // IP address or User-Agent is stored here; payloads are built from the issue when they are sent.
    // `secret` is readable on purpose: it is the HMAC key the server signs with (alerts/alertRule.ts).
    // The partial index keeps the dispatcher's poll a lookup of the few pending rows.
    sql: `
      CREATE TABLE alert_rules (
        id INTEGER PRIMARY KEY,
        app_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        url TEXT NOT NULL,
        format TEXT NOT NULL,
        threshold INTEGER,
        window_minutes INTEGER,
        secret TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL,
        firing INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX alert_rules_by_app_kind ON alert_rules(app_id, kind);
      CREATE TABLE alert_deliveries (
        id INTEGER PRIMARY KEY,
        app_id INTEGER NOT NULL,
        rule_id INTEGER NOT NULL,
        event TEXT NOT NULL,
        issue_id INTEGER,
        error_count INTEGER,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_status INTEGER,
        last_error TEXT,
        next_attempt_at INTEGER,
        created_at INTEGER NOT NULL,
        delivered_at INTEGER
      );
      CREATE INDEX alert_deliveries_due ON alert_deliveries(next_attempt_at) WHERE status = 'pending';
      CREATE INDEX alert_deliveries_by_app ON alert_deliveries(app_id, id);
      CREATE INDEX alert_deliveries_by_rule ON alert_deliveries(rule_id);
      CREATE INDEX alert_deliveries_by_created ON alert_deliveries(created_at);
    `,
  },
  {
    version: 9,
    description: 'issue environments',
    // Like issue_releases, per environment (`env` of the events: production, staging, …), so issues can be
    // filtered by environment with exact counts. Derived from scrubbed events, deleted with the issue.
    sql: `
      CREATE TABLE issue_environments (
        app_id INTEGER NOT NULL,
        issue_id INTEGER NOT NULL,
        environment TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (app_id, issue_id, environment)
      ) WITHOUT ROWID;
      CREATE INDEX issue_environments_by_environment ON issue_environments(app_id, environment);
    `,
  },
  {
    version: 10,
    description: 'dashboard accounts: users, app members, user sessions, setup tokens',
    // Dashboard users (issue 6), never visitors. Nothing secret is stored as itself: a password as its scrypt
    // hash (accounts/hashPassword.ts), a session id and a setup token as their SHA-256 (both are 256 random
    // bits, so a fast hash suffices). The CSRF token is derived from the session id, so it needs no column.
    // Failed logins are counted in memory only (accounts/createLoginThrottle.ts).
    sql: `
      CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        -- Stored trimmed and lower-cased; NOCASE as well so no two rows can differ by case alone.
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        password_changed_at INTEGER NOT NULL
      );
      CREATE TABLE app_members (
        app_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'owner')),
        PRIMARY KEY (app_id, user_id)
      ) WITHOUT ROWID;
      CREATE INDEX app_members_by_user ON app_members(user_id);
      CREATE TABLE user_sessions (
        id_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX user_sessions_by_user ON user_sessions(user_id);
      CREATE TABLE setup_tokens (
        hash TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 11,
    description: 'analytics rollups',
    // docs/ROLLUPS.md. Rebuilt from the raw events, hour by hour, by store.analytics.refreshRollups: the event
    // writer marks each (app, hour) a commit touches in rollup_dirty. `span` is 3600000 for hourly rows and
    // 86400000 for daily ones (sums of their hours), `t` the bucket's start. Dimensions are '' when absent.
    // Nothing here is finer than the events it sums: paths without query, referrer hosts, campaign names,
    // resource URLs without query, and no session id.
    sql: `
      -- seq grows with every commit that touches the hour (or, for days, every rebuilt hour of the day): a
      -- rebuild computed outside the write lock clears the mark only if seq is still what it read first.
      CREATE TABLE rollup_dirty (
        app_id INTEGER NOT NULL,
        hour INTEGER NOT NULL,
        seq INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (app_id, hour)
      ) WITHOUT ROWID;
      -- Days whose daily rows are missing because one of their hours changed: queries read those days' hourly
      -- rows until the day is complete and rebuilt.
      CREATE TABLE rollup_dirty_days (
        app_id INTEGER NOT NULL,
        day INTEGER NOT NULL,
        seq INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (app_id, day)
      ) WITHOUT ROWID;
      CREATE TABLE rollup_views (
        app_id INTEGER NOT NULL, span INTEGER NOT NULL, t INTEGER NOT NULL,
        page TEXT NOT NULL, country TEXT NOT NULL, browser TEXT NOT NULL, os TEXT NOT NULL, device TEXT NOT NULL,
        release TEXT NOT NULL, env TEXT NOT NULL,
        views INTEGER NOT NULL, actions INTEGER NOT NULL, errors INTEGER NOT NULL,
        -- JSON: histograms by metric (view duration, vitals, navigation timings) and vital ratings (analytics/).
        metrics TEXT NOT NULL,
        PRIMARY KEY (app_id, span, t, page, country, browser, os, device, release, env)
      ) WITHOUT ROWID;
      CREATE TABLE rollup_sessions (
        app_id INTEGER NOT NULL, span INTEGER NOT NULL, t INTEGER NOT NULL,
        entry_page TEXT NOT NULL, exit_page TEXT NOT NULL, country TEXT NOT NULL, browser TEXT NOT NULL, os TEXT NOT NULL,
        device TEXT NOT NULL, release TEXT NOT NULL, env TEXT NOT NULL,
        sessions INTEGER NOT NULL, bounces INTEGER NOT NULL, crashed INTEGER NOT NULL, duration_ms INTEGER NOT NULL,
        PRIMARY KEY (app_id, span, t, entry_page, exit_page, country, browser, os, device, release, env)
      ) WITHOUT ROWID;
      CREATE TABLE rollup_sources (
        app_id INTEGER NOT NULL, span INTEGER NOT NULL, t INTEGER NOT NULL,
        page TEXT NOT NULL, country TEXT NOT NULL, browser TEXT NOT NULL, os TEXT NOT NULL, device TEXT NOT NULL,
        release TEXT NOT NULL, env TEXT NOT NULL,
        -- 'referrer' (another site's host) or 'utm_campaign' (the parameter's value).
        kind TEXT NOT NULL, key TEXT NOT NULL,
        views INTEGER NOT NULL,
        PRIMARY KEY (app_id, span, t, page, country, browser, os, device, release, env, kind, key)
      ) WITHOUT ROWID;
      CREATE TABLE rollup_resources (
        app_id INTEGER NOT NULL, span INTEGER NOT NULL, t INTEGER NOT NULL,
        page TEXT NOT NULL, country TEXT NOT NULL, browser TEXT NOT NULL, os TEXT NOT NULL, device TEXT NOT NULL,
        release TEXT NOT NULL, env TEXT NOT NULL,
        type TEXT NOT NULL, url TEXT NOT NULL,
        count INTEGER NOT NULL,
        histogram TEXT NOT NULL,
        PRIMARY KEY (app_id, span, t, page, country, browser, os, device, release, env, type, url)
      ) WITHOUT ROWID;
      CREATE TABLE rollup_long_tasks (
        app_id INTEGER NOT NULL, span INTEGER NOT NULL, t INTEGER NOT NULL,
        page TEXT NOT NULL, country TEXT NOT NULL, browser TEXT NOT NULL, os TEXT NOT NULL, device TEXT NOT NULL,
        release TEXT NOT NULL, env TEXT NOT NULL,
        count INTEGER NOT NULL, total_ms REAL NOT NULL,
        histogram TEXT NOT NULL,
        PRIMARY KEY (app_id, span, t, page, country, browser, os, device, release, env)
      ) WITHOUT ROWID;
      -- Cut from the rows above, so that a query with at most one filter reads a few rows per bucket: for each
      -- filter (fdim = fkey, or none: '' = '') and each grouping (gdim = gkey, or none), the sums. Columns a–d and
      -- metrics mean what the family says (createSqliteAnalyticsStore.ts, buildSlices).
      CREATE TABLE rollup_slices (
        app_id INTEGER NOT NULL, family TEXT NOT NULL,
        fdim TEXT NOT NULL, fkey TEXT NOT NULL, gdim TEXT NOT NULL, gkey TEXT NOT NULL,
        span INTEGER NOT NULL, t INTEGER NOT NULL,
        a INTEGER NOT NULL, b INTEGER NOT NULL, c INTEGER NOT NULL, d REAL NOT NULL,
        metrics TEXT,
        PRIMARY KEY (app_id, family, fdim, fkey, gdim, span, t, gkey)
      ) WITHOUT ROWID;
      CREATE INDEX rollup_slices_by_bucket ON rollup_slices(app_id, span, t);
      -- A page filter reads the full-dimension rows of one page (or entry page) only.
      CREATE INDEX rollup_views_by_page ON rollup_views(app_id, page, span, t);
      CREATE INDEX rollup_sessions_by_entry ON rollup_sessions(app_id, entry_page, span, t);
      CREATE INDEX rollup_sources_by_page ON rollup_sources(app_id, page, span, t);
      CREATE INDEX rollup_resources_by_page ON rollup_resources(app_id, page, span, t);
      CREATE INDEX rollup_long_tasks_by_page ON rollup_long_tasks(app_id, page, span, t);
    `,
  },
  {
    version: 12,
    description: 'session timelines and the explorer',
    // A session's timeline is a seek on (app_id, session_id, ts) instead of a scan of the app's events. The
    // column copies the event's `session.id` (a random UUID, like `sessions.session_id`); events without a
    // session (Node services, browser reports) stay out of the partial index, so they cost no index write.
    // Events stored before this migration get theirs from their JSON, once. The explorer needs no index of
    // its own: it reads a type's events by (app_id, type, received_at), which the ingest already pays for,
    // because an event's `ts` is clamped to a window around its `received_at` (store/sqlite/createSqliteExploreStore.ts).
    sql: `
      ALTER TABLE events ADD COLUMN session_id TEXT;
      UPDATE events SET session_id = json_extract(data, '$.session.id') WHERE json_type(data, '$.session.id') = 'text';
      CREATE INDEX events_by_app_session ON events(app_id, session_id, ts) WHERE session_id IS NOT NULL;
    `,
  },
  {
    version: 13,
    description: 'issue counts per day and per browser, OS, device and country',
    // Exact breakdowns of an issue's events, like issue_releases: the sample of stored events (first + newest
    // 100) cannot give counts over time or by browser. Derived from scrubbed events; deleted with the issue.
    sql: `
      CREATE TABLE issue_days (
        app_id INTEGER NOT NULL,
        issue_id INTEGER NOT NULL,
        day INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (app_id, issue_id, day)
      ) WITHOUT ROWID;
      CREATE TABLE issue_tags (
        app_id INTEGER NOT NULL,
        issue_id INTEGER NOT NULL,
        tag TEXT NOT NULL,
        value TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (app_id, issue_id, tag, value)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 14,
    description: 'session timelines read through the time index',
    // Migration 12's index keyed by (app_id, session_id) took every event to a random place in the index (session
    // ids are random): with live traffic of many sessions it cost ingest about a fifth of its write time (22 %,
    // docs/BENCHMARKS.md). The time index gains the session id instead: inserts stay at its end, and a timeline
    // scans the index entries of its session's time span (sessions.start_ts..end_ts), reading only its own rows.
    // `id` stays right after `ts`, as the implicit rowid was in (app_id, ts): readers page in (ts, id) order
    // (the rollups, the explorer, exports), and without it every page sorted all the events sharing a `ts`.
    sql: `
      DROP INDEX events_by_app_session;
      DROP INDEX events_by_app_ts;
      CREATE INDEX events_by_app_ts_session ON events(app_id, ts, id, session_id);
    `,
  },
  {
    version: 15,
    description: 'rollup slices cut by page',
    // The rollups now keep slices filtered by page (store/sqlite/rollupCells.ts SLICE_FILTER_DIMS)
    // and answer page filters from them: every hour already rolled up is marked, so the rollup job rebuilds it
    // with its page slices (and then its day). Until it has, a page filter counts only the hours rebuilt.
    sql: `
      INSERT INTO rollup_dirty (app_id, hour)
      SELECT app_id, t FROM (
        SELECT app_id, t FROM rollup_views WHERE span = 3600000
        UNION SELECT app_id, t FROM rollup_sessions WHERE span = 3600000
        UNION SELECT app_id, t FROM rollup_resources WHERE span = 3600000
        UNION SELECT app_id, t FROM rollup_long_tasks WHERE span = 3600000
      ) WHERE true
      ON CONFLICT (app_id, hour) DO UPDATE SET seq = seq + 1;
    `,
  },
  {
    version: 16,
    description: 'entry and exit pages on session summaries',
    // The event writer keeps each session's first and last view by (ts, id) — their page paths and the first
    // one's environment — so the session rollups and the sessions list's page and env filters need no view
    // read. Existing sessions get theirs from their views, once (tacit_page_path is analytics/eventDimensions.ts
    // pagePath, registered on the connection by createSqliteStore before migrating).
    sql: `
      ALTER TABLE sessions ADD COLUMN entry_ts INTEGER;
      ALTER TABLE sessions ADD COLUMN entry_id INTEGER;
      ALTER TABLE sessions ADD COLUMN entry_page TEXT;
      ALTER TABLE sessions ADD COLUMN env TEXT;
      ALTER TABLE sessions ADD COLUMN exit_ts INTEGER;
      ALTER TABLE sessions ADD COLUMN exit_id INTEGER;
      ALTER TABLE sessions ADD COLUMN exit_page TEXT;
      UPDATE sessions SET (entry_id, entry_ts) = (
        SELECT id, ts FROM events INDEXED BY events_by_app_ts_session
        WHERE app_id = sessions.app_id AND ts >= sessions.start_ts AND ts <= sessions.end_ts AND session_id = sessions.session_id AND type = 'view'
        ORDER BY ts, id LIMIT 1
      );
      UPDATE sessions SET (exit_id, exit_ts) = (
        SELECT id, ts FROM events INDEXED BY events_by_app_ts_session
        WHERE app_id = sessions.app_id AND ts >= sessions.start_ts AND ts <= sessions.end_ts AND session_id = sessions.session_id AND type = 'view'
        ORDER BY ts DESC, id DESC LIMIT 1
      );
      UPDATE sessions SET (entry_page, env) = (
        SELECT tacit_page_path(json_extract(data, '$.view.url')), json_extract(data, '$.env') FROM events WHERE id = sessions.entry_id
      ) WHERE entry_id IS NOT NULL;
      UPDATE sessions SET exit_page = (SELECT tacit_page_path(json_extract(data, '$.view.url')) FROM events WHERE id = sessions.exit_id)
      WHERE exit_id IS NOT NULL;
    `,
  },
]
