import type { ArchiveInfo, MediaMode, VideoType } from '@parlor/protocol';
import type { TypedEmitter } from '../TypedEmitter.js';

/**
 * What archiving needs from live sessions, and all it knows of them: which sessions have clients
 * and streams, a recorder per stream, and a way to tell clients. Implemented over the signaling
 * rooms and the Media Router; archiving never sees a room, a router or a packet.
 */
export interface ArchiveMedia {
  readonly observer: TypedEmitter<ArchiveMediaEvents>;
  /** The session while at least one client is connected to it; undefined otherwise. */
  session(sessionId: string): LiveSession | undefined;
  /**
   * Starts recording one live stream of a routed session into one file. Resolves once the
   * recorder is attached (media may come later); rejects when the stream is not live.
   */
  record(sessionId: string, streamId: string, options: RecordOptions): Promise<StreamRecording>;
  /** Tells every client connected to the session (OpenTok.js's `archiveStarted` / `archiveStopped`). */
  notify(sessionId: string, notice: ArchiveNotice): void;
}

export interface ArchiveMediaEvents {
  /** The session's first client connected. */
  sessionLive: [sessionId: string];
  /** The session's last client left. */
  sessionEmpty: [sessionId: string];
  streamCreated: [sessionId: string, stream: LiveStream];
  /** The stream ended; a recording of it stops by itself, and `stop()` gives what it wrote. */
  streamDestroyed: [sessionId: string, streamId: string];
}

/** A session with clients connected, as archiving sees it. */
export interface LiveSession {
  readonly sessionId: string;
  readonly mediaMode: MediaMode;
  /** Its streams now, oldest first. */
  readonly streams: readonly LiveStream[];
}

/** A stream published in a live session. */
export interface LiveStream {
  readonly streamId: string;
  readonly connectionId: string;
  /** The publisher's token connection data, "" when none. */
  readonly connectionData: string;
  readonly name: string;
  /** Undefined when the publisher named none (a camera, or an audio-only stream). */
  readonly videoType: VideoType | undefined;
  readonly hasAudio: boolean;
  readonly hasVideo: boolean;
  /** Unix milliseconds. */
  readonly creationTime: number;
}

export interface RecordOptions {
  /**
   * The file's path without its extension: the recorder writes `basePath.webm` (VP8 or VP9 and
   * Opus) or `basePath.mkv` (H.264), streaming it to disk. Its folder exists.
   */
  readonly basePath: string;
  /** Whether to record the stream's audio (when it has any). */
  readonly hasAudio: boolean;
  /** Whether to record the stream's video (when it has any). */
  readonly hasVideo: boolean;
  /**
   * Called at most once if writing the file fails (disk full…): the recorder records nothing
   * more, and `stop()` rejects with the error; what reached the disk can be completed.
   */
  readonly onWriteFailure: (error: Error) => void;
}

/** A recording under way. */
export interface StreamRecording {
  /**
   * Stops recording and completes the file. Idempotent; after the stream ended, resolves with
   * what was recorded until then. Rejects only when the file could not be written (then what
   * reached the disk is at `basePath` plus `.webm` or `.mkv`, to complete like a crash's).
   */
  stop(): Promise<RecordedFile>;
}

/** A finished recording. */
export interface RecordedFile {
  /** Absolute path: `basePath` plus `.webm` or `.mkv`. */
  readonly path: string;
  /** Unix milliseconds of the file's time zero (its first media); null when no media came. */
  readonly startedAt: number | null;
  readonly durationMs: number;
}

/** What a client is told when an archive starts or stops recording its session. */
export type ArchiveNotice =
  | ({ readonly event: 'archiveStarted' } & ArchiveInfo)
  | { readonly event: 'archiveStopped'; readonly id: string };

/**
 * Completes the file of a recording cut short by a crash from what reached the disk (the
 * recorder's `recoverRecording`); null when nothing usable did.
 */
export type RecoverRecording = (path: string) => Promise<RecordedFile | null>;
