import type { SqlDialect } from './SqlClient.js';

/** One version of the schema: its SQL for each engine, or one text where both run the same. */
export type Migration = { readonly sql: string } | { readonly sqlite: string; readonly postgres: string };

/** The migration's SQL for this engine. */
export function migrationSql(migration: Migration, dialect: SqlDialect): string {
  return 'sql' in migration ? migration.sql : migration[dialect];
}

/**
 * The store's schema, one migration per version, the same in meaning on both engines: SQLite's
 * INTEGER 0/1 flags are PostgreSQL's BOOLEANs, its integer millisecond times and byte counts
 * BIGINTs. SQLite records the last version applied in `PRAGMA user_version`, PostgreSQL in
 * `parlor_schema_migrations`. Append new versions; never edit one that has shipped.
 */
export const migrations: readonly Migration[] = [
  // 1: projects and sessions. A project is an OpenTok project (API key and secret) or a Vonage
  // application (application ID and RSA public key); `api_key` holds either ID.
  {
    sqlite: `
    CREATE TABLE projects (
      api_key     TEXT PRIMARY KEY,
      kind        TEXT NOT NULL CHECK (kind IN ('opentok', 'application')),
      name        TEXT NOT NULL,
      api_secret  TEXT,
      public_key  TEXT,
      is_default  INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
      created_at  INTEGER NOT NULL,
      CHECK ((api_secret IS NOT NULL) = (kind = 'opentok')),
      CHECK ((public_key IS NOT NULL) = (kind = 'application')),
      CHECK (kind = 'opentok' OR is_default = 0)
    ) STRICT;
    CREATE UNIQUE INDEX projects_single_default ON projects (is_default) WHERE is_default = 1;

    CREATE TABLE sessions (
      session_id          TEXT PRIMARY KEY,
      api_key             TEXT NOT NULL REFERENCES projects (api_key),
      media_mode          TEXT NOT NULL CHECK (media_mode IN ('relayed', 'routed')),
      archive_mode        TEXT NOT NULL CHECK (archive_mode IN ('manual', 'always')),
      location            TEXT,
      e2ee                INTEGER NOT NULL CHECK (e2ee IN (0, 1)),
      archive_name        TEXT,
      archive_resolution  TEXT,
      created_at          INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    `,
    postgres: `
    CREATE TABLE projects (
      api_key     TEXT PRIMARY KEY,
      kind        TEXT NOT NULL CHECK (kind IN ('opentok', 'application')),
      name        TEXT NOT NULL,
      api_secret  TEXT,
      public_key  TEXT,
      is_default  BOOLEAN NOT NULL DEFAULT FALSE,
      created_at  BIGINT NOT NULL,
      CHECK ((api_secret IS NOT NULL) = (kind = 'opentok')),
      CHECK ((public_key IS NOT NULL) = (kind = 'application')),
      CHECK (kind = 'opentok' OR NOT is_default)
    );
    CREATE UNIQUE INDEX projects_single_default ON projects (is_default) WHERE is_default;

    CREATE TABLE sessions (
      session_id          TEXT PRIMARY KEY,
      api_key             TEXT NOT NULL REFERENCES projects (api_key),
      media_mode          TEXT NOT NULL CHECK (media_mode IN ('relayed', 'routed')),
      archive_mode        TEXT NOT NULL CHECK (archive_mode IN ('manual', 'always')),
      location            TEXT,
      e2ee                BOOLEAN NOT NULL,
      archive_name        TEXT,
      archive_resolution  TEXT,
      created_at          BIGINT NOT NULL
    );
    `,
  },
  // 2: archives, the recordings of their streams, project callbacks and queued webhook deliveries.
  {
    sqlite: `
    CREATE TABLE archives (
      archive_id              TEXT PRIMARY KEY,
      api_key                 TEXT NOT NULL REFERENCES projects (api_key),
      session_id              TEXT NOT NULL REFERENCES sessions (session_id),
      name                    TEXT,
      status                  TEXT NOT NULL
                              CHECK (status IN ('started', 'stopped', 'available', 'failed', 'deleted')),
      reason                  TEXT NOT NULL DEFAULT '',
      output_mode             TEXT NOT NULL CHECK (output_mode IN ('composed', 'individual')),
      has_audio               INTEGER NOT NULL CHECK (has_audio IN (0, 1)),
      has_video               INTEGER NOT NULL CHECK (has_video IN (0, 1)),
      resolution              TEXT,
      stream_mode             TEXT NOT NULL CHECK (stream_mode IN ('auto', 'manual')),
      multi_archive_tag       TEXT,
      -- JSON: the layouts in force, each from an offset in ms: [{"atMs":0,"layout":{...}}, ...]
      layouts                 TEXT NOT NULL,
      max_bitrate             INTEGER,
      quantization_parameter  INTEGER,
      created_at              INTEGER NOT NULL,
      updated_at              INTEGER NOT NULL,
      duration_ms             INTEGER NOT NULL DEFAULT 0,
      size                    INTEGER NOT NULL DEFAULT 0,
      -- the output's key in the archive storage, once available
      output_key              TEXT,
      CHECK ((resolution IS NOT NULL) = (output_mode = 'composed'))
    ) STRICT;
    CREATE INDEX archives_by_project ON archives (api_key, created_at);
    CREATE INDEX archives_by_session ON archives (session_id, created_at);
    CREATE INDEX archives_unfinished ON archives (status) WHERE status IN ('started', 'stopped');

    -- One recording of one stream into one file; a stream added again records into another.
    CREATE TABLE archive_recordings (
      archive_id       TEXT NOT NULL REFERENCES archives (archive_id),
      seq              INTEGER NOT NULL,
      stream_id        TEXT NOT NULL,
      connection_id    TEXT NOT NULL,
      connection_data  TEXT NOT NULL,
      video_type       TEXT,
      has_audio        INTEGER NOT NULL CHECK (has_audio IN (0, 1)),
      has_video        INTEGER NOT NULL CHECK (has_video IN (0, 1)),
      -- the file's path without its extension (.webm or .mkv), as the recorder was told
      base_path        TEXT NOT NULL,
      requested_at     INTEGER NOT NULL,
      -- set when the recording ended: the file, when media reached it
      file             TEXT,
      started_at       INTEGER,
      duration_ms      INTEGER,
      ended            INTEGER NOT NULL DEFAULT 0 CHECK (ended IN (0, 1)),
      PRIMARY KEY (archive_id, seq)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE callbacks (
      callback_id  TEXT PRIMARY KEY,
      api_key      TEXT NOT NULL REFERENCES projects (api_key),
      grp          TEXT NOT NULL,
      event        TEXT NOT NULL,
      url          TEXT NOT NULL,
      created_at   INTEGER NOT NULL,
      UNIQUE (api_key, grp, event)
    ) STRICT;

    CREATE TABLE webhook_deliveries (
      delivery_id  INTEGER PRIMARY KEY AUTOINCREMENT,
      url          TEXT NOT NULL,
      body         TEXT NOT NULL,
      attempts     INTEGER NOT NULL DEFAULT 0,
      created_at   INTEGER NOT NULL
    ) STRICT;
    `,
    // PostgreSQL has no rowid: an identity column of that name orders the archives created in
    // the same millisecond by insertion, as SQLite's does.
    postgres: `
    CREATE TABLE archives (
      archive_id              TEXT PRIMARY KEY,
      rowid                   BIGINT GENERATED ALWAYS AS IDENTITY,
      api_key                 TEXT NOT NULL REFERENCES projects (api_key),
      session_id              TEXT NOT NULL REFERENCES sessions (session_id),
      name                    TEXT,
      status                  TEXT NOT NULL
                              CHECK (status IN ('started', 'stopped', 'available', 'failed', 'deleted')),
      reason                  TEXT NOT NULL DEFAULT '',
      output_mode             TEXT NOT NULL CHECK (output_mode IN ('composed', 'individual')),
      has_audio               BOOLEAN NOT NULL,
      has_video               BOOLEAN NOT NULL,
      resolution              TEXT,
      stream_mode             TEXT NOT NULL CHECK (stream_mode IN ('auto', 'manual')),
      multi_archive_tag       TEXT,
      layouts                 TEXT NOT NULL,
      max_bitrate             INTEGER,
      quantization_parameter  INTEGER,
      created_at              BIGINT NOT NULL,
      updated_at              BIGINT NOT NULL,
      duration_ms             BIGINT NOT NULL DEFAULT 0,
      size                    BIGINT NOT NULL DEFAULT 0,
      output_key              TEXT,
      CHECK ((resolution IS NOT NULL) = (output_mode = 'composed'))
    );
    CREATE INDEX archives_by_project ON archives (api_key, created_at);
    CREATE INDEX archives_by_session ON archives (session_id, created_at);
    CREATE INDEX archives_unfinished ON archives (status) WHERE status IN ('started', 'stopped');

    CREATE TABLE archive_recordings (
      archive_id       TEXT NOT NULL REFERENCES archives (archive_id),
      seq              INTEGER NOT NULL,
      stream_id        TEXT NOT NULL,
      connection_id    TEXT NOT NULL,
      connection_data  TEXT NOT NULL,
      video_type       TEXT,
      has_audio        BOOLEAN NOT NULL,
      has_video        BOOLEAN NOT NULL,
      base_path        TEXT NOT NULL,
      requested_at     BIGINT NOT NULL,
      file             TEXT,
      started_at       BIGINT,
      duration_ms      BIGINT,
      ended            BOOLEAN NOT NULL DEFAULT FALSE,
      PRIMARY KEY (archive_id, seq)
    );

    CREATE TABLE callbacks (
      callback_id  TEXT PRIMARY KEY,
      api_key      TEXT NOT NULL REFERENCES projects (api_key),
      grp          TEXT NOT NULL,
      event        TEXT NOT NULL,
      url          TEXT NOT NULL,
      created_at   BIGINT NOT NULL,
      UNIQUE (api_key, grp, event)
    );

    CREATE TABLE webhook_deliveries (
      delivery_id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      url          TEXT NOT NULL,
      body         TEXT NOT NULL,
      attempts     INTEGER NOT NULL DEFAULT 0,
      created_at   BIGINT NOT NULL
    );
    `,
  },
  // 3: where a session came from: the REST API ('api') or the demo page ('demo'). Demo sessions
  // are not the application's, and are purged once old.
  {
    sql: `
    ALTER TABLE sessions ADD COLUMN origin TEXT NOT NULL DEFAULT 'api' CHECK (origin IN ('api', 'demo'));
    CREATE INDEX sessions_demo_by_age ON sessions (created_at) WHERE origin = 'demo';
    `,
  },
  // 4: why a recording has no complete file (its recorder refused the stream, or a write
  // failed); null when nothing went wrong.
  { sql: 'ALTER TABLE archive_recordings ADD COLUMN failure TEXT;' },
  // 5: signed callbacks and their order. Each project's signature secret (made when first
  // needed); each delivery names the project whose secret signs it and its queue (the session
  // it tells of): deliveries are ordered within a queue, and queues do not wait for each other.
  {
    sql: `
    ALTER TABLE projects ADD COLUMN signature_secret TEXT;
    ALTER TABLE webhook_deliveries ADD COLUMN api_key TEXT;
    ALTER TABLE webhook_deliveries ADD COLUMN queue TEXT NOT NULL DEFAULT '';
    CREATE INDEX webhook_deliveries_by_queue ON webhook_deliveries (url, queue, delivery_id);
    `,
  },
  // 6: the cluster node that records an archive and keeps its files; null on a node on its own.
  {
    sql: `
    ALTER TABLE archives ADD COLUMN node_id TEXT;
    CREATE INDEX archives_by_node ON archives (node_id, status);
    `,
  },
  // 7: the cluster node whose queue a delivery waits in (null on a node on its own): a node sends
  // only its own, and a live node takes over those of a node that left.
  {
    sql: `
    ALTER TABLE webhook_deliveries ADD COLUMN node_id TEXT;
    CREATE INDEX webhook_deliveries_by_node ON webhook_deliveries (node_id, url, queue, delivery_id);
    `,
  },
  // 8: the Inspector: what happened in each session, as its clients, its server and its router
  // told, kept `--inspector-retention` days. Each session's totals bound what it may add.
  {
    sqlite: `
    CREATE TABLE inspector_sessions (
      session_id  TEXT PRIMARY KEY,
      api_key     TEXT NOT NULL,
      records     INTEGER NOT NULL DEFAULT 0,
      bytes       INTEGER NOT NULL DEFAULT 0,
      -- records refused by the session's bounds or a connection's rate
      dropped     INTEGER NOT NULL DEFAULT 0,
      first_at    INTEGER NOT NULL,
      last_at     INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX inspector_sessions_by_age ON inspector_sessions (last_at);
    CREATE INDEX inspector_sessions_by_project ON inspector_sessions (api_key, last_at);

    CREATE TABLE inspector_records (
      record_id      INTEGER PRIMARY KEY AUTOINCREMENT,
      session_id     TEXT NOT NULL,
      at             INTEGER NOT NULL,
      source         TEXT NOT NULL CHECK (source IN ('client', 'server', 'router')),
      kind           TEXT NOT NULL CHECK (kind IN ('event', 'quality', 'score')),
      type           TEXT NOT NULL,
      connection_id  TEXT,
      stream_id      TEXT,
      -- JSON object: the event's details or the sample's figures
      data           TEXT NOT NULL
    ) STRICT;
    CREATE INDEX inspector_records_by_session ON inspector_records (session_id, at);
    `,
    postgres: `
    CREATE TABLE inspector_sessions (
      session_id  TEXT PRIMARY KEY,
      api_key     TEXT NOT NULL,
      records     BIGINT NOT NULL DEFAULT 0,
      bytes       BIGINT NOT NULL DEFAULT 0,
      dropped     BIGINT NOT NULL DEFAULT 0,
      first_at    BIGINT NOT NULL,
      last_at     BIGINT NOT NULL
    );
    CREATE INDEX inspector_sessions_by_age ON inspector_sessions (last_at);
    CREATE INDEX inspector_sessions_by_project ON inspector_sessions (api_key, last_at);

    CREATE TABLE inspector_records (
      record_id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      session_id     TEXT NOT NULL,
      at             BIGINT NOT NULL,
      source         TEXT NOT NULL CHECK (source IN ('client', 'server', 'router')),
      kind           TEXT NOT NULL CHECK (kind IN ('event', 'quality', 'score')),
      type           TEXT NOT NULL,
      connection_id  TEXT,
      stream_id      TEXT,
      data           TEXT NOT NULL
    );
    CREATE INDEX inspector_records_by_session ON inspector_records (session_id, at);
    `,
  },
  // 9: the console: the operators who log in to /console and their login sessions (each by the
  // SHA-256 of its cookie, with its CSRF token), suspended projects, and the last outcome of each
  // project's callback deliveries (a bounded history the console shows).
  {
    sqlite: `
    CREATE TABLE operators (
      name           TEXT PRIMARY KEY,
      password_hash  TEXT NOT NULL,
      created_at     INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE operator_sessions (
      token_hash  TEXT PRIMARY KEY,
      name        TEXT NOT NULL REFERENCES operators (name) ON DELETE CASCADE,
      csrf_token  TEXT NOT NULL,
      created_at  INTEGER NOT NULL,
      expires_at  INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX operator_sessions_by_expiry ON operator_sessions (expires_at);
    ALTER TABLE projects ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0 CHECK (suspended IN (0, 1));
    CREATE TABLE callback_deliveries (
      delivery_id  INTEGER PRIMARY KEY,
      api_key      TEXT NOT NULL,
      url          TEXT NOT NULL,
      event        TEXT NOT NULL,
      state        TEXT NOT NULL CHECK (state IN ('delivered', 'retrying', 'given up')),
      result       TEXT NOT NULL,
      attempts     INTEGER NOT NULL,
      updated_at   INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX callback_deliveries_by_project ON callback_deliveries (api_key, delivery_id);
    `,
    postgres: `
    CREATE TABLE operators (
      name           TEXT PRIMARY KEY,
      password_hash  TEXT NOT NULL,
      created_at     BIGINT NOT NULL
    );
    CREATE TABLE operator_sessions (
      token_hash  TEXT PRIMARY KEY,
      name        TEXT NOT NULL REFERENCES operators (name) ON DELETE CASCADE,
      csrf_token  TEXT NOT NULL,
      created_at  BIGINT NOT NULL,
      expires_at  BIGINT NOT NULL
    );
    CREATE INDEX operator_sessions_by_expiry ON operator_sessions (expires_at);
    ALTER TABLE projects ADD COLUMN suspended BOOLEAN NOT NULL DEFAULT FALSE;
    CREATE TABLE callback_deliveries (
      delivery_id  BIGINT PRIMARY KEY,
      api_key      TEXT NOT NULL,
      url          TEXT NOT NULL,
      event        TEXT NOT NULL,
      state        TEXT NOT NULL CHECK (state IN ('delivered', 'retrying', 'given up')),
      result       TEXT NOT NULL,
      attempts     INTEGER NOT NULL,
      updated_at   BIGINT NOT NULL
    );
    CREATE INDEX callback_deliveries_by_project ON callback_deliveries (api_key, delivery_id);
    `,
  },
  // 10: the console in a cluster and for automation: operators' API tokens (by the SHA-256 of
  // each, shown once) and the one-time setup tokens of the nodes that printed a setup link.
  {
    sqlite: `
    CREATE TABLE operator_tokens (
      token_id      TEXT PRIMARY KEY,
      token_hash    TEXT NOT NULL UNIQUE,
      name          TEXT NOT NULL REFERENCES operators (name) ON DELETE CASCADE,
      label         TEXT NOT NULL,
      created_at    INTEGER NOT NULL,
      last_used_at  INTEGER
    ) STRICT;
    CREATE TABLE console_setup_tokens (
      token_hash  TEXT PRIMARY KEY,
      created_at  INTEGER NOT NULL
    ) STRICT;
    `,
    postgres: `
    CREATE TABLE operator_tokens (
      token_id      TEXT PRIMARY KEY,
      token_hash    TEXT NOT NULL UNIQUE,
      name          TEXT NOT NULL REFERENCES operators (name) ON DELETE CASCADE,
      label         TEXT NOT NULL,
      created_at    BIGINT NOT NULL,
      last_used_at  BIGINT
    );
    CREATE TABLE console_setup_tokens (
      token_hash  TEXT PRIMARY KEY,
      created_at  BIGINT NOT NULL
    );
    `,
  },
  // 11: the keys a cluster's nodes sign renewed tokens of Vonage applications with, one per
  // period (`auth/RenewalKeys.ts`).
  {
    sqlite: `
    CREATE TABLE renewal_keys (
      period  INTEGER PRIMARY KEY,
      secret  TEXT NOT NULL
    ) STRICT;
    `,
    postgres: `
    CREATE TABLE renewal_keys (
      period  BIGINT PRIMARY KEY,
      secret  TEXT NOT NULL
    );
    `,
  },
];
