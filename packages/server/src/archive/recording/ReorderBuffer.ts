import { extendSequenceNumber, readSequenceNumber } from '../../media/rtp/rtpHeader.js';

/** Receives packets in sequence order; `sequence` is extended past 16-bit wrap-arounds. */
export type PacketHandler = (packet: Uint8Array, sequence: number, arrivalMs: number) => void;

export interface ReorderBufferOptions {
  /** Packets that can wait for a missing one, a power of two. */
  readonly capacity: number;
  /** How long a missing packet is waited for before it counts as lost, ms. */
  readonly maxWaitMs: number;
}

/**
 * Puts one RTP stream's packets back in sequence order (RFC 3550 §A.1 extended numbers). A packet
 * in order passes straight through, without a copy; one after a gap is copied and waits until
 * the gap fills (reordering, a NACK answered) or the gap has waited `maxWaitMs` or more than
 * `capacity` packets have piled up behind it: then the missing packets count as lost and the
 * handler sees the jump in sequence numbers.
 */
export class ReorderBuffer {
  readonly #slots: (Uint8Array | undefined)[];
  readonly #slotSequences: Float64Array;
  readonly #slotArrivals: Float64Array;
  readonly #mask: number;
  readonly #maxWaitMs: number;
  /** The next sequence number to hand on, extended; -1 before the first packet. */
  #next = -1;
  #highest = -1;
  #buffered = 0;
  /** When the oldest gap still open was first seen. */
  #gapSinceMs = 0;
  /** Packets given up on. */
  lost = 0;
  /** Packets that came after their turn had passed, or twice. */
  late = 0;

  constructor(options: ReorderBufferOptions) {
    const { capacity } = options;
    if (capacity <= 0 || (capacity & (capacity - 1)) !== 0)
      throw new TypeError('capacity must be a power of two');
    this.#slots = new Array<Uint8Array | undefined>(capacity);
    this.#slotSequences = new Float64Array(capacity).fill(-1);
    this.#slotArrivals = new Float64Array(capacity);
    this.#mask = capacity - 1;
    this.#maxWaitMs = options.maxWaitMs;
  }

  /** Takes one packet; the handler may run for it and for packets it releases. */
  push(packet: Uint8Array, arrivalMs: number, handler: PacketHandler): void {
    const sequence = readSequenceNumber(packet);
    if (this.#next < 0) {
      // Start one cycle up so that packets just before the first one stay non-negative.
      this.#next = this.#highest = 0x10000 + sequence;
    }
    const extended = extendSequenceNumber(sequence, this.#highest);
    if (extended < this.#next) {
      if (this.#next - extended <= this.#slots.length) {
        this.late++;
        return;
      }
      // Far behind anything a late packet could be: the sender started numbering afresh.
      this.reset();
      this.push(packet, arrivalMs, handler);
      return;
    }
    if (extended > this.#highest) this.#highest = extended;
    // Too far ahead to wait for what is missing: give it all up and go on from this packet.
    if (extended - this.#next >= this.#slots.length) this.#skipTo(extended, handler);
    if (extended === this.#next && this.#buffered === 0) {
      this.#next++;
      handler(packet, extended, arrivalMs);
      return;
    }
    const slot = extended & this.#mask;
    if (this.#slotSequences[slot] === extended) {
      this.late++;
      return;
    }
    this.#slots[slot] = Buffer.from(packet);
    this.#slotSequences[slot] = extended;
    this.#slotArrivals[slot] = arrivalMs;
    this.#buffered++;
    this.#release(handler);
    this.expire(arrivalMs, handler);
  }

  /** Gives up on a gap that has waited too long: call it as time passes without packets. */
  expire(nowMs: number, handler: PacketHandler): void {
    while (this.#buffered > 0 && nowMs - this.#gapSinceMs >= this.#maxWaitMs) this.#skipGap(handler);
  }

  /** Hands on everything still waiting, counting the gaps as lost. */
  drain(handler: PacketHandler): void {
    while (this.#buffered > 0) this.#skipGap(handler);
  }

  /** Forgets every packet and the numbering: the next packet starts afresh. */
  reset(): void {
    this.#slots.fill(undefined);
    this.#slotSequences.fill(-1);
    this.#next = -1;
    this.#highest = -1;
    this.#buffered = 0;
  }

  /** Releases the packets that follow on from `#next` without a gap. */
  #release(handler: PacketHandler): void {
    for (;;) {
      const slot = this.#next & this.#mask;
      const packet = this.#slots[slot];
      if (packet === undefined || this.#slotSequences[slot] !== this.#next) break;
      this.#slots[slot] = undefined;
      this.#slotSequences[slot] = -1;
      this.#buffered--;
      const sequence = this.#next++;
      handler(packet, sequence, this.#slotArrivals[slot] as number);
    }
    if (this.#buffered > 0) this.#gapSinceMs = this.#slotArrivals[this.#firstBufferedSlot()] as number;
  }

  #skipGap(handler: PacketHandler): void {
    const slot = this.#firstBufferedSlot();
    this.#skipTo(this.#slotSequences[slot] as number, handler);
  }

  /** Gives up on every packet before `sequence`, handing on those that did arrive. */
  #skipTo(sequence: number, handler: PacketHandler): void {
    while (this.#next < sequence) {
      const slot = this.#next & this.#mask;
      if (this.#slotSequences[slot] === this.#next) this.#release(handler);
      else {
        this.lost++;
        this.#next++;
      }
    }
    this.#release(handler);
  }

  #firstBufferedSlot(): number {
    for (let sequence = this.#next; ; sequence++) {
      const slot = sequence & this.#mask;
      if (this.#slotSequences[slot] === sequence) return slot;
    }
  }
}
