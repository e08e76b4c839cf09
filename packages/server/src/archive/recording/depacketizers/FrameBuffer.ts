/** The bytes of the frame being assembled: grows as needed and is reused frame after frame. */
export class FrameBuffer {
  data: Buffer;
  length = 0;

  constructor(initialCapacity = 16 * 1024) {
    this.data = Buffer.allocUnsafe(initialCapacity);
  }

  clear(): void {
    this.length = 0;
  }

  /** Makes room for `extra` more bytes. */
  reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.data.length) return;
    let capacity = this.data.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.data.copy(grown, 0, 0, this.length);
    this.data = grown;
  }

  append(source: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    this.data.set(source.subarray(start, end), this.length);
    this.length += end - start;
  }

  appendByte(byte: number): void {
    this.reserve(1);
    this.data[this.length++] = byte;
  }

  /** Appends four zero bytes for a NAL unit length written later; returns their offset. */
  appendLengthPlaceholder(): number {
    this.reserve(4);
    const offset = this.length;
    this.data.writeUInt32BE(0, offset);
    this.length += 4;
    return offset;
  }

  writeUint32At(offset: number, value: number): void {
    this.data.writeUInt32BE(value, offset);
  }
}
