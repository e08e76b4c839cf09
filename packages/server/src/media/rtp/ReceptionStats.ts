import type { ReportBlock } from '../rtcp/rtcp.js';

/** The 24-bit signed range of a report block's cumulative loss (RFC 3550 §6.4.1). */
const maxCumulativeLost = 0x7fffff;
const minCumulativeLost = -0x800000;

/**
 * What a receiver of one RTP stream tells its sender in a report block (RFC 3550 §6.4.1): the
 * extended highest sequence number, the loss since the last report and in all (A.3), the
 * interarrival jitter (A.8), and the echo of the sender's last report. Sequence numbers are
 * followed as A.1 does, without its probation: a publisher's stream does not restart.
 */
export class ReceptionStats {
  readonly #clockRate: number;
  #started = false;
  #baseSequence = 0;
  #maxSequence = 0;
  /** Sequence number cycles, times 65536. */
  #cycles = 0;
  #received = 0;
  #expectedPrior = 0;
  #receivedPrior = 0;
  #jitter = 0;
  #lastArrivalMs = 0;
  #lastTimestamp = 0;
  /** The middle 32 bits of the sender's last report's NTP time, and when it came (ms). */
  #lastSenderReport = 0;
  #lastSenderReportAtMs = 0;

  /** `clockRate`: the RTP clock of the stream's codec, per second. */
  constructor(clockRate: number) {
    this.#clockRate = clockRate;
  }

  /** Whether a packet came yet: a report block says nothing before. */
  get started(): boolean {
    return this.#started;
  }

  /** Counts a packet that arrived at `arrivalMs`. Allocates nothing. */
  receive(sequence: number, timestamp: number, arrivalMs: number): void {
    this.#received++;
    if (!this.#started) {
      this.#started = true;
      this.#baseSequence = this.#maxSequence = sequence;
      this.#lastArrivalMs = arrivalMs;
      this.#lastTimestamp = timestamp;
      return;
    }
    const delta = (sequence - this.#maxSequence) & 0xffff;
    // A later packet (a gap means losses); otherwise a late or repeated one, which moves nothing.
    if (delta === 0 || delta >= 0x8000) return;
    if (sequence < this.#maxSequence) this.#cycles += 0x10000;
    this.#maxSequence = sequence;
    // Jitter: how much the transit time varies, in RTP clock units (A.8); timestamps wrap at 2^32.
    const arrivalUnits = ((arrivalMs - this.#lastArrivalMs) * this.#clockRate) / 1000;
    const timestampUnits = (timestamp - this.#lastTimestamp) | 0;
    this.#jitter += (Math.abs(arrivalUnits - timestampUnits) - this.#jitter) / 16;
    this.#lastArrivalMs = arrivalMs;
    this.#lastTimestamp = timestamp;
  }

  /** Notes the sender's report (its NTP time's middle 32 bits), which the next block echoes. */
  senderReport(ntpMiddle: number, atMs: number): void {
    this.#lastSenderReport = ntpMiddle;
    this.#lastSenderReportAtMs = atMs;
  }

  /** The report block for `ssrc` as of `nowMs`; the next one counts its loss from here. */
  report(ssrc: number, nowMs: number): ReportBlock {
    const extendedMax = this.#cycles + this.#maxSequence;
    const expected = this.#started ? extendedMax - this.#baseSequence + 1 : 0;
    const expectedInterval = expected - this.#expectedPrior;
    const lostInterval = expectedInterval - (this.#received - this.#receivedPrior);
    this.#expectedPrior = expected;
    this.#receivedPrior = this.#received;
    const lost = Math.min(maxCumulativeLost, Math.max(minCumulativeLost, expected - this.#received));
    const sinceReport = this.#lastSenderReportAtMs === 0 ? 0 : nowMs - this.#lastSenderReportAtMs;
    return {
      ssrc,
      fractionLost:
        expectedInterval <= 0 || lostInterval <= 0
          ? 0
          : Math.min(255, Math.floor((lostInterval * 256) / expectedInterval)),
      packetsLost: lost,
      highestSequence: extendedMax >>> 0,
      jitter: Math.round(this.#jitter),
      lastSenderReport: this.#lastSenderReport,
      delaySinceLastSenderReport: Math.round((sinceReport * 65536) / 1000) >>> 0,
    };
  }
}
