import type { LocalPublication } from './LocalPublication.js';
import type { Logger } from './Logger.js';
import type { PeerTransport } from './PeerTransport.js';
import { TypedEmitter } from './TypedEmitter.js';
import {
  defaultUplinkFallbackSettings,
  UplinkFallback,
  type UplinkFallbackChange,
  type UplinkFallbackSettings,
  type UplinkFallbackState,
} from './UplinkFallback.js';
import { readUplink, type UplinkReading, type UplinkSample } from './uplinkReading.js';

export interface PublisherFallbackOptions {
  readonly publication: LocalPublication;
  readonly logger: Logger;
  /** Thresholds and timing. Default: `defaultUplinkFallbackSettings`. */
  readonly settings?: UplinkFallbackSettings;
  /**
   * How often the peer connections' statistics are read, ms: often enough that a receiver report
   * (the router sends two a second) is judged soon after it comes. Default: 250.
   */
  readonly sampleIntervalMs?: number;
}

/** One change of the fallback, with the uplink as it was read then. */
export interface PublisherFallbackRecord {
  /** Unix milliseconds. */
  readonly atMs: number;
  readonly change: UplinkFallbackChange;
  /** The best estimate of what a connection can send, bits/s; null when none gave one. */
  readonly availableBitrate: number | null;
  /** The highest loss (0–1) the new receiver reports told; null when none came. */
  readonly loss: number | null;
  /** Video sent by the busiest connection, bits/s. */
  readonly videoBitrate: number;
}

/** The fallback's state and its latest changes, oldest first. */
export interface PublisherFallbackStats {
  readonly state: UplinkFallbackState;
  readonly probing: boolean;
  readonly changes: readonly PublisherFallbackRecord[];
}

interface PublisherFallbackEvents {
  /** The fallback changed; video was stopped or restarted already, and the server told. */
  change: [record: PublisherFallbackRecord];
}

/** How many changes the history keeps. */
const historyLength = 20;

/**
 * Publisher audio fallback for one publication (OpenTok's `audioFallback.publisher`): reads the
 * statistics of every peer connection that sends it, lets `UplinkFallback` judge the uplink,
 * pauses and resumes the video on each connection (audio goes on), and tells the server, so that
 * every subscriber sees `hasVideo` change with reason `quality`.
 */
export class PublisherFallback extends TypedEmitter<PublisherFallbackEvents> {
  readonly #publication: LocalPublication;
  readonly #logger: Logger;
  readonly #fallback: UplinkFallback;
  readonly #sampleIntervalMs: number;
  readonly #samples = new WeakMap<PeerTransport, UplinkSample>();
  readonly #history: PublisherFallbackRecord[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Whether a read of the statistics is under way; the next is scheduled when it ends. */
  #sampling = false;
  #active = false;
  #closed = false;

  constructor(options: PublisherFallbackOptions) {
    super((event, error) => {
      options.logger.error(`a listener of the publisher fallback "${event}" event threw`, error);
    });
    this.#publication = options.publication;
    this.#logger = options.logger;
    this.#fallback = new UplinkFallback(options.settings ?? defaultUplinkFallbackSettings);
    this.#sampleIntervalMs = options.sampleIntervalMs ?? 250;
    options.publication.on('subscriberAdded', (transport) => {
      this.#limit(transport);
    });
    options.publication.on('closed', () => {
      this.close();
    });
  }

  /** Whether the fallback has stopped the video (probes aside): the stream has none for the others. */
  get videoOff(): boolean {
    return this.#fallback.state === 'off';
  }

  get stats(): PublisherFallbackStats {
    return { state: this.#fallback.state, probing: this.#fallback.probing, changes: [...this.#history] };
  }

  /**
   * Watches the uplink while the user sends video (`publishVideo`). The user's choice and the
   * fallback are separate, and the stream has video when both allow it. While the user has video
   * off nothing is judged: a warning is lifted, and video the fallback turned off stays off (no
   * `videoEnabled` it did not decide) until the user turns video on and a probe, at once, goes
   * through.
   */
  setActive(active: boolean): void {
    if (this.#closed || active === this.#active) return;
    this.#active = active;
    if (active) {
      this.#fallback.resume(Date.now());
      if (!this.#sampling) this.#schedule();
      return;
    }
    this.#stopTimer();
    const change = this.#fallback.pause();
    if (change) this.#changed(change, []);
    else for (const transport of this.#publication.transports) this.#limit(transport);
  }

  /** Stops watching. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#active = false;
    this.#stopTimer();
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#sampling = true;
      void this.#sample().finally(() => {
        this.#sampling = false;
        if (this.#active) this.#schedule();
      });
    }, this.#sampleIntervalMs);
  }

  #stopTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #sample(): Promise<void> {
    const transports = this.#publication.transports.filter((transport) => !transport.closed);
    const readings = await Promise.all(
      transports.map(async (transport) => {
        const stats = await transport.getStats();
        const { reading, sample } = readUplink(stats, this.#samples.get(transport) ?? null, Date.now(), {
          delayBasedEstimate: transport.transportFeedback,
        });
        this.#samples.set(transport, sample);
        return reading;
      }),
    ).catch((error: unknown) => {
      this.#logger.debug('publisher fallback: statistics unavailable', error);
      return [];
    });
    if (!this.#active) return;
    const change = this.#fallback.update(readings, Date.now());
    if (change) this.#changed(change, readings);
  }

  #changed(change: UplinkFallbackChange, readings: readonly UplinkReading[]): void {
    const record = summarize(change, readings);
    this.#logger.info(
      `publisher fallback: ${change} (estimate ${String(record.availableBitrate)} bit/s, loss ${String(record.loss)})`,
    );
    this.#history.push(record);
    if (this.#history.length > historyLength) this.#history.shift();
    for (const transport of this.#publication.transports) this.#limit(transport);
    if (change === 'videoDisabled' || change === 'videoEnabled') {
      this.#publication
        .update({ hasVideo: change === 'videoEnabled', videoReason: 'quality' })
        .catch((error: unknown) => {
          this.#logger.warn('the video change of the publisher fallback was not acknowledged', error);
        });
    }
    this.safeEmit('change', record);
  }

  #limit(transport: PeerTransport): void {
    transport.setVideoLimit(this.#fallback.sendLimit).catch((error: unknown) => {
      this.#logger.warn('publisher fallback: the video could not be limited', error);
    });
  }
}

function summarize(
  change: UplinkFallbackChange,
  readings: readonly UplinkReading[],
): PublisherFallbackRecord {
  const estimates = readings.flatMap((reading) => reading.availableBitrate ?? []);
  const losses = readings.flatMap((reading) => [reading.audioLoss ?? [], reading.videoLoss ?? []].flat());
  return {
    atMs: Date.now(),
    change,
    availableBitrate: estimates.length > 0 ? Math.max(...estimates) : null,
    loss: losses.length > 0 ? Math.max(...losses) : null,
    videoBitrate: Math.max(0, ...readings.map((reading) => reading.videoBitrate)),
  };
}
