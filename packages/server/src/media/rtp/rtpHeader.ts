/**
 * Reading and rewriting RTP fixed headers in place (RFC 3550 §5.1), without allocating: the
 * forwarding path parses each packet once and touches only the fields it rewrites.
 */

export const rtpFixedHeaderLength = 12;

/**
 * Length of the RTP header including CSRCs and the header extension, or -1 when the buffer is
 * not a well-formed RTP packet of version 2.
 */
export function rtpHeaderLength(packet: Uint8Array): number {
  if (packet.length < rtpFixedHeaderLength) return -1;
  const first = packet[0] as number;
  if (first >> 6 !== 2) return -1;
  let length = rtpFixedHeaderLength + (first & 0x0f) * 4;
  if (first & 0x10) {
    if (packet.length < length + 4) return -1;
    length += 4 + (((packet[length + 2] as number) << 8) | (packet[length + 3] as number)) * 4;
  }
  return length <= packet.length ? length : -1;
}

export function readSequenceNumber(packet: Uint8Array): number {
  return ((packet[2] as number) << 8) | (packet[3] as number);
}

export function readTimestamp(packet: Uint8Array): number {
  return (
    (((packet[4] as number) << 24) |
      ((packet[5] as number) << 16) |
      ((packet[6] as number) << 8) |
      (packet[7] as number)) >>>
    0
  );
}

export function readSsrc(packet: Uint8Array): number {
  return (
    (((packet[8] as number) << 24) |
      ((packet[9] as number) << 16) |
      ((packet[10] as number) << 8) |
      (packet[11] as number)) >>>
    0
  );
}

export function readPayloadType(packet: Uint8Array): number {
  return (packet[1] as number) & 0x7f;
}

export function isMarked(packet: Uint8Array): boolean {
  return ((packet[1] as number) & 0x80) !== 0;
}

export function writeSequenceNumber(packet: Uint8Array, sequenceNumber: number): void {
  packet[2] = (sequenceNumber >>> 8) & 0xff;
  packet[3] = sequenceNumber & 0xff;
}

export function writeTimestamp(packet: Uint8Array, timestamp: number): void {
  writeUint32(packet, 4, timestamp);
}

export function writeSsrc(packet: Uint8Array, ssrc: number): void {
  writeUint32(packet, 8, ssrc);
}

export function writePayloadType(packet: Uint8Array, payloadType: number): void {
  packet[1] = ((packet[1] as number) & 0x80) | (payloadType & 0x7f);
}

/** Extends a 16-bit sequence number to the cycle nearest a reference extended one. */
export function extendSequenceNumber(sequence: number, reference: number): number {
  const base = reference - (reference & 0xffff);
  let candidate = base + sequence;
  if (candidate - reference > 0x8000) candidate -= 0x10000;
  else if (reference - candidate > 0x8000) candidate += 0x10000;
  return candidate;
}

function writeUint32(packet: Uint8Array, offset: number, value: number): void {
  packet[offset] = (value >>> 24) & 0xff;
  packet[offset + 1] = (value >>> 16) & 0xff;
  packet[offset + 2] = (value >>> 8) & 0xff;
  packet[offset + 3] = value & 0xff;
}
