/**
 * Replay protection for one SSRC (RFC 3711 §3.3.2): remembers which of the last `size` packet
 * indexes were accepted. Indexes are up to 48 bits, so plain numbers hold them exactly.
 */
export class ReplayWindow {
  readonly #seen: Uint8Array;
  #highest = -1;

  constructor(size = 1024) {
    this.#seen = new Uint8Array(size);
  }

  /** Whether a packet with this index may be accepted (not seen, not too old). */
  check(index: number): boolean {
    if (index > this.#highest) return true;
    if (this.#highest - index >= this.#seen.length) return false;
    return this.#seen[index % this.#seen.length] === 0;
  }

  /** Records an index as accepted; call only after the packet authenticated. */
  accept(index: number): void {
    const size = this.#seen.length;
    if (index > this.#highest) {
      const gap = this.#highest < 0 ? size : Math.min(index - this.#highest, size);
      for (let i = 1; i <= gap; i++) this.#seen[(index - gap + i + size) % size] = 0;
      this.#highest = index;
    }
    this.#seen[index % size] = 1;
  }
}
