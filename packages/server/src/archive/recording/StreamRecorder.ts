import { InvalidStateError } from '../../InvalidStateError.js';
import { TypedEmitter } from '../../TypedEmitter.js';
import { opusCodecDelayNs, opusHead, opusSeekPreRollNs } from './codecs/opus.js';
import type { MatroskaCodecId, TrackHeader, VideoFormat } from './matroska/matroskaLayout.js';
import { MatroskaWriter } from './matroska/MatroskaWriter.js';
import {
  recordingCodecs,
  TrackRecorder,
  type RecordingTrack,
  type TrackRecordingStats,
} from './TrackRecorder.js';

export interface StreamRecorderOptions {
  /**
   * Where to write, without extension: the recorder adds `.webm` (VP8, VP9, Opus) or `.mkv`
   * (when a track is H.264). The file must not exist yet; its folder must.
   */
  readonly path: string;
  /** The stream's tracks; numbered 1, 2, … in the file in this order. */
  readonly tracks: readonly RecordingTrack[];
  /**
   * The arrival-clock time (the clock of `push`'s `arrivalMs`) that is time zero in the file.
   * Default: the arrival time of the first packet pushed.
   */
  readonly startMs?: number;
  /** How long a missing packet is waited for (reordering, NACK) before it counts as lost, ms. Default: 150. */
  readonly reorderWindowMs?: number;
  /** Least time between two keyframeNeeded events of one track, ms. Default: 1000. */
  readonly keyframeRequestIntervalMs?: number;
  /** Longest span of one cluster, ms: what a crash may lose. Default: 1000. */
  readonly maxClusterMs?: number;
}

const defaults = {
  reorderWindowMs: 150,
  keyframeRequestIntervalMs: 1000,
  maxClusterMs: 1000,
} as const;

export interface StreamRecorderEvents {
  /** A video track lost packets or has not had a keyframe yet: ask the publisher for one (PLI). */
  keyframeNeeded: [track: RecordingTrack];
  /** Writing the file failed (disk full…): nothing more is recorded; `close()` rejects. */
  writeFailed: [error: Error];
}

export interface RecordedTrack extends TrackRecordingStats {
  readonly track: RecordingTrack;
  /** Video: the size of the first recorded keyframe; absent before one. */
  readonly width?: number;
  readonly height?: number;
}

export interface RecordingResult {
  /** The file written, with its extension. */
  readonly path: string;
  /** The arrival-clock time of the file's time zero. */
  readonly startMs: number;
  /** From time zero to the end of the last frame. */
  readonly durationMs: number;
  readonly bytes: number;
  readonly tracks: readonly RecordedTrack[];
}

const codecIds: Record<RecordingTrack['codec'], MatroskaCodecId> = {
  opus: 'A_OPUS',
  vp8: 'V_VP8',
  vp9: 'V_VP9',
  h264: 'V_MPEG4/ISO/AVC',
};

/**
 * Records one published stream into a Matroska/WebM file without transcoding: RTP packets in,
 * frames written as they complete, at most `maxClusterMs` of them held in memory. After a crash,
 * `recoverRecording()` completes the file.
 */
export class StreamRecorder extends TypedEmitter<StreamRecorderEvents> {
  readonly path: string;
  readonly tracks: readonly RecordingTrack[];
  readonly #writer: MatroskaWriter;
  readonly #recorders: TrackRecorder[];
  readonly #formats: (VideoFormat | undefined)[];
  /** Last time written per track, ms from time zero: the file's times never go back. */
  readonly #lastTimeMs: number[];
  #startMs: number | undefined;
  #writeFailed = false;
  #closing: Promise<RecordingResult> | null = null;

  constructor(options: StreamRecorderOptions) {
    super();
    validateTracks(options.tracks);
    this.tracks = [...options.tracks];
    this.#startMs = options.startMs;
    const h264 = this.tracks.some((track) => track.codec === 'h264');
    this.path = `${options.path}${h264 ? '.mkv' : '.webm'}`;
    this.#writer = new MatroskaWriter({
      path: this.path,
      docType: h264 ? 'matroska' : 'webm',
      tracks: this.tracks.map(trackHeader),
      maxClusterMs: options.maxClusterMs ?? defaults.maxClusterMs,
      onWriteError: (error) => {
        this.#writeFailed = true;
        this.safeEmit('writeFailed', error);
      },
    });
    const trackOptions = {
      reorderWindowMs: options.reorderWindowMs ?? defaults.reorderWindowMs,
      keyframeRequestIntervalMs: options.keyframeRequestIntervalMs ?? defaults.keyframeRequestIntervalMs,
    };
    this.#formats = this.tracks.map(() => undefined);
    this.#lastTimeMs = this.tracks.map(() => 0);
    this.#recorders = this.tracks.map(
      (track, index) =>
        new TrackRecorder(track, trackOptions, {
          frame: (timeMs, keyframe, data, length, durationMs) => {
            this.#writeFrame(index, timeMs, keyframe, data, length, durationMs);
          },
          format: (format) => {
            this.#formats[index] = format;
            this.#writer.setVideoFormat(index + 1, format);
          },
          keyframeNeeded: () => {
            this.safeEmit('keyframeNeeded', track);
          },
        }),
    );
  }

  get closed(): boolean {
    return this.#closing !== null;
  }

  /**
   * Takes one plaintext RTP packet of `track` (one of `tracks`), received at `arrivalMs` on any
   * millisecond clock common to the stream's tracks. The packet is not kept past the call
   * without a copy. Malformed packets are counted and dropped.
   */
  push(track: RecordingTrack, packet: Buffer, arrivalMs: number): void {
    if (this.#closing) throw new InvalidStateError('the recorder is closed');
    const index = this.tracks.indexOf(track);
    const recorder = this.#recorders[index];
    if (!recorder) throw new TypeError('track is not one of the recorder’s tracks');
    this.#startMs ??= arrivalMs;
    if (this.#writeFailed) return;
    recorder.push(packet, arrivalMs);
    for (const other of this.#recorders) if (other !== recorder) other.expire(arrivalMs);
  }

  /**
   * Writes what is still waiting, completes the file (Cues, Duration) and closes it. Idempotent:
   * every call returns the same promise.
   */
  close(): Promise<RecordingResult> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<RecordingResult> {
    if (!this.#writeFailed) for (const recorder of this.#recorders) recorder.drain();
    const { durationMs, bytes } = await this.#writer.close();
    return {
      path: this.path,
      startMs: this.#startMs ?? 0,
      durationMs,
      bytes,
      tracks: this.#recorders.map((recorder, index) => {
        const format = this.#formats[index];
        return {
          track: recorder.track,
          ...recorder.stats,
          ...(format ? { width: format.width, height: format.height } : {}),
        };
      }),
    };
  }

  #writeFrame(
    index: number,
    arrivalClockMs: number,
    keyframe: boolean,
    data: Buffer,
    length: number,
    durationMs: number,
  ): void {
    const timeMs = Math.max(Math.round(arrivalClockMs - (this.#startMs ?? 0)), this.#lastTimeMs[index] ?? 0);
    this.#lastTimeMs[index] = timeMs;
    this.#writer.writeBlock(index + 1, timeMs, keyframe, data, length, durationMs);
  }
}

function trackHeader(track: RecordingTrack, index: number): TrackHeader {
  const number = index + 1;
  if (track.kind === 'video') return { kind: 'video', number, codecId: codecIds[track.codec] };
  const channels = track.channels ?? 2;
  return {
    kind: 'audio',
    number,
    codecId: codecIds[track.codec],
    codecPrivate: opusHead(channels),
    codecDelayNs: opusCodecDelayNs,
    seekPreRollNs: opusSeekPreRollNs,
    samplingFrequency: 48_000,
    channels,
  };
}

function validateTracks(tracks: readonly RecordingTrack[]): void {
  if (tracks.length === 0) throw new TypeError('tracks must not be empty');
  if (tracks.length > 126) throw new TypeError('tracks must be at most 126');
  tracks.forEach((track, i) => {
    const field = `tracks[${i}]`;
    if (!recordingCodecs.includes(track.codec))
      throw new TypeError(`${field}.codec is not one of ${recordingCodecs.join(', ')}`);
    if ((track.codec === 'opus') !== (track.kind === 'audio'))
      throw new TypeError(`${field}.kind does not match codec ${track.codec}`);
    if (!Number.isInteger(track.payloadType) || track.payloadType < 0 || track.payloadType > 127)
      throw new TypeError(`${field}.payloadType must be an integer from 0 to 127`);
    if (!(track.clockRate > 0)) throw new TypeError(`${field}.clockRate must be positive`);
    if (track.channels !== undefined && track.channels !== 1 && track.channels !== 2)
      throw new TypeError(`${field}.channels must be 1 or 2`);
  });
}
