import { rtpFixedHeaderLength } from './rtpHeader.js';

/** Where one header extension element's data sits in a packet. */
export interface ExtensionLocation {
  readonly offset: number;
  readonly length: number;
}

/**
 * Finds the element with `id` in a packet's header extension, one-byte (RFC 8285 §4.2) or
 * two-byte (§4.3) form; null when the packet has none.
 */
export function findHeaderExtension(packet: Uint8Array, id: number): ExtensionLocation | null {
  const first = packet[0] as number;
  if ((first & 0x10) === 0) return null;
  const start = rtpFixedHeaderLength + (first & 0x0f) * 4;
  if (packet.length < start + 4) return null;
  const profile = ((packet[start] as number) << 8) | (packet[start + 1] as number);
  const end = start + 4 + (((packet[start + 2] as number) << 8) | (packet[start + 3] as number)) * 4;
  if (end > packet.length) return null;
  const oneByte = profile === 0xbede;
  if (!oneByte && (profile & 0xfff0) !== 0x1000) return null;
  let position = start + 4;
  while (position < end) {
    const byte = packet[position] as number;
    if (byte === 0) {
      position++; // padding
      continue;
    }
    let elementId: number;
    let length: number;
    if (oneByte) {
      elementId = byte >> 4;
      length = (byte & 0x0f) + 1;
      if (elementId === 15) return null; // reserved: stop reading (§4.2)
      position += 1;
    } else {
      if (position + 1 >= end) return null;
      elementId = byte;
      length = packet[position + 1] as number;
      position += 2;
    }
    if (position + length > end) return null;
    if (elementId === id) return { offset: position, length };
    position += length;
  }
  return null;
}

/** The element's data as text (the MID and RID extensions carry ASCII), or null without it. */
export function readTextExtension(packet: Uint8Array, id: number): string | null {
  const location = findHeaderExtension(packet, id);
  if (!location) return null;
  return Buffer.from(packet.buffer, packet.byteOffset + location.offset, location.length).toString('latin1');
}

/**
 * Writes an abs-send-time value (6.18 fixed-point seconds, 24 bits) for `nowMs` at `offset`:
 * the subscriber's bandwidth estimator reads it as the time the router sent the packet.
 */
export function writeAbsSendTime(packet: Uint8Array, offset: number, nowMs: number): void {
  const value = Math.round(nowMs * 262.144) & 0xffffff;
  packet[offset] = value >>> 16;
  packet[offset + 1] = (value >>> 8) & 0xff;
  packet[offset + 2] = value & 0xff;
}

/** Bytes `appendTransportSequenceNumber` adds to a header at most. */
export const transportSequenceNumberRoom = 8;

/**
 * Adds a transport-wide sequence number element (16 bits, draft-holmer-rmcat-transport-wide-cc-
 * extensions-01 §2) with `id` (1–14) to the header at the start of `header`, which must have
 * `transportSequenceNumberRoom` bytes free after it: a word at the end of its extension block,
 * or a new one-byte block when it has none. Returns the header's new length, or -1 when its
 * block is of neither RFC 8285 form (nothing written).
 */
export function appendTransportSequenceNumber(header: Buffer, id: number, sequence: number): number {
  const first = header[0] as number;
  const start = rtpFixedHeaderLength + (first & 0x0f) * 4;
  if ((first & 0x10) === 0) {
    header.writeUInt32BE(0xbede0001, start);
    header[start + 4] = (id << 4) | 1;
    header.writeUInt16BE(sequence, start + 5);
    header[start + 7] = 0;
    header[0] = first | 0x10;
    return start + 8;
  }
  const profile = header.readUInt16BE(start);
  const words = header.readUInt16BE(start + 2);
  const end = start + 4 + words * 4;
  if (profile === 0xbede) {
    header[end] = (id << 4) | 1;
    header.writeUInt16BE(sequence, end + 1);
    header[end + 3] = 0;
  } else if ((profile & 0xfff0) === 0x1000) {
    header[end] = id;
    header[end + 1] = 2;
    header.writeUInt16BE(sequence, end + 2);
  } else {
    return -1;
  }
  header.writeUInt16BE(words + 1, start + 2);
  return end + 4;
}

/**
 * Removes from the header at the start of `header` every element (RFC 8285 one-byte or two-byte
 * form) whose ID is not in `kept`: the elements after one removed move up, with the padding
 * between them, the block shrinks to the words still used, and goes when none is (the X bit
 * cleared). A publisher's elements the subscriber was never offered leave so (its MID, RID and
 * transport-wide numbers: the router numbers its own). An unreadable rest of a block stays as it
 * is. Returns the header's length after, the same when nothing was removed.
 */
export function stripHeaderExtensions(header: Buffer, kept: ReadonlySet<number>): number {
  const first = header[0] as number;
  const start = rtpFixedHeaderLength + (first & 0x0f) * 4;
  if ((first & 0x10) === 0) return start;
  const profile = header.readUInt16BE(start);
  const end = start + 4 + header.readUInt16BE(start + 2) * 4;
  const oneByte = profile === 0xbede;
  if (!oneByte && (profile & 0xfff0) !== 0x1000) return end;
  let removed = false;
  /** Where the next byte kept goes. */
  let write = start + 4;
  /** Where the last element kept ends (its bytes and those before it stay). */
  let keptEnd = start + 4;
  let position = start + 4;
  while (position < end) {
    const byte = header[position] as number;
    if (byte === 0) {
      header[write++] = 0; // padding
      position++;
      continue;
    }
    const elementId = oneByte ? byte >> 4 : byte;
    const data = oneByte ? position + 1 : position + 2;
    const length = oneByte ? (byte & 0x0f) + 1 : (header[position + 1] as number);
    if ((oneByte && elementId === 15) || data > end || data + length > end) {
      // Unreadable from here on: kept as it is.
      header.copy(header, write, position, end);
      write += end - position;
      keptEnd = write;
      break;
    }
    if (kept.has(elementId)) {
      header.copy(header, write, position, data + length);
      write += data + length - position;
      keptEnd = write;
    } else {
      removed = true;
    }
    position = data + length;
  }
  if (!removed) return end;
  const words = Math.ceil((keptEnd - start - 4) / 4);
  if (words === 0) {
    header[0] = first & ~0x10;
    return start;
  }
  const newEnd = start + 4 + words * 4;
  header.fill(0, keptEnd, newEnd);
  header.writeUInt16BE(words, start + 2);
  return newEnd;
}
