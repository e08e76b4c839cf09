/**
 * Maps one track's RTP timestamps onto the arrival clock: the first timestamp is placed at the
 * arrival time of its packet, later ones by their distance from it in RTP ticks, counted across
 * 32-bit wrap-arounds. Tracks of one publisher are anchored the same way and so stay in sync
 * within the network jitter of their first packets.
 */
export class TrackClock {
  readonly #clockRate: number;
  #anchorMs = 0;
  #anchored = false;
  #lastTimestamp = 0;
  /** Ticks from the anchor to the last timestamp, past any number of wraps. */
  #ticks = 0;

  constructor(clockRate: number) {
    this.#clockRate = clockRate;
  }

  /** The arrival-clock time of an RTP timestamp, ms; the first call sets the anchor. */
  toMs(timestamp: number, arrivalMs: number): number {
    if (!this.#anchored) {
      this.#anchored = true;
      this.#anchorMs = arrivalMs;
      this.#lastTimestamp = timestamp;
      this.#ticks = 0;
      return arrivalMs;
    }
    // The difference as a signed 32-bit number: a step across the wrap is a small step forward.
    this.#ticks += (timestamp - this.#lastTimestamp) | 0;
    this.#lastTimestamp = timestamp;
    return this.#anchorMs + (this.#ticks * 1000) / this.#clockRate;
  }

  /** The next timestamp anchors afresh (the sender restarted its stream). */
  reset(): void {
    this.#anchored = false;
  }
}
