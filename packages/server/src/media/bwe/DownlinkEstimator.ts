import { AimdRateControl, type AimdRateControlSettings } from './AimdRateControl.js';
import { TrendlineDetector, type DelaySignal } from './TrendlineDetector.js';

/** What one transport-wide feedback tells (see `RtcpPacket`'s `transportFeedback`). */
export interface TransportFeedbackReport {
  /** The first packet's transport-wide sequence number (16 bits). */
  readonly baseSequence: number;
  /** For each packet from it on, its arrival on the receiver's clock, ms; null when lost. */
  readonly arrivals: readonly (number | null)[];
}

/** Sent packets remembered for their feedback: seconds of them at the highest rates. */
const historySize = 1 << 13;
/** Packets sent within this long of a group's first form one group (a frame's burst), ms. */
const groupSpanMs = 5;
/** The delivered rate is taken over the arrivals of this long, ms. */
const deliveredWindowMs = 300;

/** A history slot's state (0: nothing sent there yet). */
const sent = 1;
const arrived = 2;
const reportedLost = 3;

/**
 * Where an estimator remembers what was sent: the native data plane numbers and records the
 * packets it sends right there (packages/native/src/forward.c), as `onSend` does.
 */
export interface DownlinkSendHistory {
  /** One number: the next transport-wide sequence number, unwrapped. */
  readonly next: Float64Array;
  readonly sendTimes: Float64Array;
  readonly sizes: Uint32Array;
  /** 0 nothing sent, 1 sent, 2 arrived, 3 reported lost. */
  readonly states: Uint8Array;
}

interface PacketGroup {
  readonly firstSendMs: number;
  lastSendMs: number;
  lastArrivalMs: number;
}

/**
 * Send-side estimate of one subscriber's downlink, from its transport-wide congestion control
 * feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01): the router numbers every packet
 * it sends on the transport, the subscriber tells when each arrived (every 50–250 ms), and the
 * estimator reads the queue building up at the bottleneck from the delay variation of packet
 * groups, and what the link carries from the rate they arrived at.
 *
 * It answers within a few feedbacks of a link narrowing, where the subscriber's own estimate
 * (REMB) and its loss show it only after the bottleneck's queue overflowed.
 */
export class DownlinkEstimator {
  readonly #sendTimes = new Float64Array(historySize);
  readonly #sizes = new Uint32Array(historySize);
  readonly #states = new Uint8Array(historySize);
  /** The next sequence number, unwrapped, in an array the native data plane shares. */
  readonly #next = new Float64Array(1);
  /** The last sequence number whose arrival went into the delay groups, unwrapped. */
  #lastGrouped = -1;
  #group: PacketGroup | null = null;
  #previousGroup: PacketGroup | null = null;
  readonly #detector = new TrendlineDetector();
  readonly #rateControl: AimdRateControl;
  /** Arrivals for the delivered rate, oldest first. */
  readonly #arrivals: { readonly atMs: number; readonly bytes: number }[] = [];
  #deliveredBytes = 0;
  #firstArrivalMs: number | null = null;
  #packetsReported = 0;
  #packetsLost = 0;

  constructor(settings?: AimdRateControlSettings) {
    this.#rateControl = new AimdRateControl(settings);
  }

  /**
   * The estimate of what the link carries, bits/s; null until the link first pushed back (see
   * `AimdRateControl`).
   */
  get bitrate(): number | null {
    return this.#rateControl.bitrate;
  }

  get signal(): DelaySignal {
    return this.#detector.signal;
  }

  /** Packets the feedback told of, and of them the ones that had not arrived. */
  get feedbackCounts(): { readonly reported: number; readonly lost: number } {
    return { reported: this.#packetsReported, lost: this.#packetsLost };
  }

  /** The transport-wide sequence number (16 bits) the next packet sent gets. */
  get nextSequence(): number {
    return (this.#next[0] as number) & 0xffff;
  }

  /** The history, for the native data plane to record what it sends in. */
  get sendHistory(): DownlinkSendHistory {
    return { next: this.#next, sendTimes: this.#sendTimes, sizes: this.#sizes, states: this.#states };
  }

  /** Remembers a packet sent with `nextSequence`, and moves on to the next number. */
  onSend(bytes: number, nowMs: number): void {
    const slot = (this.#next[0] as number) % historySize;
    this.#next[0] = (this.#next[0] as number) + 1;
    this.#sendTimes[slot] = nowMs;
    this.#sizes[slot] = bytes;
    this.#states[slot] = sent;
  }

  /** Reads one feedback; returns the estimate after it. */
  onFeedback(feedback: TransportFeedbackReport, rttMs: number | null, nowMs: number): number | null {
    // The sequence number it starts from, unwrapped: the latest sent that many numbers ago.
    const next = this.#next[0] as number;
    const behind = (next - feedback.baseSequence) & 0xffff || 0x10000;
    const base = next - behind;
    feedback.arrivals.forEach((arrivalMs, index) => {
      const sequence = base + index;
      if (sequence < 0 || sequence >= next || next - sequence > historySize) return;
      const slot = sequence % historySize;
      const state = this.#states[slot];
      if (state !== sent && state !== reportedLost) return;
      if (state === sent) this.#packetsReported++;
      if (arrivalMs === null) {
        if (state === sent) this.#packetsLost++;
        this.#states[slot] = reportedLost;
        return;
      }
      // One reported lost before came late after all.
      if (state === reportedLost) this.#packetsLost--;
      this.#states[slot] = arrived;
      this.#onArrival(sequence, this.#sendTimes[slot] as number, arrivalMs, this.#sizes[slot] as number);
    });
    return this.#rateControl.update(
      { signal: this.#detector.signal, deliveredBitrate: this.#deliveredBitrate(), rttMs },
      nowMs,
    );
  }

  #onArrival(sequence: number, sendMs: number, arrivalMs: number, bytes: number): void {
    this.#firstArrivalMs ??= arrivalMs;
    this.#arrivals.push({ atMs: arrivalMs, bytes });
    this.#deliveredBytes += bytes;
    // A packet reported lost and then late, or out of order, tells nothing of the queue's trend.
    if (sequence <= this.#lastGrouped) return;
    this.#lastGrouped = sequence;
    const group = this.#group;
    if (group && sendMs - group.firstSendMs <= groupSpanMs) {
      group.lastSendMs = sendMs;
      group.lastArrivalMs = Math.max(group.lastArrivalMs, arrivalMs);
      return;
    }
    if (group && this.#previousGroup) {
      const previous = this.#previousGroup;
      const arrivalDeltaMs = group.lastArrivalMs - previous.lastArrivalMs;
      if (arrivalDeltaMs >= 0)
        this.#detector.update({
          sendDeltaMs: group.lastSendMs - previous.lastSendMs,
          arrivalDeltaMs,
          arrivalMs: group.lastArrivalMs,
        });
    }
    if (group) this.#previousGroup = group;
    this.#group = { firstSendMs: sendMs, lastSendMs: sendMs, lastArrivalMs: arrivalMs };
  }

  /**
   * Bits/s that arrived over the latest window of arrivals (the bytes after the window's first
   * packet, over the time from it to the last); null before a window's worth.
   */
  #deliveredBitrate(): number | null {
    const arrivals = this.#arrivals;
    const latest = arrivals[arrivals.length - 1];
    if (!latest || this.#firstArrivalMs === null || latest.atMs - this.#firstArrivalMs < deliveredWindowMs)
      return null;
    const start = latest.atMs - deliveredWindowMs;
    while (arrivals.length > 1 && (arrivals[0] as { atMs: number }).atMs < start)
      this.#deliveredBytes -= (arrivals.shift() as { bytes: number }).bytes;
    const first = arrivals[0] as { atMs: number; bytes: number };
    const spanMs = latest.atMs - first.atMs;
    return spanMs < deliveredWindowMs / 2 ? null : ((this.#deliveredBytes - first.bytes) * 8 * 1000) / spanMs;
  }
}
