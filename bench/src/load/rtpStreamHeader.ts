/** An element of a one-byte header extension (RFC 8285 §4.2): ID 1–14, 1–16 bytes of data. */
export interface ExtensionElement {
  readonly id: number;
  /** ASCII, as the MID and RID elements carry. */
  readonly value: string;
}

/**
 * The RTP header (RFC 3550 §5.1) that a stream's packets are sent under: version 2, the SSRC,
 * and when elements are given a one-byte extension block (RFC 8285 §4.2) padded to 32 bits.
 * Marker, payload type, sequence number and timestamp are left for each packet.
 */
export function rtpStreamHeader(ssrc: number, elements: readonly ExtensionElement[]): Buffer {
  const data = elements.map((element) => {
    const value = Buffer.from(element.value, 'latin1');
    if (!Number.isInteger(element.id) || element.id < 1 || element.id > 14)
      throw new TypeError(`extension element id ${element.id} is outside 1–14`);
    if (value.length < 1 || value.length > 16)
      throw new TypeError(`extension element value "${element.value}" is not 1–16 bytes`);
    return Buffer.concat([Buffer.from([(element.id << 4) | (value.length - 1)]), value]);
  });
  const elementBytes = data.reduce((sum, element) => sum + element.length, 0);
  const words = Math.ceil(elementBytes / 4);
  const header = Buffer.alloc(12 + (elements.length > 0 ? 4 + words * 4 : 0));
  header[0] = elements.length > 0 ? 0x90 : 0x80;
  header.writeUInt32BE(ssrc >>> 0, 8);
  if (elements.length > 0) {
    header.writeUInt16BE(0xbede, 12);
    header.writeUInt16BE(words, 14);
    Buffer.concat(data).copy(header, 16);
  }
  return header;
}
