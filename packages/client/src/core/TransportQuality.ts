import type { PeerTransport } from './PeerTransport.js';
import { audioQualityScore, videoQualityScore } from './qualityScore.js';
import type { Telemetry } from './Telemetry.js';
import {
  intervalBetween,
  pathName,
  snapshotOf,
  type StatsInterval,
  type StatsSnapshot,
} from './transportStats.js';
import { TypedEmitter } from './TypedEmitter.js';

/** OpenTok's quality scores: integers, 1 bad, 2 poor, 3 fair, 4 good, 5 excellent; undefined without that media. */
export interface QualityScore {
  readonly audioQualityScore: number | undefined;
  readonly videoQualityScore: number | undefined;
}

export interface TransportQualityOptions {
  readonly transport: PeerTransport;
  readonly streamId: string;
  readonly telemetry: Telemetry;
  /** The frame rate the stream is meant to have. Default: 30. */
  readonly targetFrameRate?: number;
  /** How often scores are computed, in ms. Default: 2000. */
  readonly scoreIntervalMs?: number;
  /** How often a quality sample goes to the Inspector, in ms. Default: 30000. */
  readonly sampleIntervalMs?: number;
  /** When the first sample goes, in ms after the start: soon, so that short calls have one. Default: 6000. */
  readonly firstSampleMs?: number;
}

/** Mean opinion scores (1–4.5) at and above which a score is 5, 4, 3 and 2. */
const levelThresholds = [4, 3.5, 3, 2] as const;

/** The integer score of a mean opinion score. */
export function scoreLevel(mos: number): number {
  const index = levelThresholds.findIndex((threshold) => mos >= threshold);
  return index < 0 ? 1 : 5 - index;
}

/**
 * Watches one peer transport's statistics: every 2 s its quality scores (`score` when one of
 * them changes, and a score record for the Inspector), and every 30 s (the first after 6 s, the
 * last when it closes) a quality sample: bitrates, loss, frame rate, resolution, round trip,
 * jitter, audio level and the path. ICE and DTLS state changes and path changes are events.
 */
export class TransportQuality extends TypedEmitter<{ score: [score: QualityScore] }> {
  readonly #options: TransportQualityOptions;
  readonly #role: 'publisher' | 'subscriber';
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #sampleIntervalMs: number;
  #lastScoreSnapshot: StatsSnapshot | null = null;
  #lastSampleSnapshot: StatsSnapshot | null = null;
  #nextSampleAt: number;
  #score: QualityScore = { audioQualityScore: undefined, videoQualityScore: undefined };
  #mos: { audio: number | null; video: number | null } = { audio: null, video: null };
  #path: string | null = null;
  #states = { iceState: null as string | null, dtlsState: null as string | null };
  #reading = false;
  #closed = false;

  constructor(options: TransportQualityOptions) {
    super(() => undefined);
    this.#options = options;
    this.#role = options.transport.role === 'sender' ? 'publisher' : 'subscriber';
    this.#sampleIntervalMs = options.sampleIntervalMs ?? 30_000;
    this.#nextSampleAt = Date.now() + (options.firstSampleMs ?? 6000);
    this.#timer = setInterval(() => {
      void this.#read();
    }, options.scoreIntervalMs ?? 2000);
    options.transport.on('stateChanged', (state) => {
      options.telemetry.event('peerState', { role: this.#role, state }, options.streamId);
    });
  }

  get score(): QualityScore {
    return this.#score;
  }

  /** Sends a last sample and stops. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    // The transport is closing: what it carried since the last sample is told from the last read.
    const from = this.#lastSampleSnapshot;
    const to = this.#lastScoreSnapshot;
    if (from && to && to.atMs - from.atMs >= 1000) this.#sample(intervalBetween(from, to));
  }

  async #read(): Promise<void> {
    if (this.#reading || this.#closed) return;
    this.#reading = true;
    try {
      const report = await this.#options.transport.getStats();
      // Closed while the browser was reading.
      if (this.#stopped()) return;
      const snapshot = snapshotOf(report, this.#role === 'publisher', Date.now());
      this.#watchStates(snapshot);
      const previous = this.#lastScoreSnapshot;
      this.#lastScoreSnapshot = snapshot;
      this.#lastSampleSnapshot ??= snapshot;
      if (!previous) return;
      this.#scoreOf(intervalBetween(previous, snapshot));
      if (snapshot.atMs >= this.#nextSampleAt) {
        this.#nextSampleAt = snapshot.atMs + this.#sampleIntervalMs;
        this.#sample(intervalBetween(this.#lastSampleSnapshot, snapshot));
        this.#lastSampleSnapshot = snapshot;
      }
    } catch {
      // A closed connection has no statistics: the transport's close stops this too.
    } finally {
      this.#reading = false;
    }
  }

  #stopped(): boolean {
    return this.#closed;
  }

  #watchStates(snapshot: StatsSnapshot): void {
    const { telemetry, streamId } = this.#options;
    for (const name of ['iceState', 'dtlsState'] as const) {
      const value = snapshot[name];
      if (value === null || value === this.#states[name]) continue;
      this.#states[name] = value;
      telemetry.event(name, { role: this.#role, state: value }, streamId);
    }
    const ends = snapshot.path;
    if (!ends) return;
    const path = pathName(ends);
    if (path === this.#path) return;
    this.#path = path;
    telemetry.event(
      'path',
      { role: this.#role, path, local: ends.local, remote: ends.remote, protocol: ends.protocol },
      streamId,
    );
  }

  #scoreOf(interval: StatsInterval): void {
    const rtt = interval.rttMs ?? 0;
    const hasAudio = interval.audioBitrate > 0;
    const hasVideo = interval.videoBitrate > 0 || interval.width > 0;
    this.#mos = {
      audio: hasAudio ? round(audioQualityScore(rtt, interval.audioLoss)) : null,
      video: hasVideo
        ? round(
            videoQualityScore({
              bitrate: interval.videoBitrate,
              width: interval.width,
              height: interval.height,
              frameRate: interval.frameRate,
              targetFrameRate: this.#options.targetFrameRate ?? 30,
              rttMs: rtt,
            }),
          )
        : null,
    };
    const score: QualityScore = {
      audioQualityScore: this.#mos.audio === null ? undefined : scoreLevel(this.#mos.audio),
      videoQualityScore: this.#mos.video === null ? undefined : scoreLevel(this.#mos.video),
    };
    if (
      score.audioQualityScore === this.#score.audioQualityScore &&
      score.videoQualityScore === this.#score.videoQualityScore
    )
      return;
    this.#score = score;
    this.#options.telemetry.score(this.#role, this.#options.streamId, {
      audio: score.audioQualityScore ?? null,
      video: score.videoQualityScore ?? null,
      audioMos: this.#mos.audio,
      videoMos: this.#mos.video,
    });
    this.safeEmit('score', score);
  }

  #sample(interval: StatsInterval): void {
    this.#options.telemetry.quality(this.#role, this.#options.streamId, {
      ...interval,
      audioLoss: round(interval.audioLoss, 4),
      videoLoss: round(interval.videoLoss, 4),
      audioMos: this.#mos.audio,
      videoMos: this.#mos.video,
      path: this.#path,
      peer: this.#options.transport.remoteConnectionId,
    });
  }
}

function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
