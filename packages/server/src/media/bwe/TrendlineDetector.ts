/** What the link does, as the delay tells. */
export type DelaySignal = 'normal' | 'overusing' | 'underusing';

/** One group of packets sent within a burst, as sent and as received. */
export interface PacketGroupDelta {
  /** Send time of this group's last packet less the previous group's, ms. */
  readonly sendDeltaMs: number;
  /** Arrival time of this group's last packet less the previous group's, ms. */
  readonly arrivalDeltaMs: number;
  /** When this group's last packet arrived, ms on the receiver's clock. */
  readonly arrivalMs: number;
}

/** How many delay samples the slope is fitted to. */
const windowSize = 20;
/** Smoothing of the accumulated delay (an exponential filter's weight of the past). */
const smoothing = 0.9;
/** The slope is scaled by the samples it spans (at most this many) and this gain. */
const maxDeltasForGain = 60;
const trendGain = 4;
/** The adaptive threshold: where it starts and its bounds, ms. */
const initialThreshold = 12.5;
const minThreshold = 6;
const maxThreshold = 600;
/** How fast the threshold follows a trend above it, and one below it (per ms). */
const thresholdUp = 0.0087;
const thresholdDown = 0.039;
/** A trend this far past the threshold is a spike the threshold does not follow, ms. */
const thresholdSpikeMs = 15;
/** Overuse counts once the trend stayed above the threshold this long, ms. */
const overuseTimeMs = 10;

/**
 * Delay-based overuse detection (the trendline filter of Google Congestion Control,
 * draft-ietf-rmcat-gcc-02 §5, as libwebrtc runs it today): a queue building up at the bottleneck
 * shows as packet groups arriving further apart than they were sent. The detector accumulates
 * that delay variation, fits a line to its recent history, and calls the link overused when the
 * slope stays above a threshold that adapts to the link's own jitter.
 */
export class TrendlineDetector {
  #firstArrivalMs: number | null = null;
  #accumulatedDelayMs = 0;
  #smoothedDelayMs = 0;
  #deltas = 0;
  readonly #samples: { readonly x: number; readonly y: number }[] = [];
  #threshold = initialThreshold;
  #lastThresholdUpdateMs: number | null = null;
  #previousTrend = 0;
  #overusingMs = -1;
  #overuseCount = 0;
  #signal: DelaySignal = 'normal';

  get signal(): DelaySignal {
    return this.#signal;
  }

  /** Takes the next group's delay variation; returns what the link does now. */
  update(delta: PacketGroupDelta): DelaySignal {
    const variation = delta.arrivalDeltaMs - delta.sendDeltaMs;
    this.#deltas = Math.min(this.#deltas + 1, maxDeltasForGain);
    this.#firstArrivalMs ??= delta.arrivalMs;
    this.#accumulatedDelayMs += variation;
    this.#smoothedDelayMs = smoothing * this.#smoothedDelayMs + (1 - smoothing) * this.#accumulatedDelayMs;
    this.#samples.push({ x: delta.arrivalMs - this.#firstArrivalMs, y: this.#smoothedDelayMs });
    if (this.#samples.length > windowSize) this.#samples.shift();
    if (this.#samples.length === windowSize) this.#detect(slopeOf(this.#samples), delta);
    return this.#signal;
  }

  #detect(slope: number, delta: PacketGroupDelta): void {
    const trend = this.#deltas * slope * trendGain;
    if (trend > this.#threshold) {
      // The first time above, count half the interval as time spent there.
      this.#overusingMs =
        this.#overusingMs === -1 ? delta.sendDeltaMs / 2 : this.#overusingMs + delta.sendDeltaMs;
      this.#overuseCount++;
      if (this.#overusingMs > overuseTimeMs && this.#overuseCount > 1 && trend >= this.#previousTrend) {
        this.#overusingMs = 0;
        this.#overuseCount = 0;
        this.#signal = 'overusing';
      }
    } else if (trend < -this.#threshold) {
      this.#overusingMs = -1;
      this.#overuseCount = 0;
      this.#signal = 'underusing';
    } else {
      this.#overusingMs = -1;
      this.#overuseCount = 0;
      this.#signal = 'normal';
    }
    this.#previousTrend = trend;
    this.#adaptThreshold(trend, delta.arrivalMs);
  }

  /** The threshold follows the trend slowly upwards and faster downwards, ignoring spikes. */
  #adaptThreshold(trend: number, nowMs: number): void {
    const last = this.#lastThresholdUpdateMs ?? nowMs;
    this.#lastThresholdUpdateMs = nowMs;
    const magnitude = Math.abs(trend);
    if (magnitude > this.#threshold + thresholdSpikeMs) return;
    const rate = magnitude < this.#threshold ? thresholdDown : thresholdUp;
    const elapsed = Math.min(nowMs - last, 100);
    this.#threshold += rate * (magnitude - this.#threshold) * elapsed;
    this.#threshold = Math.min(maxThreshold, Math.max(minThreshold, this.#threshold));
  }
}

/** The least-squares slope of y over x; 0 when x does not vary. */
function slopeOf(samples: readonly { readonly x: number; readonly y: number }[]): number {
  let sumX = 0;
  let sumY = 0;
  for (const { x, y } of samples) {
    sumX += x;
    sumY += y;
  }
  const meanX = sumX / samples.length;
  const meanY = sumY / samples.length;
  let numerator = 0;
  let denominator = 0;
  for (const { x, y } of samples) {
    numerator += (x - meanX) * (y - meanY);
    denominator += (x - meanX) ** 2;
  }
  return denominator === 0 ? 0 : numerator / denominator;
}
