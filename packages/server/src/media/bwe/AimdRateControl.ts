import type { DelaySignal } from './TrendlineDetector.js';

export interface AimdRateControlSettings {
  /** Share of the delivered rate the estimate drops to on overuse. */
  readonly decreaseFactor: number;
  /** Growth per second while far from the link's capacity. */
  readonly multiplicativeIncrease: number;
}

export const defaultAimdRateControlSettings: AimdRateControlSettings = {
  decreaseFactor: 0.85,
  multiplicativeIncrease: 0.08,
};

/** One reading of the link for the rate control. */
export interface RateInput {
  readonly signal: DelaySignal;
  /** What the link delivered lately, bits/s; null when too little was delivered to tell. */
  readonly deliveredBitrate: number | null;
  /** Round-trip time, ms; null before one was measured. */
  readonly rttMs: number | null;
}

/** The estimate never goes below this, bits/s: audio and feedback must still fit. */
const minBitrate = 10_000;
/** Bits of a typical video packet, for the additive increase. */
const packetBits = 1200 * 8;
/** Added to the round trip for the time an increase takes to show in the delay, ms. */
const responseMarginMs = 100;
/** Round trip assumed before one was measured, ms. */
const defaultRttMs = 200;
/** A decrease at most this often under continued overuse, beside the round trip, ms. */
const minDecreaseIntervalMs = 200;
/** Weight of a new sample in the link capacity's averages. */
const capacitySmoothing = 0.05;

/**
 * The bitrate a link carries, from its delay signal and what it delivered (GCC's rate control,
 * draft-ietf-rmcat-gcc-02 §5.5): down to 85 % of the delivered rate when the link is overused,
 * held while the queue drains, and up again while the delay stays normal — by 8 % a second while
 * far from the link's known capacity, by about a packet per round trip near it.
 *
 * It starts unknown, and stays so until the link first pushes back: then it starts from 85 % of
 * what the link delivered. (Chromium's receive-side estimate starts from the delivered rate after
 * five seconds anyway; but what a link delivered while little was sent — a publisher's video
 * paused — tells nothing of what it could carry, and would read as congestion.) It never climbs
 * past 1.5 times what the link delivers (plus 10 kbit/s): a link is known only as far as it is
 * used.
 */
export class AimdRateControl {
  readonly #settings: AimdRateControlSettings;
  #bitrate: number | null = null;
  #holding = false;
  #lastUpdateMs: number | null = null;
  #lastDecreaseMs = Number.NEGATIVE_INFINITY;
  /** The delivered rate at overuse, averaged, and its variance (as a share of it, squared). */
  #capacity: number | null = null;
  #capacityVariance = 0.4;

  constructor(settings: AimdRateControlSettings = defaultAimdRateControlSettings) {
    this.#settings = settings;
  }

  /** The estimate, bits/s; null until the link first pushed back. */
  get bitrate(): number | null {
    return this.#bitrate;
  }

  /** Takes a reading; returns the estimate. */
  update(input: RateInput, nowMs: number): number | null {
    const elapsedMs = this.#lastUpdateMs === null ? 0 : nowMs - this.#lastUpdateMs;
    this.#lastUpdateMs = nowMs;
    const delivered = input.deliveredBitrate;
    if (input.signal === 'overusing') {
      this.#decrease(delivered, input.rttMs, nowMs);
      return this.#bitrate;
    }
    if (this.#bitrate === null) return null;
    if (input.signal === 'underusing') {
      // The queue drains: what was sent still overfills the link.
      this.#holding = true;
      return this.#bitrate;
    }
    if (this.#holding) {
      this.#holding = false;
      return this.#bitrate;
    }
    this.#increase(delivered, input.rttMs, elapsedMs);
    return this.#bitrate;
  }

  #decrease(delivered: number | null, rttMs: number | null, nowMs: number): void {
    this.#holding = true;
    if (delivered === null) return;
    const interval = Math.max(minDecreaseIntervalMs, rttMs ?? defaultRttMs);
    if (this.#bitrate !== null && nowMs - this.#lastDecreaseMs < interval) return;
    this.#lastDecreaseMs = nowMs;
    this.#noteCapacity(delivered);
    const decreased = Math.max(minBitrate, this.#settings.decreaseFactor * delivered);
    this.#bitrate = this.#bitrate === null ? decreased : Math.min(this.#bitrate, decreased);
  }

  #increase(delivered: number | null, rttMs: number | null, elapsedMs: number): void {
    const current = this.#bitrate as number;
    if (
      this.#capacity !== null &&
      delivered !== null &&
      delivered > this.#capacity * (1 + 3 * Math.sqrt(this.#capacityVariance))
    )
      this.#capacity = null; // the link widened: search again
    let next: number;
    if (this.#capacity === null || current < this.#capacity * (1 - 3 * Math.sqrt(this.#capacityVariance))) {
      next = current * (1 + this.#settings.multiplicativeIncrease) ** (elapsedMs / 1000);
    } else {
      const responseMs = (rttMs ?? defaultRttMs) + responseMarginMs;
      next = current + (packetBits * elapsedMs) / responseMs;
    }
    if (delivered !== null) {
      const ceiling = 1.5 * delivered + 10_000;
      if (next > ceiling) next = Math.max(current, ceiling);
    }
    this.#bitrate = next;
  }

  #noteCapacity(delivered: number): void {
    if (this.#capacity === null) {
      this.#capacity = delivered;
      return;
    }
    const error = (delivered - this.#capacity) / this.#capacity;
    this.#capacity += capacitySmoothing * (delivered - this.#capacity);
    this.#capacityVariance = Math.min(
      0.4,
      Math.max(0.0004, (1 - capacitySmoothing) * this.#capacityVariance + capacitySmoothing * error * error),
    );
  }
}
