import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { ParlorError, archiveStopReasons, type ArchiveInfo, type ArchiveLayout } from '@parlor/protocol';
import type { ArchiveRecord, RecordingRecord } from '../store/ArchiveRepository.js';
import type { SessionRecord } from '../store/SessionRepository.js';
import type { Repositories, Store } from '../store/Store.js';
import type { Webhook, WebhookSender } from '../webhooks/WebhookSender.js';
import { ActiveArchive } from './ActiveArchive.js';
import type { ArchiveMedia, LiveStream, RecoverRecording } from './ArchiveMedia.js';
import { archiveJson, type ArchiveJson } from './archiveJson.js';
import type { ArchiveSettings, StreamChange } from './archiveRequests.js';
import type { ArchiveStorage, ByteRange } from './ArchiveStorage.js';
import type { CompositionInput, CompositionSpec } from './composition/compositionPlan.js';
import { compositionTimeLimitMs, type CompositionBound } from './composition/compositionBound.js';
import { composeArchive, ffprobeBeside, probeMedia } from './composition/ffmpeg.js';
import type { DownloadLinks } from './DownloadLinks.js';
import { writeIndividualZip, type IndividualFile } from './individualZip.js';

export interface ArchiveServiceOptions {
  readonly store: Store;
  readonly media: ArchiveMedia;
  /** Where finished archives are kept. */
  readonly storage: ArchiveStorage;
  /** Folder of the recordings and of the outputs being made, one subfolder per archive. */
  readonly workDir: string;
  readonly links: DownloadLinks;
  readonly webhooks: WebhookSender;
  /** Completes a recording cut short by a crash (the recorder's). */
  readonly recover: RecoverRecording;
  /** The ffmpeg that composes; ffprobe is looked for beside it. */
  readonly ffmpegPath: string;
  /**
   * Why this server cannot make archives (ffmpeg or ffprobe does not run), or null: then every
   * start is refused with ARCHIVING_UNAVAILABLE. Default: null.
   */
  readonly unavailable?: string | null;
  /**
   * How often the store is searched for archives left unfinished that this server is not
   * finishing (a store write failed, or `parlor archive retry` asked for one), in ms.
   * Default: 5000.
   */
  readonly rescanIntervalMs?: number;
  /** Longest an archive records, in ms. */
  readonly maxDurationMs: number;
  /** How long composition may take before ffmpeg is killed and the archive fails. Default: see `CompositionBound`. */
  readonly compositionBound?: CompositionBound;
  /**
   * The cluster node this server is, which records the archives it starts and keeps their
   * files; it finishes only its own. Default: null, a node on its own (every archive is its own).
   */
  readonly nodeId?: string | null;
  /** How long an archive goes on in a session nobody is connected to, in ms. */
  readonly idleTimeoutMs: number;
  readonly logger: Logger;
}

/** The group and event of the callback URL archive status changes are POSTed to. */
export const archiveCallback = { group: 'archive', event: 'status' } as const;

/**
 * Archives and their lifecycle: `started` while recording (from `start`, or by itself in a
 * session archived always when a stream is published), `stopped` on request, at the maximum
 * duration, or when the session has had nobody in it for the idle timeout; then `available` once
 * its output is stored (a composed MP4 or an individual ZIP), or `failed`; `deleted` on request.
 * Every change is persisted first, with its callback to the project's URL in the same transaction
 * (an archive is never seen in a status whose callback a crash could lose), then told to the
 * session's clients. At start-up, archives a crash left unfinished are completed from what reached
 * the disk, and failed ones whose recordings were kept are made again; while running, the store
 * is searched for unfinished archives nobody is finishing (a store write failed, or `parlor
 * archive retry` put one back to `stopped`). An archive is `available` only with every stream
 * that was recorded in it; otherwise `failed`, its recordings kept.
 */
export class ArchiveService {
  readonly #store: Store;
  readonly #media: ArchiveMedia;
  readonly #storage: ArchiveStorage;
  readonly #workDir: string;
  readonly #links: DownloadLinks;
  readonly #webhooks: WebhookSender;
  readonly #recover: RecoverRecording;
  readonly #ffmpegPath: string;
  readonly #maxDurationMs: number;
  readonly #compositionBound: CompositionBound;
  readonly #idleTimeoutMs: number;
  readonly #logger: Logger;
  readonly #unavailable: string | null;
  readonly #nodeId: string | null;
  readonly #active = new Map<string, ActiveArchive>();
  /** Archives (by ID) whose output this server is making, from their stop to their end. */
  readonly #producing = new Set<string>();
  /** Archives being started, by session and tag, until their record is stored and they record. */
  readonly #starting = new Set<string>();
  #rescanTimer: NodeJS.Timeout | undefined;
  /** Outputs being made; shutdown waits for their recordings and abandons their encoding. */
  readonly #finishing = new Set<Promise<void>>();
  readonly #closing = new AbortController();
  /** Settles when the archives left unfinished by the last run are completed. */
  readonly recovered: Promise<void>;

  constructor(options: ArchiveServiceOptions) {
    this.#store = options.store;
    this.#media = options.media;
    this.#storage = options.storage;
    this.#workDir = options.workDir;
    this.#links = options.links;
    this.#webhooks = options.webhooks;
    this.#recover = options.recover;
    this.#ffmpegPath = options.ffmpegPath;
    this.#maxDurationMs = options.maxDurationMs;
    this.#compositionBound = options.compositionBound ?? {};
    this.#idleTimeoutMs = options.idleTimeoutMs;
    this.#logger = options.logger.child({ component: 'archives' });
    this.#unavailable = options.unavailable ?? null;
    this.#nodeId = options.nodeId ?? null;
    mkdirSync(this.#workDir, { recursive: true });
    const { observer } = this.#media;
    observer.on('streamCreated', (sessionId, stream) => {
      this.#onStreamCreated(sessionId, stream);
    });
    observer.on('streamDestroyed', (sessionId, streamId) => {
      for (const active of this.#activeIn(sessionId)) active.endRecording(streamId);
    });
    observer.on('sessionEmpty', (sessionId) => {
      for (const active of this.#activeIn(sessionId)) {
        active.idle(this.#idleTimeoutMs, () => {
          void this.#stop(active, archiveStopReasons.sessionEnded);
        });
      }
    });
    observer.on('sessionLive', (sessionId) => {
      for (const active of this.#activeIn(sessionId)) active.active();
    });
    this.recovered = this.#recoverAtStart();
    const rescanIntervalMs = options.rescanIntervalMs ?? 5000;
    void this.recovered.then(() => {
      if (this.#closing.signal.aborted) return;
      this.#rescanTimer = setInterval(() => {
        void this.#finishOrphans();
      }, rescanIntervalMs);
      this.#rescanTimer.unref();
    });
  }

  /** Starts archiving a live routed session (`POST /archive`). */
  async start(apiKey: string, settings: ArchiveSettings): Promise<ArchiveJson> {
    const session = await this.#store.sessions.find(settings.sessionId);
    if (!session || session.apiKey !== apiKey) throw new ParlorError('SESSION_NOT_FOUND', settings.sessionId);
    if (session.mediaMode !== 'routed') throw new ParlorError('ARCHIVE_SESSION_NOT_ROUTED');
    if (session.e2ee) throw new ParlorError('ARCHIVE_SESSION_E2EE');
    if (this.#unavailable !== null) throw new ParlorError('ARCHIVING_UNAVAILABLE', this.#unavailable);
    if (!this.#media.session(session.sessionId)) {
      throw new ParlorError('SESSION_NOT_FOUND', 'no clients are connected to the session');
    }
    const tag = settings.multiArchiveTag;
    if (this.#recordingTag(session.sessionId, tag)) {
      throw new ParlorError(
        'ARCHIVE_IN_PROGRESS',
        tag === null
          ? 'the session is already being archived; give each simultaneous archive its own multiArchiveTag'
          : `the session is already being archived with the multiArchiveTag ${JSON.stringify(tag)}`,
      );
    }
    return this.#json((await this.#begin(session, settings, false)).archive);
  }

  /**
   * Stops recording an archive (`POST /archive/{id}/stop`); its output is made after. An archive
   * the store says is `started` but that records no more here (a store write failed as it
   * ended, or the server that recorded it stopped) is stopped as well: `stopped` is stored
   * again, and its output made if no one is making it.
   */
  async stop(apiKey: string, archiveId: string): Promise<ArchiveJson> {
    const archive = await this.#find(apiKey, archiveId);
    const active = this.#active.get(archive.archiveId);
    if (active) return this.#json(await this.#stop(active, archiveStopReasons.userInitiated));
    if (archive.status !== 'started')
      throw new ParlorError('ARCHIVE_NOT_RECORDING', `its status is ${archive.status}`);
    const stopped = await this.#transition(archive, {
      status: 'stopped',
      reason: archiveStopReasons.userInitiated,
      durationMs: recordedMs(archive, await this.#store.archives.recordingsOf(archive.archiveId)),
    });
    if (!this.#producing.has(archive.archiveId)) this.#finish(this.#finishStored(stopped));
    return this.#json(stopped);
  }

  async get(apiKey: string, archiveId: string): Promise<ArchiveJson> {
    return this.#json(await this.#find(apiKey, archiveId));
  }

  async list(
    apiKey: string,
    page: { offset: number; count: number; sessionId?: string },
  ): Promise<{ count: number; items: ArchiveJson[] }> {
    const { count, items } = await this.#store.archives.list(apiKey, page);
    return { count, items: items.map((archive) => this.#json(archive)) };
  }

  /** Deletes an available archive and its file (`DELETE /archive/{id}`). */
  async delete(apiKey: string, archiveId: string): Promise<void> {
    const archive = await this.checkDeletable(apiKey, archiveId);
    await this.#transition(archive, { status: 'deleted', outputKey: null });
    await this.#storage.deletePrefix(archive.archiveId);
  }

  /** The project's archive if it may be deleted (it is available); throws what `delete` would. */
  async checkDeletable(apiKey: string, archiveId: string): Promise<ArchiveRecord> {
    const archive = await this.#find(apiKey, archiveId);
    if (archive.status !== 'available')
      throw new ParlorError('ARCHIVE_NOT_DELETABLE', `its status is ${archive.status}`);
    return archive;
  }

  /** Adds a stream to, or removes one from, a recording archive in manual stream mode. */
  async changeStreams(apiKey: string, archiveId: string, change: StreamChange): Promise<void> {
    const archive = await this.#find(apiKey, archiveId);
    if (archive.streamMode !== 'manual') throw new ParlorError('ARCHIVE_NOT_MANUAL');
    const active = this.#active.get(archive.archiveId);
    if (!active) throw new ParlorError('ARCHIVE_NOT_RECORDING', `its status is ${archive.status}`);
    if (change.kind === 'remove') {
      if (!active.deselect(change.streamId))
        throw new ParlorError('ARCHIVE_STREAM_NOT_FOUND', change.streamId);
      return;
    }
    const stream = this.#media
      .session(archive.sessionId)
      ?.streams.find((s) => s.streamId === change.streamId);
    if (!stream) throw new ParlorError('ARCHIVE_STREAM_NOT_FOUND', change.streamId);
    active.select(stream, { hasAudio: change.hasAudio, hasVideo: change.hasVideo });
  }

  /**
   * An available archive's file for a signed download link, or the cluster node that keeps it
   * when that is another: DOWNLOAD_REFUSED when the link is not this server's or expired,
   * ARCHIVE_NOT_FOUND when the archive is no longer available.
   */
  async download(
    archiveId: string,
    file: string,
    expires: unknown,
    signature: unknown,
  ): Promise<{ size: number; read: (range?: ByteRange) => Readable } | { nodeId: string }> {
    this.#links.verify(archiveId, file, expires, signature);
    const key = `${archiveId}/${file}`;
    const archive = await this.#store.archives.find(archiveId);
    const holder = archive?.nodeId ?? null;
    if (
      archive?.status === 'available' &&
      archive.outputKey === key &&
      holder !== null &&
      holder !== this.#nodeId
    )
      return { nodeId: holder };
    const size =
      archive?.status === 'available' && archive.outputKey === key ? await this.#storage.size(key) : null;
    if (size === null) throw new ParlorError('ARCHIVE_NOT_FOUND', archiveId);
    return { size, read: (range) => this.#storage.read(key, range) };
  }

  /** The cluster node that records the archive and keeps its files; null when none or unknown. */
  async holderOf(archiveId: string): Promise<string | null> {
    return (await this.#store.archives.find(archiveId))?.nodeId ?? null;
  }

  /** Changes a recording composed archive's layout from now on (`PUT /archive/{id}/layout`). */
  async setLayout(apiKey: string, archiveId: string, layout: ArchiveLayout): Promise<void> {
    const archive = await this.#find(apiKey, archiveId);
    if (archive.outputMode !== 'composed') {
      throw new ParlorError('INVALID_REQUEST', 'only a composed archive has a layout');
    }
    const active = this.#active.get(archive.archiveId);
    if (!active) throw new ParlorError('ARCHIVE_NOT_RECORDING', `its status is ${archive.status}`);
    const atMs = Math.max(0, Date.now() - archive.createdAt);
    // The layouts in force are the active archive's: a change made meanwhile is kept.
    const current = active.archive;
    active.archive = await this.#transition(current, { layouts: [...current.layouts, { atMs, layout }] });
  }

  /**
   * Fails the archives a cluster node that vanished left recording or being finished (their
   * recordings are on its disk), each told to the callback URL once, by this node. Should the
   * node come back with its disk, it makes them again as any failed archive whose recordings
   * were kept.
   */
  async failLostNode(nodeId: string, lostAt: number): Promise<void> {
    const reason = `${archiveStopReasons.systemFailure}: the node recording it (${nodeId}) was lost`;
    const failed = await this.#webhooks.sendWithChange(async (tx) => {
      const archives = await tx.archives.failUnfinishedOf(nodeId, reason, lostAt, Date.now());
      const webhooks: Webhook[] = [];
      for (const archive of archives) webhooks.push(...(await this.#callbacksOf(tx, archive)));
      return { result: archives, webhooks };
    });
    for (const archive of failed)
      this.#logger.warn({ archiveId: archive.archiveId, node: nodeId }, 'archive failed: its node was lost');
  }

  /** The archives recording the session now, as its clients are told of them. */
  runningIn(sessionId: string): ArchiveInfo[] {
    return this.#activeIn(sessionId).map(({ archive }) => ({
      id: archive.archiveId,
      name: archive.name ?? '',
    }));
  }

  /**
   * Shuts down: every recording archive is stopped and its files completed, outputs being made
   * are abandoned. Both are completed at the next start.
   */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    clearInterval(this.#rescanTimer);
    const stopping = [...this.#active.values()].map((active) =>
      this.#stop(active, archiveStopReasons.sessionEnded),
    );
    await Promise.allSettled([...stopping, ...this.#finishing, this.recovered]);
  }

  /**
   * Stores a new archive and starts recording it. Until it records, its session and tag count
   * as taken, so that a second start for them meanwhile is refused (or, automatic, skipped).
   */
  async #begin(
    session: SessionRecord,
    settings: ArchiveSettings,
    automatic: boolean,
  ): Promise<ActiveArchive> {
    const now = Date.now();
    const archive: ArchiveRecord = {
      archiveId: randomUUID(),
      apiKey: session.apiKey,
      sessionId: session.sessionId,
      name: settings.name,
      status: 'started',
      reason: '',
      outputMode: settings.outputMode,
      hasAudio: settings.hasAudio,
      hasVideo: settings.hasVideo,
      resolution: settings.resolution,
      streamMode: settings.streamMode,
      multiArchiveTag: settings.multiArchiveTag,
      layouts: [{ atMs: 0, layout: settings.layout }],
      maxBitrate: settings.maxBitrate,
      quantizationParameter: settings.quantizationParameter,
      createdAt: now,
      updatedAt: now,
      durationMs: 0,
      size: 0,
      outputKey: null,
      nodeId: this.#nodeId,
    };
    const folder = join(this.#workDir, archive.archiveId);
    mkdirSync(folder, { recursive: true });
    const starting = `${session.sessionId}\n${settings.multiArchiveTag ?? ''}`;
    this.#starting.add(starting);
    try {
      await this.#webhooks.sendWithChange(async (tx) => {
        await tx.archives.insert(archive);
        return { result: undefined, webhooks: await this.#callbacksOf(tx, archive) };
      });
    } finally {
      this.#starting.delete(starting);
    }
    // Stored as started, its callback with it: the next start completes it from what reached the
    // disk (nothing).
    if (this.#closing.signal.aborted) throw new Error('the server is shutting down');
    const logger = this.#logger.child({ archiveId: archive.archiveId, sessionId: session.sessionId });
    const active = new ActiveArchive({
      archive,
      media: this.#media,
      repository: this.#store.archives,
      folder,
      automatic,
      onFailure: (_streamId, reason) => {
        // Recording goes no further: what reached the disk is made into the output, or the
        // archive fails saying why.
        if (this.#active.get(archive.archiveId) === active)
          void this.#stop(active, `${archiveStopReasons.systemFailure}: ${reason}`);
      },
      logger,
    });
    this.#active.set(archive.archiveId, active);
    logger.info(
      { outputMode: archive.outputMode, streamMode: archive.streamMode, automatic },
      'archive started',
    );
    active.after(this.#maxDurationMs, () => {
      void this.#stop(active, archiveStopReasons.maximumDuration).then(() => {
        // A session archived always goes on in a new archive (OpenTok does so every 4 hours).
        if (active.automatic && this.#media.session(session.sessionId)?.streams.length) {
          this.#startAutomatic(session);
        }
      });
    });
    const live = this.#media.session(session.sessionId);
    if (settings.streamMode === 'auto') {
      for (const stream of live?.streams ?? []) active.record(stream, { hasAudio: true, hasVideo: true });
    }
    this.#media.notify(session.sessionId, {
      event: 'archiveStarted',
      id: archive.archiveId,
      name: archive.name ?? '',
    });
    return active;
  }

  /** Whether an archive with this tag records the session, or is being started in it. */
  #recordingTag(sessionId: string, tag: string | null): boolean {
    return (
      this.#starting.has(`${sessionId}\n${tag ?? ''}`) ||
      this.#activeIn(sessionId).some((active) => active.archive.multiArchiveTag === tag)
    );
  }

  #onStreamCreated(sessionId: string, stream: LiveStream): void {
    const running = this.#activeIn(sessionId);
    for (const active of running) {
      if (active.archive.streamMode === 'auto') active.record(stream, { hasAudio: true, hasVideo: true });
      else {
        const selection = active.isSelected(stream.streamId);
        if (selection) active.record(stream, selection);
      }
    }
    if (this.#recordingTag(sessionId, null)) return;
    this.#store.sessions.find(sessionId).then(
      (session) => {
        if (session?.archiveMode === 'always' && session.mediaMode === 'routed')
          this.#startAutomatic(session);
      },
      (error: unknown) => {
        this.#logger.error({ err: error, sessionId }, 'the session could not be read to archive it');
      },
    );
  }

  /** The archive a session archived always records whenever someone publishes. */
  #startAutomatic(session: SessionRecord): void {
    // A server that cannot record said so once, at start.
    if (this.#closing.signal.aborted || this.#unavailable !== null) return;
    // Another publish may have started it while the session was read.
    if (this.#recordingTag(session.sessionId, null)) return;
    this.#begin(
      session,
      {
        sessionId: session.sessionId,
        name: session.archiveName,
        hasAudio: true,
        hasVideo: true,
        outputMode: 'composed',
        resolution: session.archiveResolution ?? '640x480',
        layout: { type: 'bestFit' },
        streamMode: 'auto',
        multiArchiveTag: null,
        maxBitrate: null,
        quantizationParameter: null,
      },
      true,
    ).catch((error: unknown) => {
      this.#logger.error(
        { err: error, sessionId: session.sessionId },
        'an automatic archive could not be started',
      );
    });
  }

  /**
   * Stops recording: `stopped` now, its output made after. Returns the stopped archive. The
   * archive ends even when the store cannot be written (a full disk): the store then still says
   * `started`, which a later stop or the rescan corrects.
   */
  #stop(active: ActiveArchive, reason: string): Promise<ArchiveRecord> {
    const { archive } = active;
    active.close();
    this.#active.delete(archive.archiveId);
    this.#producing.add(archive.archiveId);
    const changes = {
      status: 'stopped',
      reason,
      durationMs: Math.max(0, Date.now() - archive.createdAt),
    } as const;
    const stopped = this.#transition(archive, changes).then(
      (updated) => updated,
      (error: unknown) => {
        this.#logger.error(
          { err: error, archiveId: archive.archiveId },
          'the stopped archive could not be stored; it is finished as soon as the store can be written',
        );
        return { ...archive, ...changes, updatedAt: Date.now() };
      },
    );
    const ended = active.endAll();
    this.#finish(
      stopped
        .then(async (record) => {
          this.#media.notify(archive.sessionId, { event: 'archiveStopped', id: archive.archiveId });
          await ended;
          if (this.#closing.signal.aborted) return;
          await this.#produce(record);
        })
        .finally(() => this.#producing.delete(archive.archiveId)),
    );
    return stopped;
  }

  #finish(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => {
      this.#logger.error({ err: error }, 'an archive could not be finished');
    });
    this.#finishing.add(tracked);
    void tracked.finally(() => this.#finishing.delete(tracked));
  }

  /**
   * Makes the archive's output from its recordings and stores it: `available`, or `failed` with
   * the reason when a recorded stream cannot be in it (its recordings are then kept).
   */
  async #produce(archive: ArchiveRecord): Promise<void> {
    const folder = join(this.#workDir, archive.archiveId);
    const logger = this.#logger.child({ archiveId: archive.archiveId });
    let outputKey: string;
    let size: number;
    try {
      const recordings = await this.#completeRecordings(archive);
      const made =
        archive.outputMode === 'composed'
          ? await this.#compose(archive, recordings, folder)
          : await this.#zip(archive, recordings, folder);
      outputKey = `${archive.archiveId}/${made.name}`;
      size = await this.#storage.put(outputKey, made.path);
    } catch (error) {
      if (this.#closing.signal.aborted) return;
      logger.error({ err: error }, 'archive output failed');
      await this.#transition(archive, {
        status: 'failed',
        reason: `${archiveStopReasons.systemFailure}: ${(error as Error).message}`,
      });
      return;
    }
    await this.#transition(archive, { status: 'available', outputKey, size });
    await rm(folder, { recursive: true, force: true });
  }

  async #compose(
    archive: ArchiveRecord,
    recordings: readonly (RecordingRecord & { file: string })[],
    folder: string,
  ): Promise<{ path: string; name: string }> {
    const ffprobe = ffprobeBeside(this.#ffmpegPath);
    const inputs: CompositionInput[] = [];
    for (const recording of recordings) {
      // A recording that cannot be read fails the archive: never an archive without a stream.
      const probed = await probeMedia(ffprobe, recording.file).catch((error: unknown) => {
        throw new Error(
          `the recording of stream ${recording.streamId} cannot be read: ${(error as Error).message}`,
        );
      });
      if (!probed.hasAudio && !probed.hasVideo)
        throw new Error(`the recording of stream ${recording.streamId} has no audio or video`);
      inputs.push({
        file: recording.file,
        videoType: recording.videoType,
        offsetMs: Math.max(0, (recording.startedAt ?? recording.requestedAt) - archive.createdAt),
        durationMs: recording.durationMs ?? probed.durationMs,
        hasVideo: probed.hasVideo && archive.hasVideo,
        hasAudio: probed.hasAudio && archive.hasAudio,
      });
    }
    const [width, height] = (archive.resolution ?? '640x480').split('x').map(Number) as [number, number];
    const path = join(folder, 'archive.mp4');
    const spec: CompositionSpec = {
      inputs,
      layouts: archive.layouts,
      durationMs: archive.durationMs,
      width,
      height,
      hasVideo: archive.hasVideo,
      hasAudio: archive.hasAudio,
      maxBitrate: archive.maxBitrate,
      quantizationParameter: archive.quantizationParameter,
      output: path,
    };
    await this.#runComposition(spec);
    // ffmpeg may end well although its output is not whole (a full disk while it moves the
    // index to the front): never an archive that does not play.
    const made = await probeMedia(ffprobe, path).catch((error: unknown) => {
      throw new Error(`the composed archive cannot be read: ${(error as Error).message}`);
    });
    if (made.durationMs <= 0) throw new Error('the composed archive has no length');
    return { path, name: 'archive.mp4' };
  }

  /**
   * Runs ffmpeg on the composition, killed at shutdown or when it outlasts its bound (an ffmpeg
   * that never ends would leave the archive `stopped` for good).
   */
  async #runComposition(spec: CompositionSpec): Promise<void> {
    const limitMs = compositionTimeLimitMs(spec.durationMs, this.#compositionBound);
    const overdue = new AbortController();
    const timer = setTimeout(() => {
      overdue.abort();
    }, limitMs);
    try {
      await composeArchive(this.#ffmpegPath, spec, AbortSignal.any([this.#closing.signal, overdue.signal]));
    } catch (error) {
      if (!overdue.signal.aborted) throw error;
      const seconds = (ms: number): string => (ms / 1000).toFixed(1);
      throw new Error(
        `composition took longer than ${seconds(limitMs)} s, its bound for an archive of ${seconds(spec.durationMs)} s: ffmpeg was killed`,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async #zip(
    archive: ArchiveRecord,
    recordings: readonly (RecordingRecord & { file: string })[],
    folder: string,
  ): Promise<{ path: string; name: string }> {
    const names = new Set<string>();
    const files: IndividualFile[] = recordings.map((recording) => {
      const extension = extname(recording.file);
      let filename = `${recording.streamId}${extension}`;
      for (let n = 2; names.has(filename); n++) filename = `${recording.streamId}-${n}${extension}`;
      names.add(filename);
      const startTimeOffset = Math.max(0, (recording.startedAt ?? recording.requestedAt) - archive.createdAt);
      return {
        path: recording.file,
        filename,
        streamId: recording.streamId,
        connectionData: recording.connectionData,
        videoType: recording.videoType,
        startTimeOffset,
        stopTimeOffset: startTimeOffset + (recording.durationMs ?? 0),
      };
    });
    const path = join(folder, 'archive.zip');
    await writeIndividualZip(path, archive, files);
    return { path, name: 'archive.zip' };
  }

  /**
   * At start-up: completes the archives a crash (or a shutdown) left recording or being finished,
   * then makes again the failed ones whose recordings were kept (ffmpeg was missing, the disk
   * was full…).
   */
  async #recoverAtStart(): Promise<void> {
    for (const { archiveId } of await this.#store.archives.unfinished(this.#nodeId)) {
      if (this.#closing.signal.aborted) return;
      // Read again: a stop request may have finished it meanwhile.
      const archive = await this.#store.archives.find(archiveId);
      if (this.#producing.has(archiveId) || (archive?.status !== 'started' && archive?.status !== 'stopped'))
        continue;
      await this.#finishStored(archive);
    }
    for (const { archiveId } of await this.#store.archives.failed(this.#nodeId)) {
      if (this.#closing.signal.aborted) return;
      const archive = await this.#store.archives.find(archiveId);
      if (archive?.status !== 'failed' || !existsSync(join(this.#workDir, archiveId))) continue;
      this.#logger.info(
        { archiveId: archive.archiveId, reason: archive.reason },
        'retrying a failed archive',
      );
      await this.#guarded(archive.archiveId, () => this.#produce(archive));
    }
  }

  /** Finishes the unfinished archives of the store that nobody here records or finishes. */
  async #finishOrphans(): Promise<void> {
    let unfinished: ArchiveRecord[];
    try {
      unfinished = await this.#store.archives.unfinished(this.#nodeId);
    } catch (error) {
      this.#logger.error({ err: error }, 'unfinished archives could not be read');
      return;
    }
    for (const archive of unfinished) {
      if (this.#active.has(archive.archiveId) || this.#producing.has(archive.archiveId)) continue;
      this.#finish(this.#finishStored(archive));
    }
  }

  /** Completes a stored archive from its recordings on disk: one still `started` is stopped first. */
  #finishStored(archive: ArchiveRecord): Promise<void> {
    return this.#guarded(archive.archiveId, async () => {
      let stopped = archive;
      if (archive.status === 'started') {
        this.#logger.warn(
          { archiveId: archive.archiveId },
          'an archive was left recording (the server stopped, or the store could not be written): completing it from what reached the disk',
        );
        const recordings = await this.#completeRecordings(archive).catch(() =>
          this.#store.archives.recordingsOf(archive.archiveId),
        );
        stopped = await this.#transition(archive, {
          status: 'stopped',
          reason: archiveStopReasons.systemFailure,
          durationMs: recordedMs(archive, recordings),
        });
      }
      await this.#produce(stopped);
    });
  }

  /** Runs `work` on the archive with it marked as being finished here. */
  async #guarded(archiveId: string, work: () => Promise<void>): Promise<void> {
    this.#producing.add(archiveId);
    try {
      await work();
    } finally {
      this.#producing.delete(archiveId);
    }
  }

  /**
   * The archive's recordings with media, each file complete: those a crash or a write failure
   * left unended are completed from what reached the disk. Throws, naming the stream, when a
   * recorded stream cannot be in the output: its file is missing or cannot be completed, or its
   * recorder refused it.
   */
  async #completeRecordings(archive: ArchiveRecord): Promise<(RecordingRecord & { file: string })[]> {
    const complete: (RecordingRecord & { file: string })[] = [];
    for (let recording of await this.#store.archives.recordingsOf(archive.archiveId)) {
      const { streamId } = recording;
      if (!recording.ended || (recording.file === null && recording.failure !== null)) {
        const path = ['.webm', '.mkv'].map((ext) => recording.basePath + ext).find((p) => existsSync(p));
        const recovered =
          path === undefined
            ? null
            : await this.#recover(path).catch((error: unknown) => {
                throw new Error(
                  `the recording of stream ${streamId} could not be completed: ${(error as Error).message}`,
                );
              });
        if (!recovered && recording.failure !== null)
          throw new Error(`no media of stream ${streamId} reached the disk: ${recording.failure}`);
        const end = {
          file: recovered?.path ?? null,
          startedAt: recovered ? (recovered.startedAt ?? recording.requestedAt) : null,
          durationMs: recovered?.durationMs ?? null,
          failure: null,
        };
        await this.#store.archives.endRecording(archive.archiveId, recording.seq, end);
        recording = { ...recording, ...end, ended: true };
      }
      if (recording.file === null) continue;
      if (!existsSync(recording.file))
        throw new Error(`the recording of stream ${streamId} is missing: ${recording.file}`);
      complete.push({ ...recording, file: recording.file });
    }
    return complete;
  }

  /**
   * The one place an archive's state changes: persisted (a new status with its callback to the
   * callback URL, in one transaction), logged.
   */
  async #transition(
    archive: ArchiveRecord,
    changes: Partial<
      Pick<ArchiveRecord, 'status' | 'reason' | 'layouts' | 'durationMs' | 'size' | 'outputKey'>
    >,
  ): Promise<ArchiveRecord> {
    const updated: ArchiveRecord = { ...archive, ...changes, updatedAt: Date.now() };
    if (updated.status === archive.status) {
      await this.#store.archives.update(updated);
      return updated;
    }
    await this.#webhooks.sendWithChange(async (tx) => {
      await tx.archives.update(updated);
      return { result: undefined, webhooks: await this.#callbacksOf(tx, updated) };
    });
    this.#logger.info(
      { archiveId: archive.archiveId, reason: updated.reason || undefined },
      `archive ${archive.status} -> ${updated.status}`,
    );
    return updated;
  }

  /** The callback telling of the archive as it is now, when its project has a callback URL. */
  async #callbacksOf(tx: Repositories, archive: ArchiveRecord): Promise<Webhook[]> {
    const callback = await tx.callbacks.find(archive.apiKey, archiveCallback.group, archiveCallback.event);
    if (!callback) return [];
    return [
      { url: callback.url, body: this.#json(archive), apiKey: archive.apiKey, queue: archive.sessionId },
    ];
  }

  #json(archive: ArchiveRecord): ArchiveJson {
    const active = this.#active.get(archive.archiveId);
    const streams = active && archive.streamMode === 'manual' ? active.selectedStreams : [];
    const file = archive.outputKey?.split('/').pop();
    const url = archive.status === 'available' && file ? this.#links.urlFor(archive.archiveId, file) : null;
    return archiveJson(archive, streams, url);
  }

  async #find(apiKey: string, archiveId: string): Promise<ArchiveRecord> {
    const archive = await this.#store.archives.find(archiveId);
    if (!archive || archive.apiKey !== apiKey) throw new ParlorError('ARCHIVE_NOT_FOUND', archiveId);
    return archive;
  }

  #activeIn(sessionId: string): ActiveArchive[] {
    return [...this.#active.values()].filter((active) => active.archive.sessionId === sessionId);
  }
}

/** How long the archive's recordings with media last, from its start, in ms. */
function recordedMs(archive: ArchiveRecord, recordings: readonly RecordingRecord[]): number {
  let endMs = 0;
  for (const { file, startedAt, durationMs } of recordings) {
    if (file !== null && startedAt !== null)
      endMs = Math.max(endMs, startedAt - archive.createdAt + (durationMs ?? 0));
  }
  return endMs;
}
