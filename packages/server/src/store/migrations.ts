/**
 * The store's schema, one migration per version; `PRAGMA user_version` records the last one
 * applied. Append new versions; never edit one that has shipped.
 */
export const migrations: readonly string[] = [
  // 1: projects and sessions. A project is an OpenTok project (API key and secret) or a Vonage
  // application (application ID and RSA public key); `api_key` holds either ID.
  `
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
];
