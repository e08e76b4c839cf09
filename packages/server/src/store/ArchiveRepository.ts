import type {
  ArchiveLayout,
  ArchiveOutputMode,
  ArchiveResolution,
  ArchiveStreamMode,
  VideoType,
} from '@parlor/protocol';
import { flag, type SqlClient, type SqlValue } from './SqlClient.js';

/** The statuses an archive takes in Parlor, in the order it goes through them. */
export const storedArchiveStatuses = ['started', 'stopped', 'available', 'failed', 'deleted'] as const;
export type StoredArchiveStatus = (typeof storedArchiveStatuses)[number];

/** A layout of a composed archive and the offset from which it is in force. */
export interface LayoutChange {
  /** Milliseconds from the archive's start. */
  readonly atMs: number;
  readonly layout: ArchiveLayout;
}

/** An archive as stored. */
export interface ArchiveRecord {
  /** A lowercase UUID. */
  readonly archiveId: string;
  readonly apiKey: string;
  readonly sessionId: string;
  readonly name: string | null;
  readonly status: StoredArchiveStatus;
  /** Why it stopped or failed; "" until then. */
  readonly reason: string;
  readonly outputMode: ArchiveOutputMode;
  readonly hasAudio: boolean;
  readonly hasVideo: boolean;
  /** Composed archives only. */
  readonly resolution: ArchiveResolution | null;
  readonly streamMode: ArchiveStreamMode;
  readonly multiArchiveTag: string | null;
  /** The first one is in force from the start; one more per `PUT …/layout`. */
  readonly layouts: readonly LayoutChange[];
  readonly maxBitrate: number | null;
  readonly quantizationParameter: number | null;
  /** Unix milliseconds. */
  readonly createdAt: number;
  readonly updatedAt: number;
  /** How long it recorded; 0 while it records. */
  readonly durationMs: number;
  /** Bytes of the output; 0 until it is available. */
  readonly size: number;
  /** Where the output is in the archive storage, once available. */
  readonly outputKey: string | null;
  /** The cluster node that records it and keeps its files; null on a node on its own. */
  readonly nodeId: string | null;
}

/** One recording of one stream of an archive into one file. */
export interface RecordingRecord {
  readonly archiveId: string;
  /** Order in the archive, from 1. */
  readonly seq: number;
  readonly streamId: string;
  readonly connectionId: string;
  readonly connectionData: string;
  readonly videoType: VideoType | null;
  readonly hasAudio: boolean;
  readonly hasVideo: boolean;
  /** The file's path without its extension, as the recorder was told. */
  readonly basePath: string;
  /** Unix milliseconds at which the recording was asked for. */
  readonly requestedAt: number;
  /** The file, once the recording ended with media in it. */
  readonly file: string | null;
  /** Unix milliseconds of the file's first media. */
  readonly startedAt: number | null;
  readonly durationMs: number | null;
  readonly ended: boolean;
  /** Why the recording has no complete file: its recorder refused the stream, or a write failed. */
  readonly failure: string | null;
}

/** How a recording ended: its file, or null when no media reached one, and what went wrong. */
export interface RecordingEnd {
  readonly file: string | null;
  readonly startedAt: number | null;
  readonly durationMs: number | null;
  readonly failure: string | null;
}

export interface ArchivePage {
  /** Every archive that matches, not only those of the page. */
  readonly count: number;
  readonly items: ArchiveRecord[];
}

interface ArchiveRow {
  archive_id: string;
  api_key: string;
  session_id: string;
  name: string | null;
  status: string;
  reason: string;
  output_mode: string;
  has_audio: number | boolean;
  has_video: number | boolean;
  resolution: string | null;
  stream_mode: string;
  multi_archive_tag: string | null;
  layouts: string;
  max_bitrate: number | null;
  quantization_parameter: number | null;
  created_at: number;
  updated_at: number;
  duration_ms: number;
  size: number;
  output_key: string | null;
  node_id: string | null;
}

interface RecordingRow {
  archive_id: string;
  seq: number;
  stream_id: string;
  connection_id: string;
  connection_data: string;
  video_type: string | null;
  has_audio: number | boolean;
  has_video: number | boolean;
  base_path: string;
  requested_at: number;
  file: string | null;
  started_at: number | null;
  duration_ms: number | null;
  ended: number | boolean;
  failure: string | null;
}

/** Archives and their recordings; `rowid` orders those created in the same millisecond. */
export class ArchiveRepository {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  async insert(archive: ArchiveRecord): Promise<void> {
    await this.#sql.run(
      `INSERT INTO archives (archive_id, api_key, session_id, name, status, reason, output_mode,
         has_audio, has_video, resolution, stream_mode, multi_archive_tag, layouts, max_bitrate,
         quantization_parameter, created_at, updated_at, duration_ms, size, output_key, node_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        archive.archiveId,
        archive.apiKey,
        archive.sessionId,
        archive.name,
        archive.status,
        archive.reason,
        archive.outputMode,
        archive.hasAudio,
        archive.hasVideo,
        archive.resolution,
        archive.streamMode,
        archive.multiArchiveTag,
        JSON.stringify(archive.layouts),
        archive.maxBitrate,
        archive.quantizationParameter,
        archive.createdAt,
        archive.updatedAt,
        archive.durationMs,
        archive.size,
        archive.outputKey,
        archive.nodeId,
      ],
    );
  }

  /** Writes what changes in an archive's life: status, reason, layouts, times, size and output. */
  async update(archive: ArchiveRecord): Promise<void> {
    await this.#sql.run(
      `UPDATE archives SET status = ?, reason = ?, layouts = ?, updated_at = ?, duration_ms = ?,
         size = ?, output_key = ? WHERE archive_id = ?`,
      [
        archive.status,
        archive.reason,
        JSON.stringify(archive.layouts),
        archive.updatedAt,
        archive.durationMs,
        archive.size,
        archive.outputKey,
        archive.archiveId,
      ],
    );
  }

  async find(archiveId: string): Promise<ArchiveRecord | undefined> {
    const row = await this.#sql.get<ArchiveRow>('SELECT * FROM archives WHERE archive_id = ?', [archiveId]);
    return row && toArchive(row);
  }

  /** The project's archives but deleted ones, newest first, optionally of one session. */
  async list(
    apiKey: string,
    page: { offset: number; count: number; sessionId?: string },
  ): Promise<ArchivePage> {
    const where = `api_key = ? AND status != 'deleted'${page.sessionId === undefined ? '' : ' AND session_id = ?'}`;
    const params: SqlValue[] = page.sessionId === undefined ? [apiKey] : [apiKey, page.sessionId];
    const total = await this.#sql.get<{ total: number }>(
      `SELECT count(*) AS total FROM archives WHERE ${where}`,
      params,
    );
    const rows = await this.#sql.all<ArchiveRow>(
      `SELECT * FROM archives WHERE ${where} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`,
      [...params, page.count, page.offset],
    );
    return { count: total?.total ?? 0, items: rows.map(toArchive) };
  }

  /**
   * Archives that were recording or being finished when the server last stopped: those of the
   * node, or every one when `nodeId` is null (a node on its own).
   */
  async unfinished(nodeId: string | null = null): Promise<ArchiveRecord[]> {
    const rows = await this.#sql.all<ArchiveRow>(
      `SELECT * FROM archives WHERE status IN ('started', 'stopped')${ofNode(nodeId)} ORDER BY created_at, rowid`,
      nodeId === null ? [] : [nodeId],
    );
    return rows.map(toArchive);
  }

  async insertRecording(recording: RecordingRecord): Promise<void> {
    await this.#sql.run(
      `INSERT INTO archive_recordings (archive_id, seq, stream_id, connection_id, connection_data,
         video_type, has_audio, has_video, base_path, requested_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        recording.archiveId,
        recording.seq,
        recording.streamId,
        recording.connectionId,
        recording.connectionData,
        recording.videoType,
        recording.hasAudio,
        recording.hasVideo,
        recording.basePath,
        recording.requestedAt,
      ],
    );
  }

  async endRecording(archiveId: string, seq: number, end: RecordingEnd): Promise<void> {
    await this.#sql.run(
      `UPDATE archive_recordings SET file = ?, started_at = ?, duration_ms = ?, failure = ?, ended = TRUE
       WHERE archive_id = ? AND seq = ?`,
      [end.file, end.startedAt, end.durationMs, end.failure, archiveId, seq],
    );
  }

  /**
   * Puts a failed archive back to `stopped`, for its output to be made again; one statement, so
   * that another process on the same store sees either state, never half of one. Returns
   * whether the archive was failed.
   */
  async retry(archiveId: string, now: number): Promise<boolean> {
    const changes = await this.#sql.run(
      "UPDATE archives SET status = 'stopped', updated_at = ? WHERE archive_id = ? AND status = 'failed'",
      [now, archiveId],
    );
    return changes === 1;
  }

  /**
   * Fails every archive a lost cluster node left recording or being finished, in one statement
   * (each fails once, whoever else tries at the same time); one still recording is taken to
   * have lasted until `lostAt`. Returns the archives it failed.
   */
  async failUnfinishedOf(
    nodeId: string,
    reason: string,
    lostAt: number,
    now: number,
  ): Promise<ArchiveRecord[]> {
    const rows = await this.#sql.all<ArchiveRow>(
      `UPDATE archives SET status = 'failed', reason = ?, updated_at = ?,
         duration_ms = CASE WHEN status = 'started' AND ? > created_at THEN ? - created_at ELSE duration_ms END
       WHERE node_id = ? AND status IN ('started', 'stopped') RETURNING *`,
      [reason, now, lostAt, lostAt, nodeId],
    );
    return rows.map(toArchive);
  }

  /** Failed archives, oldest first: those of the node, or every one when `nodeId` is null. */
  async failed(nodeId: string | null = null): Promise<ArchiveRecord[]> {
    const rows = await this.#sql.all<ArchiveRow>(
      `SELECT * FROM archives WHERE status = 'failed'${ofNode(nodeId)} ORDER BY created_at, rowid`,
      nodeId === null ? [] : [nodeId],
    );
    return rows.map(toArchive);
  }

  async recordingsOf(archiveId: string): Promise<RecordingRecord[]> {
    const rows = await this.#sql.all<RecordingRow>(
      'SELECT * FROM archive_recordings WHERE archive_id = ? ORDER BY seq',
      [archiveId],
    );
    return rows.map(toRecording);
  }
}

/** The condition on `node_id` of a node's archives: none for a node on its own. */
function ofNode(nodeId: string | null): string {
  return nodeId === null ? '' : ' AND node_id = ?';
}

function toArchive(row: ArchiveRow): ArchiveRecord {
  // The table's CHECK constraints hold the text columns to their unions.
  return {
    archiveId: row.archive_id,
    apiKey: row.api_key,
    sessionId: row.session_id,
    name: row.name,
    status: row.status as StoredArchiveStatus,
    reason: row.reason,
    outputMode: row.output_mode as ArchiveOutputMode,
    hasAudio: flag(row.has_audio),
    hasVideo: flag(row.has_video),
    resolution: row.resolution as ArchiveResolution | null,
    streamMode: row.stream_mode as ArchiveStreamMode,
    multiArchiveTag: row.multi_archive_tag,
    layouts: JSON.parse(row.layouts) as LayoutChange[],
    maxBitrate: row.max_bitrate,
    quantizationParameter: row.quantization_parameter,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    durationMs: row.duration_ms,
    size: row.size,
    outputKey: row.output_key,
    nodeId: row.node_id,
  };
}

function toRecording(row: RecordingRow): RecordingRecord {
  return {
    archiveId: row.archive_id,
    seq: row.seq,
    streamId: row.stream_id,
    connectionId: row.connection_id,
    connectionData: row.connection_data,
    videoType: row.video_type as VideoType | null,
    hasAudio: flag(row.has_audio),
    hasVideo: flag(row.has_video),
    basePath: row.base_path,
    requestedAt: row.requested_at,
    file: row.file,
    startedAt: row.started_at,
    durationMs: row.duration_ms,
    ended: flag(row.ended),
    failure: row.failure,
  };
}
