/**
 * Where a track's media ends, from its block times: the last block plus its duration when the
 * codec tells it (Opus), else plus the last interval between blocks. The writer and the
 * recovery of a cut file both measure a recording's Duration with it.
 */
export class TrackEnd {
  #lastTimeMs = -1;
  #lastDeltaMs = 0;
  endMs = 0;

  add(timeMs: number, durationMs: number): void {
    if (this.#lastTimeMs >= 0) this.#lastDeltaMs = timeMs - this.#lastTimeMs;
    this.#lastTimeMs = timeMs;
    this.endMs = Math.max(this.endMs, timeMs + (durationMs > 0 ? durationMs : this.#lastDeltaMs));
  }
}
