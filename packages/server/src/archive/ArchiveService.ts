import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { ParlorError, archiveStopReasons, type ArchiveInfo, type ArchiveLayout } from '@parlor/protocol';
import type { ArchiveRecord, RecordingRecord } from '../store/ArchiveRepository.js';
import type { SessionRecord } from '../store/SessionRepository.js';
import type { Store } from '../store/Store.js';
import type { WebhookSender } from '../webhooks/WebhookSender.js';
import { ActiveArchive } from './ActiveArchive.js';
import type { ArchiveMedia, LiveStream, RecoverRecording } from './ArchiveMedia.js';
import { archiveJson, type ArchiveJson } from './archiveJson.js';
import type { ArchiveSettings, StreamChange } from './archiveRequests.js';
import type { ArchiveStorage, ByteRange } from './ArchiveStorage.js';
import type { CompositionInput, CompositionSpec } from './composition/compositionPlan.js';
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
  /** Longest an archive records, in ms. */
  readonly maxDurationMs: number;
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
 * Every change is persisted first, then told to the session's clients and the project's
 * callback URL. At start-up, archives a crash left unfinished are completed from what reached
 * the disk.
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
  readonly #idleTimeoutMs: number;
  readonly #logger: Logger;
  readonly #active = new Map<string, ActiveArchive>();
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
    this.#idleTimeoutMs = options.idleTimeoutMs;
    this.#logger = options.logger.child({ component: 'archives' });
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
          this.#stop(active, archiveStopReasons.sessionEnded);
        });
      }
    });
    observer.on('sessionLive', (sessionId) => {
      for (const active of this.#activeIn(sessionId)) active.active();
    });
    this.recovered = this.#recoverUnfinished();
  }

  /** Starts archiving a live routed session (`POST /archive`). */
  start(apiKey: string, settings: ArchiveSettings): ArchiveJson {
    const session = this.#store.sessions.find(settings.sessionId);
    if (!session || session.apiKey !== apiKey) throw new ParlorError('SESSION_NOT_FOUND', settings.sessionId);
    if (session.mediaMode !== 'routed') throw new ParlorError('ARCHIVE_SESSION_NOT_ROUTED');
    if (!this.#media.session(session.sessionId)) {
      throw new ParlorError('SESSION_NOT_FOUND', 'no clients are connected to the session');
    }
    const tag = settings.multiArchiveTag;
    if (this.#activeIn(session.sessionId).some((active) => active.archive.multiArchiveTag === tag)) {
      throw new ParlorError(
        'ARCHIVE_IN_PROGRESS',
        tag === null
          ? 'the session is already being archived; give each simultaneous archive its own multiArchiveTag'
          : `the session is already being archived with the multiArchiveTag ${JSON.stringify(tag)}`,
      );
    }
    return this.#json(this.#begin(session, settings, false).archive);
  }

  /** Stops recording an archive (`POST /archive/{id}/stop`); its output is made after. */
  stop(apiKey: string, archiveId: string): ArchiveJson {
    const archive = this.#find(apiKey, archiveId);
    const active = this.#active.get(archive.archiveId);
    if (!active) throw new ParlorError('ARCHIVE_NOT_RECORDING', `its status is ${archive.status}`);
    return this.#json(this.#stop(active, archiveStopReasons.userInitiated));
  }

  get(apiKey: string, archiveId: string): ArchiveJson {
    return this.#json(this.#find(apiKey, archiveId));
  }

  list(
    apiKey: string,
    page: { offset: number; count: number; sessionId?: string },
  ): { count: number; items: ArchiveJson[] } {
    const { count, items } = this.#store.archives.list(apiKey, page);
    return { count, items: items.map((archive) => this.#json(archive)) };
  }

  /** Deletes an available archive and its file (`DELETE /archive/{id}`). */
  async delete(apiKey: string, archiveId: string): Promise<void> {
    const archive = this.#find(apiKey, archiveId);
    if (archive.status !== 'available')
      throw new ParlorError('ARCHIVE_NOT_DELETABLE', `its status is ${archive.status}`);
    this.#transition(archive, { status: 'deleted', outputKey: null });
    await this.#storage.deletePrefix(archive.archiveId);
  }

  /** Adds a stream to, or removes one from, a recording archive in manual stream mode. */
  changeStreams(apiKey: string, archiveId: string, change: StreamChange): void {
    const archive = this.#find(apiKey, archiveId);
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
   * An available archive's file for a signed download link: DOWNLOAD_REFUSED when the link is
   * not this server's or expired, ARCHIVE_NOT_FOUND when the archive is no longer available.
   */
  async download(
    archiveId: string,
    file: string,
    expires: unknown,
    signature: unknown,
  ): Promise<{ size: number; read: (range?: ByteRange) => Readable }> {
    this.#links.verify(archiveId, file, expires, signature);
    const key = `${archiveId}/${file}`;
    const archive = this.#store.archives.find(archiveId);
    const size =
      archive?.status === 'available' && archive.outputKey === key ? await this.#storage.size(key) : null;
    if (size === null) throw new ParlorError('ARCHIVE_NOT_FOUND', archiveId);
    return { size, read: (range) => this.#storage.read(key, range) };
  }

  /** Changes a recording composed archive's layout from now on (`PUT /archive/{id}/layout`). */
  setLayout(apiKey: string, archiveId: string, layout: ArchiveLayout): void {
    const archive = this.#find(apiKey, archiveId);
    if (archive.outputMode !== 'composed') {
      throw new ParlorError('INVALID_REQUEST', 'only a composed archive has a layout');
    }
    const active = this.#active.get(archive.archiveId);
    if (!active) throw new ParlorError('ARCHIVE_NOT_RECORDING', `its status is ${archive.status}`);
    const atMs = Math.max(0, Date.now() - archive.createdAt);
    active.archive = this.#transition(archive, { layouts: [...archive.layouts, { atMs, layout }] });
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
    for (const active of [...this.#active.values()]) this.#stop(active, archiveStopReasons.sessionEnded);
    await Promise.allSettled([...this.#finishing, this.recovered]);
  }

  #begin(session: SessionRecord, settings: ArchiveSettings, automatic: boolean): ActiveArchive {
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
    };
    const folder = join(this.#workDir, archive.archiveId);
    mkdirSync(folder, { recursive: true });
    this.#store.archives.insert(archive);
    const logger = this.#logger.child({ archiveId: archive.archiveId, sessionId: session.sessionId });
    const active = new ActiveArchive({
      archive,
      media: this.#media,
      repository: this.#store.archives,
      folder,
      automatic,
      logger,
    });
    this.#active.set(archive.archiveId, active);
    logger.info(
      { outputMode: archive.outputMode, streamMode: archive.streamMode, automatic },
      'archive started',
    );
    active.after(this.#maxDurationMs, () => {
      this.#stop(active, archiveStopReasons.maximumDuration);
      // A session archived always goes on in a new archive (OpenTok does so every 4 hours).
      if (active.automatic && this.#media.session(session.sessionId)?.streams.length) {
        this.#startAutomatic(session);
      }
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
    this.#callback(archive);
    return active;
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
    if (running.some((active) => active.archive.multiArchiveTag === null)) return;
    const session = this.#store.sessions.find(sessionId);
    if (session?.archiveMode === 'always' && session.mediaMode === 'routed') this.#startAutomatic(session);
  }

  /** The archive a session archived always records whenever someone publishes. */
  #startAutomatic(session: SessionRecord): void {
    if (this.#closing.signal.aborted) return;
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
    );
  }

  /** Stops recording: `stopped` now, its output made after. Returns the stopped archive. */
  #stop(active: ActiveArchive, reason: string): ArchiveRecord {
    active.close();
    this.#active.delete(active.archive.archiveId);
    const { archive } = active;
    const stopped = this.#transition(archive, {
      status: 'stopped',
      reason,
      durationMs: Math.max(0, Date.now() - archive.createdAt),
    });
    this.#media.notify(archive.sessionId, { event: 'archiveStopped', id: archive.archiveId });
    this.#finish(
      active.endAll().then(() => {
        if (this.#closing.signal.aborted) return;
        return this.#produce(stopped);
      }),
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

  /** Makes the archive's output from its recordings and stores it: `available`, or `failed`. */
  async #produce(archive: ArchiveRecord): Promise<void> {
    const folder = join(this.#workDir, archive.archiveId);
    const recordings = this.#store.archives
      .recordingsOf(archive.archiveId)
      .filter(
        (recording): recording is RecordingRecord & { file: string } =>
          recording.file !== null && existsSync(recording.file),
      );
    const logger = this.#logger.child({ archiveId: archive.archiveId });
    let outputKey: string;
    let size: number;
    try {
      const made =
        archive.outputMode === 'composed'
          ? await this.#compose(archive, recordings, folder)
          : await this.#zip(archive, recordings, folder);
      outputKey = `${archive.archiveId}/${made.name}`;
      size = await this.#storage.put(outputKey, made.path);
    } catch (error) {
      if (this.#closing.signal.aborted) return;
      logger.error({ err: error }, 'archive output failed');
      this.#transition(archive, {
        status: 'failed',
        reason: `${archiveStopReasons.systemFailure}: ${(error as Error).message}`,
      });
      return;
    }
    this.#transition(archive, { status: 'available', outputKey, size });
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
      const probed = await probeMedia(ffprobe, recording.file).catch((error: unknown) => {
        // One unreadable recording does not spoil the archive: the others are composed.
        this.#logger.warn({ err: error, file: recording.file }, 'a recording cannot be read; left out');
        return null;
      });
      if (!probed || (!probed.hasAudio && !probed.hasVideo)) continue;
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
    await composeArchive(this.#ffmpegPath, spec, this.#closing.signal);
    return { path, name: 'archive.mp4' };
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

  /** Completes the archives a crash (or a shutdown) left recording or being finished. */
  async #recoverUnfinished(): Promise<void> {
    for (const archive of this.#store.archives.unfinished()) {
      const logger = this.#logger.child({ archiveId: archive.archiveId });
      let endMs = 0;
      for (const recording of this.#store.archives.recordingsOf(archive.archiveId)) {
        let { file, startedAt, durationMs } = recording;
        if (!recording.ended) {
          const path = ['.webm', '.mkv'].map((ext) => recording.basePath + ext).find((p) => existsSync(p));
          const recovered = path === undefined ? null : await this.#recover(path).catch(() => null);
          file = recovered?.path ?? null;
          startedAt = recovered ? (recovered.startedAt ?? recording.requestedAt) : null;
          durationMs = recovered?.durationMs ?? null;
          this.#store.archives.endRecording(archive.archiveId, recording.seq, {
            file,
            startedAt,
            durationMs,
          });
        }
        if (file !== null && startedAt !== null) {
          endMs = Math.max(endMs, startedAt - archive.createdAt + (durationMs ?? 0));
        }
      }
      let stopped = archive;
      if (archive.status === 'started') {
        logger.warn(
          'an archive was recording when the server stopped: completing it from what reached the disk',
        );
        stopped = this.#transition(archive, {
          status: 'stopped',
          reason: archiveStopReasons.systemFailure,
          durationMs: Math.max(0, endMs),
        });
      }
      await this.#produce(stopped);
    }
  }

  /** The one place an archive's state changes: persisted, logged, POSTed to the callback URL. */
  #transition(
    archive: ArchiveRecord,
    changes: Partial<
      Pick<ArchiveRecord, 'status' | 'reason' | 'layouts' | 'durationMs' | 'size' | 'outputKey'>
    >,
  ): ArchiveRecord {
    const updated: ArchiveRecord = { ...archive, ...changes, updatedAt: Date.now() };
    this.#store.archives.update(updated);
    if (updated.status !== archive.status) {
      this.#logger.info(
        { archiveId: archive.archiveId, reason: updated.reason || undefined },
        `archive ${archive.status} -> ${updated.status}`,
      );
      this.#callback(updated);
    }
    return updated;
  }

  #callback(archive: ArchiveRecord): void {
    const callback = this.#store.callbacks.find(archive.apiKey, archiveCallback.group, archiveCallback.event);
    if (callback) this.#webhooks.send(callback.url, this.#json(archive));
  }

  #json(archive: ArchiveRecord): ArchiveJson {
    const active = this.#active.get(archive.archiveId);
    const streams = active && archive.streamMode === 'manual' ? active.selectedStreams : [];
    const file = archive.outputKey?.split('/').pop();
    const url = archive.status === 'available' && file ? this.#links.urlFor(archive.archiveId, file) : null;
    return archiveJson(archive, streams, url);
  }

  #find(apiKey: string, archiveId: string): ArchiveRecord {
    const archive = this.#store.archives.find(archiveId);
    if (!archive || archive.apiKey !== apiKey) throw new ParlorError('ARCHIVE_NOT_FOUND', archiveId);
    return archive;
  }

  #activeIn(sessionId: string): ActiveArchive[] {
    return [...this.#active.values()].filter((active) => active.archive.sessionId === sessionId);
  }
}
