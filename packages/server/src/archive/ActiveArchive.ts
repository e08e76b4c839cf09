import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ArchiveRecord, ArchiveRepository } from '../store/ArchiveRepository.js';
import type { ArchiveMedia, LiveStream, RecordedFile, StreamRecording } from './ArchiveMedia.js';

/** What a stream is recorded with. */
export interface StreamSelection {
  readonly hasAudio: boolean;
  readonly hasVideo: boolean;
}

/** One recording of one stream, from the request to the recorder to its end. */
interface Recording {
  readonly seq: number;
  readonly streamId: string;
  readonly selection: StreamSelection;
  /** The recorder, or null when it could not start. */
  readonly started: Promise<StreamRecording | null>;
  /** Settles when the recording's row is stored: its end is written after, to a row that exists. */
  readonly stored: Promise<boolean>;
  /** Why the recording has no complete file (its recorder refused a live stream, a write failed). */
  failure: string | null;
  ended: Promise<void> | null;
}

export interface ActiveArchiveOptions {
  readonly archive: ArchiveRecord;
  readonly media: ArchiveMedia;
  readonly repository: ArchiveRepository;
  /** The folder of this archive's recordings (it exists). */
  readonly folder: string;
  /** Whether the server started it by itself (a session archived always). */
  readonly automatic: boolean;
  /** A recording failed (a write failed, or its recorder refused a live stream): the archive ends. */
  readonly onFailure: (streamId: string, reason: string) => void;
  readonly logger: Logger;
}

/**
 * An archive while it records: a recorder per stream it records, each recording persisted when
 * it is asked for and when it ends, so that a crash loses nothing that reached the disk. A
 * recording that fails keeps its failure, for the output to be made from what reached the disk
 * or refused. It also holds the archive's timers; `close()` clears them.
 */
export class ActiveArchive {
  readonly automatic: boolean;
  readonly #media: ArchiveMedia;
  readonly #repository: ArchiveRepository;
  readonly #folder: string;
  readonly #logger: Logger;
  readonly #onFailure: (streamId: string, reason: string) => void;
  #archive: ArchiveRecord;
  /** Recordings under way, by stream. */
  readonly #recordings = new Map<string, Recording>();
  /** Every recording ever ended or ending, to wait for. */
  readonly #endings: Promise<void>[] = [];
  /** Streams added by `PATCH …/streams` (manual stream mode), recorded while they are live. */
  readonly #selected = new Map<string, StreamSelection>();
  #nextSeq = 1;
  readonly #timers = new Set<NodeJS.Timeout>();
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(options: ActiveArchiveOptions) {
    this.#archive = options.archive;
    this.automatic = options.automatic;
    this.#media = options.media;
    this.#repository = options.repository;
    this.#folder = options.folder;
    this.#logger = options.logger;
    this.#onFailure = options.onFailure;
  }

  get archive(): ArchiveRecord {
    return this.#archive;
  }

  set archive(archive: ArchiveRecord) {
    this.#archive = archive;
  }

  /** The streams a manual archive records, as OpenTok lists them. */
  get selectedStreams(): { streamId: string; hasAudio: boolean; hasVideo: boolean }[] {
    return [...this.#selected].map(([streamId, selection]) => ({ streamId, ...selection }));
  }

  isSelected(streamId: string): StreamSelection | undefined {
    return this.#selected.get(streamId);
  }

  /** Manual mode: records the stream with this selection from now on (again, if it changed). */
  select(stream: LiveStream, selection: StreamSelection): void {
    const current = this.#selected.get(stream.streamId);
    if (current?.hasAudio === selection.hasAudio && current.hasVideo === selection.hasVideo) return;
    this.#selected.set(stream.streamId, selection);
    this.endRecording(stream.streamId);
    this.record(stream, selection);
  }

  /** Manual mode: stops recording the stream. Returns whether it was selected. */
  deselect(streamId: string): boolean {
    if (!this.#selected.delete(streamId)) return false;
    this.endRecording(streamId);
    return true;
  }

  /** Starts recording a live stream into a new file, unless it is being recorded. */
  record(stream: LiveStream, selection: StreamSelection): void {
    if (this.#recordings.has(stream.streamId)) return;
    const { archiveId, sessionId } = this.#archive;
    const seq = this.#nextSeq++;
    const basePath = join(this.#folder, `${seq}-${stream.streamId.replace(/[^\w-]/g, '_')}`);
    const fail = (reason: string): void => {
      if (recording.failure !== null) return;
      recording.failure = reason;
      this.#logger.error({ streamId: stream.streamId, seq, reason }, 'a recording failed');
      this.#onFailure(stream.streamId, reason);
    };
    const options = {
      basePath,
      hasAudio: this.#archive.hasAudio && selection.hasAudio,
      hasVideo: this.#archive.hasVideo && selection.hasVideo,
      onWriteFailure: (error: Error) => {
        fail(`writing the recording of stream ${stream.streamId} failed: ${error.message}`);
      },
    };
    const stored = this.#repository.insertRecording({
      archiveId,
      seq,
      streamId: stream.streamId,
      connectionId: stream.connectionId,
      connectionData: stream.connectionData,
      videoType: stream.videoType ?? null,
      hasAudio: options.hasAudio,
      hasVideo: options.hasVideo,
      basePath,
      requestedAt: Date.now(),
      file: null,
      startedAt: null,
      durationMs: null,
      ended: false,
      failure: null,
    });
    const started = this.#media.record(sessionId, stream.streamId, options).catch((error: unknown) => {
      // A stream that ended before its media reached the router has nothing to record.
      const live = this.#media.session(sessionId)?.streams.some((s) => s.streamId === stream.streamId);
      if (live) fail(`stream ${stream.streamId} could not be recorded: ${(error as Error).message}`);
      else this.#logger.debug({ streamId: stream.streamId }, 'the stream ended before it was recorded');
      return null;
    });
    const recording: Recording = {
      seq,
      streamId: stream.streamId,
      selection,
      started,
      stored: stored.then(
        () => true,
        (error: unknown) => {
          fail(`the recording of stream ${stream.streamId} could not be stored: ${(error as Error).message}`);
          return false;
        },
      ),
      failure: null,
      ended: null,
    };
    this.#recordings.set(stream.streamId, recording);
    this.#logger.info({ streamId: stream.streamId, seq }, 'recording a stream');
  }

  /** The stream ended or left the archive: its recording ends and its file is kept. */
  endRecording(streamId: string): void {
    const recording = this.#recordings.get(streamId);
    if (!recording) return;
    this.#recordings.delete(streamId);
    recording.ended = this.#end(recording);
    this.#endings.push(recording.ended);
  }

  /** Ends every recording; resolves when each file is complete and its end persisted (or not: see `#end`). */
  async endAll(): Promise<void> {
    for (const streamId of [...this.#recordings.keys()]) this.endRecording(streamId);
    await Promise.all(this.#endings);
  }

  /** Runs `fn` after `ms` unless the archive is closed first. */
  after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  /** Starts the countdown of an archive whose session nobody is connected to. */
  idle(ms: number, fn: () => void): void {
    if (this.#idleTimer !== undefined) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      fn();
    }, ms);
  }

  /** Someone connected again: the countdown stops. */
  active(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /** Clears the timers; recordings are ended by `endAll`. */
  close(): void {
    this.active();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  /**
   * Stops the recorder and persists how the recording ended. Never rejects: when the store cannot
   * be written the recording stays unended there, and is completed from the disk later.
   */
  async #end(recording: Recording): Promise<void> {
    const { archiveId } = this.#archive;
    const recorder = await recording.started;
    let file: RecordedFile | null = null;
    if (recorder) {
      try {
        file = await recorder.stop();
      } catch (error) {
        recording.failure ??= `the recording of stream ${recording.streamId} could not be completed: ${(error as Error).message}`;
      }
    }
    const end =
      file?.startedAt != null && recording.failure === null
        ? { file: file.path, startedAt: file.startedAt, durationMs: file.durationMs, failure: null }
        : { file: null, startedAt: null, durationMs: null, failure: recording.failure };
    if (!(await recording.stored)) return;
    try {
      await this.#repository.endRecording(archiveId, recording.seq, end);
    } catch (error) {
      this.#logger.error(
        { err: error, streamId: recording.streamId },
        'the end of a recording could not be stored; it is completed from the disk later',
      );
      return;
    }
    this.#logger.info(
      { streamId: recording.streamId, seq: recording.seq, file: end.file, failure: end.failure ?? undefined },
      'recording ended',
    );
  }
}
