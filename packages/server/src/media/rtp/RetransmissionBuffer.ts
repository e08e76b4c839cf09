/** Where the packets a router received are kept for NACK answers. */
export interface RetainedPackets {
  /** The packet with this sequence number, if it is still kept. */
  get(sequence: number): Buffer | undefined;
}

/**
 * The last packets of one source stream by sequence number, to answer NACKs (RFC 4585 §6.2.1)
 * without asking the publisher. One buffer per published stream serves all its subscribers.
 */
export class RetransmissionBuffer implements RetainedPackets {
  readonly #packets: (Buffer | undefined)[];
  readonly #sequences: Int32Array;
  readonly #mask: number;

  /** @param capacity packets kept, a power of two. Default: 1024 (about 3 s of 2.5 Mbit/s video). */
  constructor(capacity = 1024) {
    if (capacity <= 0 || (capacity & (capacity - 1)) !== 0)
      throw new TypeError('capacity must be a power of two');
    this.#packets = new Array<Buffer | undefined>(capacity);
    this.#sequences = new Int32Array(capacity).fill(-1);
    this.#mask = capacity - 1;
  }

  /** Keeps the packet (not a copy: the caller must not change it afterwards). */
  store(sequence: number, packet: Buffer): void {
    const slot = sequence & this.#mask;
    this.#packets[slot] = packet;
    this.#sequences[slot] = sequence;
  }

  /** The packet with this sequence number, if it is still kept. */
  get(sequence: number): Buffer | undefined {
    const slot = sequence & this.#mask;
    return this.#sequences[slot] === sequence ? this.#packets[slot] : undefined;
  }
}
