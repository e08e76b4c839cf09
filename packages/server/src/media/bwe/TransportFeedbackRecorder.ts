import type { TransportFeedbackReport } from './DownlinkEstimator.js';

/** Arrivals remembered until reported: over a second of packets at the highest rates. */
const historySize = 1 << 12;
/**
 * Packets one feedback tells of at most: a feedback packet stays well under an MTU (a status
 * symbol and a delta byte or two per packet). More packets than this go in several feedbacks.
 */
export const maxPacketsPerFeedback = 500;

/** A feedback to send: what `TransportFeedbackReport` tells, with the feedback's own count. */
export interface TransportFeedbackToSend extends TransportFeedbackReport {
  /** 8 bits, counting up one per feedback sent, so that the sender can spot lost feedback. */
  readonly feedbackCount: number;
}

/**
 * The receive side of transport-wide congestion control (draft-holmer-rmcat-transport-wide-cc-
 * extensions-01): remembers when each packet numbered by the sender arrived, and hands out, each
 * time it is asked, the feedback of every packet since the last feedback — those that arrived
 * and those missing between them — for the sender's own bandwidth estimate.
 *
 * A packet that arrives after the feedback covering its number was taken is left out (the sender
 * counted it lost), as libwebrtc's receiver does. Memory is fixed: arrivals more than
 * `historySize` numbers behind the latest are dropped unreported.
 */
export class TransportFeedbackRecorder {
  /** Arrival times by unwrapped sequence number modulo the history size; NaN when missing. */
  readonly #arrivals = new Float64Array(historySize).fill(Number.NaN);
  /** The highest unwrapped sequence number that arrived; null before any. */
  #highest: number | null = null;
  /** The lowest unwrapped sequence number that came since the last feedback; null when none did. */
  #start: number | null = null;
  /** Every number below this was covered by a feedback taken already. */
  #reportedEnd = Number.NEGATIVE_INFINITY;
  #feedbackCount = 0;

  /** Notes the arrival of the packet numbered `sequence` (16 bits), at `arrivalMs` (any monotonic clock). */
  onPacket(sequence: number, arrivalMs: number): void {
    const highest = this.#highest;
    // The first number is lifted by 2^16 so that one reordered before it stays positive.
    const unwrapped =
      highest === null ? sequence + 0x10000 : highest + ((((sequence - highest) & 0xffff) ^ 0x8000) - 0x8000);
    if (unwrapped < this.#reportedEnd || (highest !== null && highest - unwrapped >= historySize)) return;
    if (highest === null || unwrapped > highest) {
      // The slots it skipped may hold arrivals from a lap of the history ago.
      if (highest !== null) this.#forget(highest + 1, unwrapped);
      this.#highest = unwrapped;
    }
    this.#arrivals[unwrapped % historySize] = arrivalMs;
    this.#start = this.#start === null ? unwrapped : Math.min(this.#start, unwrapped);
  }

  /** Clears the slots of the numbers from `from` to before `to`: at most the whole history, as a memset. */
  #forget(from: number, to: number): void {
    const start = from % historySize;
    const end = start + Math.min(to - from, historySize);
    this.#arrivals.fill(Number.NaN, start, Math.min(end, historySize));
    if (end > historySize) this.#arrivals.fill(Number.NaN, 0, end - historySize);
  }

  /** The feedback of every packet since the last call, in as many feedbacks as it takes; empty when none came. */
  takeFeedback(): TransportFeedbackToSend[] {
    const highest = this.#highest;
    if (this.#start === null || highest === null) return [];
    const feedbacks: TransportFeedbackToSend[] = [];
    // After the first feedback, each starts where the last ended, so that a loss at its start counts.
    const first = Number.isFinite(this.#reportedEnd) ? this.#reportedEnd : this.#start;
    for (let from = Math.max(first, highest - historySize + 1); from <= highest;) {
      const count = Math.min(maxPacketsPerFeedback, highest - from + 1);
      const arrivals: (number | null)[] = [];
      for (let sequence = from; sequence < from + count; sequence++) {
        const arrival = this.#arrivals[sequence % historySize] as number;
        arrivals.push(Number.isNaN(arrival) ? null : arrival);
      }
      feedbacks.push({ baseSequence: from & 0xffff, feedbackCount: this.#feedbackCount, arrivals });
      this.#feedbackCount = (this.#feedbackCount + 1) & 0xff;
      from += count;
    }
    this.#start = null;
    this.#reportedEnd = highest + 1;
    return feedbacks;
  }
}
