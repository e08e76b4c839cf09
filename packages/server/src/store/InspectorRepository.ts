import type { SqlClient } from './SqlClient.js';

/** Who told of a record: a client's SDK, the signaling server, or the Media Router. */
export type InspectorSource = 'client' | 'server' | 'router';

/** An event (something happened), a quality sample (figures over a while), or a quality score. */
export type InspectorKind = 'event' | 'quality' | 'score';

/** A figure or detail of a record. */
export type InspectorValue = string | number | boolean | null;

/** One thing the Inspector knows of a session. */
export interface InspectorRecord {
  /** Unix milliseconds. */
  readonly at: number;
  readonly source: InspectorSource;
  readonly kind: InspectorKind;
  /** What it is: `connect`, `publish`, `publisher`, `subscriber`, `iceState`… */
  readonly type: string;
  readonly connectionId: string | null;
  readonly streamId: string | null;
  readonly data: Readonly<Record<string, InspectorValue>>;
}

/**
 * What a session may hold. A batch that would take it past either bound first thins the
 * session's older quality samples (see `InspectorRepository.thin`); what still does not fit is
 * dropped whole.
 */
export interface InspectorBounds {
  readonly maxRecords: number;
  /** Bytes of the records' JSON data and type. */
  readonly maxBytes: number;
}

/** A session the Inspector has records of. */
export interface InspectorSessionSummary {
  readonly sessionId: string;
  readonly apiKey: string;
  readonly records: number;
  readonly bytes: number;
  /** Records refused by the session's bounds or a connection's rate. */
  readonly dropped: number;
  /** Unix milliseconds of the first and the last record. */
  readonly firstAt: number;
  readonly lastAt: number;
}

interface SessionRow {
  session_id: string;
  api_key: string;
  records: number | string;
  bytes: number | string;
  dropped: number | string;
  first_at: number | string;
  last_at: number | string;
}

interface RecordRow {
  at: number | string;
  source: InspectorSource;
  kind: InspectorKind;
  type: string;
  connection_id: string | null;
  stream_id: string | null;
  data: string;
}

interface ThinRow {
  record_id: number | string;
  source: string;
  type: string;
  connection_id: string | null;
  stream_id: string | null;
  bytes: number | string;
}

/** Rows per INSERT statement (9 parameters each, well under both engines' limits). */
const rowsPerInsert = 100;
/** Record IDs per DELETE statement. */
const rowsPerDelete = 500;

/**
 * The Inspector's records, by session: each session's totals are kept beside its records and
 * checked in the same statement that counts a batch in, so that no client can make a session
 * hold more than its bounds, whatever the number of nodes writing.
 */
export class InspectorRepository {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /**
   * Stores the batch if it fits in the session's bounds, thinning the session's older samples
   * once if it must; otherwise counts it as dropped. Resolves to whether it was stored.
   */
  async add(
    sessionId: string,
    apiKey: string,
    records: readonly InspectorRecord[],
    bounds: InspectorBounds,
  ): Promise<boolean> {
    if (records.length === 0) return true;
    const texts = records.map((record) => JSON.stringify(record.data));
    const bytes = texts.reduce((sum, text, i) => sum + text.length + (records[i]?.type.length ?? 0), 0);
    const lastAt = Math.max(...records.map((record) => record.at));
    const firstAt = Math.min(...records.map((record) => record.at));
    await this.#sql.run(
      `INSERT INTO inspector_sessions (session_id, api_key, first_at, last_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (session_id) DO NOTHING`,
      [sessionId, apiKey, firstAt, lastAt],
    );
    const reserve = (): Promise<number> =>
      this.#sql.run(
        `UPDATE inspector_sessions
       SET records = records + ?, bytes = bytes + ?,
           first_at = CASE WHEN first_at < ? THEN first_at ELSE ? END,
           last_at = CASE WHEN last_at > ? THEN last_at ELSE ? END
       WHERE session_id = ? AND records + ? <= ? AND bytes + ? <= ?`,
        [
          records.length,
          bytes,
          firstAt,
          firstAt,
          lastAt,
          lastAt,
          sessionId,
          records.length,
          bounds.maxRecords,
          bytes,
          bounds.maxBytes,
        ],
      );
    const reserved = (await reserve()) > 0 || ((await this.thin(sessionId)) > 0 && (await reserve()) > 0);
    if (!reserved) {
      await this.countDropped(sessionId, records.length);
      return false;
    }
    for (let start = 0; start < records.length; start += rowsPerInsert) {
      const chunk = records.slice(start, start + rowsPerInsert);
      const params = chunk.flatMap((record, i) => [
        sessionId,
        record.at,
        record.source,
        record.kind,
        record.type,
        record.connectionId,
        record.streamId,
        texts[start + i] ?? '{}',
      ]);
      await this.#sql.run(
        `INSERT INTO inspector_records (session_id, at, source, kind, type, connection_id, stream_id, data)
         VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        params,
      );
    }
    return true;
  }

  /**
   * Deletes every second quality sample of each series (its source, type, connection and
   * stream) in the older half of the session's time, keeping events and scores: a long session
   * at its bound keeps its latest samples whole and its older ones at half the rate, and at a
   * quarter after the next thinning. Resolves to the number of records deleted.
   */
  async thin(sessionId: string): Promise<number> {
    const summary = await this.summary(sessionId);
    if (!summary) return 0;
    const rows = await this.#sql.all<ThinRow>(
      `SELECT record_id, source, type, connection_id, stream_id, length(data) + length(type) AS bytes
       FROM inspector_records WHERE session_id = ? AND kind = 'quality' AND at < ? ORDER BY at, record_id`,
      [sessionId, Math.floor((summary.firstAt + summary.lastAt) / 2)],
    );
    const seen = new Map<string, number>();
    const doomed = rows.filter((row) => {
      const series = `${row.source} ${row.type} ${row.connection_id ?? ''} ${row.stream_id ?? ''}`;
      const index = seen.get(series) ?? 0;
      seen.set(series, index + 1);
      return index % 2 === 1;
    });
    let deleted = 0;
    let bytes = 0;
    for (let start = 0; start < doomed.length; start += rowsPerDelete) {
      const chunk = doomed.slice(start, start + rowsPerDelete);
      deleted += await this.#sql.run(
        `DELETE FROM inspector_records WHERE record_id IN (${chunk.map(() => '?').join(', ')})`,
        chunk.map((row) => row.record_id),
      );
      bytes += chunk.reduce((sum, row) => sum + Number(row.bytes), 0);
    }
    if (deleted > 0)
      await this.#sql.run(
        `UPDATE inspector_sessions SET records = records - ?, bytes = bytes - ? WHERE session_id = ?`,
        [deleted, bytes, sessionId],
      );
    return deleted;
  }

  /** Counts records refused before reaching the store (a connection past its rate). */
  async countDropped(sessionId: string, count: number): Promise<void> {
    await this.#sql.run('UPDATE inspector_sessions SET dropped = dropped + ? WHERE session_id = ?', [
      count,
      sessionId,
    ]);
  }

  async summary(sessionId: string): Promise<InspectorSessionSummary | undefined> {
    const row = await this.#sql.get<SessionRow>('SELECT * FROM inspector_sessions WHERE session_id = ?', [
      sessionId,
    ]);
    return row && toSummary(row);
  }

  /** The session's records, oldest first (in the order stored within a millisecond). */
  async records(sessionId: string): Promise<InspectorRecord[]> {
    const rows = await this.#sql.all<RecordRow>(
      `SELECT at, source, kind, type, connection_id, stream_id, data FROM inspector_records
       WHERE session_id = ? ORDER BY at, record_id`,
      [sessionId],
    );
    return rows.map((row) => ({
      at: Number(row.at),
      source: row.source,
      kind: row.kind,
      type: row.type,
      connectionId: row.connection_id,
      streamId: row.stream_id,
      data: JSON.parse(row.data) as Record<string, InspectorValue>,
    }));
  }

  /** The project's sessions with records, the most recently active first. */
  async recentSessions(apiKey: string, limit: number): Promise<InspectorSessionSummary[]> {
    const rows = await this.#sql.all<SessionRow>(
      'SELECT * FROM inspector_sessions WHERE api_key = ? ORDER BY last_at DESC, session_id LIMIT ?',
      [apiKey, limit],
    );
    return rows.map(toSummary);
  }

  /**
   * Deletes the sessions whose last record is older than `before` (Unix ms), with their records;
   * resolves to the number of sessions deleted.
   */
  async purge(before: number): Promise<number> {
    await this.#sql.run(
      `DELETE FROM inspector_records WHERE session_id IN
         (SELECT session_id FROM inspector_sessions WHERE last_at < ?)`,
      [before],
    );
    return this.#sql.run('DELETE FROM inspector_sessions WHERE last_at < ?', [before]);
  }
}

function toSummary(row: SessionRow): InspectorSessionSummary {
  return {
    sessionId: row.session_id,
    apiKey: row.api_key,
    records: Number(row.records),
    bytes: Number(row.bytes),
    dropped: Number(row.dropped),
    firstAt: Number(row.first_at),
    lastAt: Number(row.last_at),
  };
}
