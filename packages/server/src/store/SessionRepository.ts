import type Database from 'better-sqlite3';
import type { ArchiveMode, ArchiveResolution, MediaMode, SessionSettings } from '@parlor/protocol';

/** A session as stored: it never expires and is never deleted. */
export interface SessionRecord extends SessionSettings {
  readonly sessionId: string;
  readonly apiKey: string;
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
  number,
];

export class SessionRepository {
  readonly #insert: Database.Statement<InsertParams>;
  readonly #byId: Database.Statement<[string], SessionRow>;
  readonly #projectOf: Database.Statement<[string], { api_key: string }>;

  constructor(db: Database.Database) {
    this.#insert = db.prepare(
      `INSERT INTO sessions (session_id, api_key, media_mode, archive_mode, location, e2ee,
         archive_name, archive_resolution, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#byId = db.prepare('SELECT * FROM sessions WHERE session_id = ?');
    this.#projectOf = db.prepare('SELECT api_key FROM sessions WHERE session_id = ?');
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
    createdAt: row.created_at,
  };
}
