/**
 * The share of a track's packets its subscriber asked to have resent (NACK) over the last
 * second, sliding: its loss before repair, known as soon as the NACKs come rather than at the
 * next receiver report (about one a second for video, one in five for audio), which also leaves
 * out what retransmissions repaired.
 *
 * It keeps marks of the running counts a tick apart and reads from the newest one a whole window
 * old: a whole window of samples (a burst of loss must outweigh a second of good packets, about
 * 170 ms of a collapsed link, to count) that still tells of a collapse within a few ticks.
 */
export class NackLossWindow {
  readonly #windowMs: number;
  readonly #minPackets: number;
  /** Running counts (packets sent, packets NACKed) at past ticks, oldest first. */
  readonly #marks: { readonly atMs: number; readonly sent: number; readonly nacked: number }[] = [];

  /**
   * @param windowMs how far back the share is taken
   * @param minPackets fewer packets sent in the window than this tell nothing (share 0): a lost
   *   packet among a handful is no congestion
   */
  constructor(windowMs = 1000, minPackets = 10) {
    this.#windowMs = windowMs;
    this.#minPackets = minPackets;
  }

  /** Marks the running counts now and returns the share NACKed since the window's start, 0–1. */
  sample(sent: number, nacked: number, nowMs: number): number {
    const marks = this.#marks;
    while (marks.length > 1 && (marks[1] as { atMs: number }).atMs <= nowMs - this.#windowMs) marks.shift();
    const base = marks[0];
    marks.push({ atMs: nowMs, sent, nacked });
    if (!base) return 0;
    const packets = sent - base.sent;
    return packets < this.#minPackets ? 0 : Math.min(1, (nacked - base.nacked) / packets);
  }
}
