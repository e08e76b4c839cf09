import type { ArchiveMode, ArchiveResolution, MediaMode, SessionSettings } from '@parlor/protocol';
import { flag, type SqlClient } from './SqlClient.js';

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
  e2ee: number | boolean;
  archive_name: string | null;
  archive_resolution: string | null;
  origin: string;
  created_at: number;
}

export class SessionRepository {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  async insert(session: SessionRecord): Promise<void> {
    await this.#sql.run(
      `INSERT INTO sessions (session_id, api_key, media_mode, archive_mode, location, e2ee,
         archive_name, archive_resolution, origin, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        session.sessionId,
        session.apiKey,
        session.mediaMode,
        session.archiveMode,
        session.location,
        session.e2ee,
        session.archiveName,
        session.archiveResolution,
        session.origin,
        session.createdAt,
      ],
    );
  }

  async find(sessionId: string): Promise<SessionRecord | undefined> {
    const row = await this.#sql.get<SessionRow>('SELECT * FROM sessions WHERE session_id = ?', [sessionId]);
    return row && toSession(row);
  }

  /** The API key of the session's project, without reading the rest of the row. */
  async projectOf(sessionId: string): Promise<string | undefined> {
    const row = await this.#sql.get<{ api_key: string }>(
      'SELECT api_key FROM sessions WHERE session_id = ?',
      [sessionId],
    );
    return row?.api_key;
  }

  /** The project's sessions created through its API, newest first, at most `limit`. */
  async recent(apiKey: string, limit: number): Promise<SessionRecord[]> {
    const rows = await this.#sql.all<SessionRow>(
      "SELECT * FROM sessions WHERE api_key = ? AND origin = 'api' ORDER BY created_at DESC, session_id LIMIT ?",
      [apiKey, limit],
    );
    return rows.map(toSession);
  }

  /** How many sessions of this origin the project has. */
  async count(apiKey: string, origin: SessionOrigin): Promise<number> {
    const row = await this.#sql.get<{ count: number }>(
      'SELECT COUNT(*) AS count FROM sessions WHERE api_key = ? AND origin = ?',
      [apiKey, origin],
    );
    return row?.count ?? 0;
  }

  /**
   * Deletes the demo sessions created before `createdBefore` (Unix ms), except those listed in
   * `keep` and any that has archives; returns how many it deleted.
   */
  async deleteOldDemoSessions(createdBefore: number, keep: readonly string[]): Promise<number> {
    const kept =
      this.#sql.dialect === 'sqlite'
        ? 'SELECT value FROM json_each(?)'
        : 'SELECT json_array_elements_text(?::json)';
    return this.#sql.run(
      `DELETE FROM sessions WHERE origin = 'demo' AND created_at < ?
         AND session_id NOT IN (${kept})
         AND NOT EXISTS (SELECT 1 FROM archives WHERE archives.session_id = sessions.session_id)`,
      [createdBefore, JSON.stringify(keep)],
    );
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
    e2ee: flag(row.e2ee),
    archiveName: row.archive_name,
    archiveResolution: row.archive_resolution as ArchiveResolution | null,
    origin: row.origin as SessionOrigin,
    createdAt: row.created_at,
  };
}
