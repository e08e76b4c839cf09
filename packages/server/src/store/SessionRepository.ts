import type Database from 'better-sqlite3';
import type { ArchiveMode, ArchiveResolution, MediaMode, SessionSettings } from '@parlor/protocol';

/**
 * Who created a session: the application, through the REST API (or an SDK), or the demo page.
 * Demo sessions are not the application's: listings and counts of a project's sessions leave
 * them out.
 */
export type SessionOrigin = 'api' | 'demo';

/** A session as stored: the application's never expire; demo sessions are purged once old. */
export interface SessionRecord extends SessionSettings {
  readonly sessionId: string;
  readonly apiKey: string;
  readonly origin: SessionOrigin;
  /** Unix milliseconds. */
  readonly createdAt: number;
}

interface SessionRow {
  session_id: string;
  api_key: string;
  media_mode: string;
  archive_mode: string;
  location: string | null;
  e2ee: number;
  archive_name: string | null;
  archive_resolution: string | null;
  origin: string;
  created_at: number;
}

type InsertParams = [
  string,
  string,
  string,
  string,
  string | null,
  number,
  string | null,
  string | null,
  string,
  number,
];

export class SessionRepository {
  readonly #insert: Database.Statement<InsertParams>;
  readonly #byId: Database.Statement<[string], SessionRow>;
  readonly #projectOf: Database.Statement<[string], { api_key: string }>;
  readonly #count: Database.Statement<[string, string], { count: number }>;
  readonly #deleteOldDemo: Database.Statement<[number, string]>;

  constructor(db: Database.Database) {
    this.#insert = db.prepare(
      `INSERT INTO sessions (session_id, api_key, media_mode, archive_mode, location, e2ee,
         archive_name, archive_resolution, origin, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#byId = db.prepare('SELECT * FROM sessions WHERE session_id = ?');
    this.#projectOf = db.prepare('SELECT api_key FROM sessions WHERE session_id = ?');
    this.#count = db.prepare('SELECT COUNT(*) AS count FROM sessions WHERE api_key = ? AND origin = ?');
    this.#deleteOldDemo = db.prepare(
      `DELETE FROM sessions WHERE origin = 'demo' AND created_at < ?
         AND session_id NOT IN (SELECT value FROM json_each(?))
         AND NOT EXISTS (SELECT 1 FROM archives WHERE archives.session_id = sessions.session_id)`,
    );
  }

  insert(session: SessionRecord): void {
    this.#insert.run(
      session.sessionId,
      session.apiKey,
      session.mediaMode,
      session.archiveMode,
      session.location,
      session.e2ee ? 1 : 0,
      session.archiveName,
      session.archiveResolution,
      session.origin,
      session.createdAt,
    );
  }

  find(sessionId: string): SessionRecord | undefined {
    const row = this.#byId.get(sessionId);
    return row && toSession(row);
  }

  /** The API key of the session's project, without reading the rest of the row. */
  projectOf(sessionId: string): string | undefined {
    return this.#projectOf.get(sessionId)?.api_key;
  }

  /** How many sessions of this origin the project has. */
  count(apiKey: string, origin: SessionOrigin): number {
    return this.#count.get(apiKey, origin)?.count ?? 0;
  }

  /**
   * Deletes the demo sessions created before `createdBefore` (Unix ms), except those listed in
   * `keep` and any that has archives; returns how many it deleted.
   */
  deleteOldDemoSessions(createdBefore: number, keep: readonly string[]): number {
    return this.#deleteOldDemo.run(createdBefore, JSON.stringify(keep)).changes;
  }
}

function toSession(row: SessionRow): SessionRecord {
  return {
    sessionId: row.session_id,
    apiKey: row.api_key,
    // The table's CHECK constraints hold these to their unions.
    mediaMode: row.media_mode as MediaMode,
    archiveMode: row.archive_mode as ArchiveMode,
    location: row.location,
    e2ee: row.e2ee === 1,
    archiveName: row.archive_name,
    archiveResolution: row.archive_resolution as ArchiveResolution | null,
    origin: row.origin as SessionOrigin,
    createdAt: row.created_at,
  };
}
