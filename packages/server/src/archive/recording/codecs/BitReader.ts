/** Reads a bit string most significant bit first, with the Exp-Golomb codes of H.264 (§9.1). */
export class BitReader {
  readonly #data: Uint8Array;
  readonly #end: number;
  #bit: number;

  constructor(data: Uint8Array, start = 0, end = data.length) {
    this.#data = data;
    this.#bit = start * 8;
    this.#end = end * 8;
  }

  /** Whether a read went past the end: every value read since is meaningless. */
  get overrun(): boolean {
    return this.#bit > this.#end;
  }

  bit(): number {
    const position = this.#bit++;
    if (position >= this.#end) return 0;
    return ((this.#data[position >> 3] as number) >> (7 - (position & 7))) & 1;
  }

  bits(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) value = value * 2 + this.bit();
    return value;
  }

  skip(count: number): void {
    this.#bit += count;
  }

  /** ue(v) */
  unsignedExpGolomb(): number {
    let leadingZeros = 0;
    while (this.bit() === 0) {
      if (++leadingZeros > 31 || this.overrun) return 0;
    }
    return 2 ** leadingZeros - 1 + this.bits(leadingZeros);
  }

  /** se(v) */
  signedExpGolomb(): number {
    const code = this.unsignedExpGolomb();
    return code % 2 === 1 ? (code + 1) / 2 : -code / 2;
  }
}
