/** The RTP header fields a call's media reads and writes (RFC 3550 §5.1). */
export interface RtpFields {
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  readonly marker: boolean;
}

export interface RtpPacket extends RtpFields {
  readonly payload: Buffer;
}

/** Writes a packet with a 12-byte header (no CSRC, no extension). */
export function serializeRtp(fields: RtpFields, payload: Uint8Array): Buffer {
  const packet = Buffer.allocUnsafe(12 + payload.length);
  packet[0] = 0x80;
  packet[1] = (fields.marker ? 0x80 : 0) | (fields.payloadType & 0x7f);
  packet.writeUInt16BE(fields.sequenceNumber & 0xffff, 2);
  packet.writeUInt32BE(fields.timestamp >>> 0, 4);
  packet.writeUInt32BE(fields.ssrc >>> 0, 8);
  packet.set(payload, 12);
  return packet;
}

/** Reads an RTP packet, skipping CSRCs, extension and padding; null when it is not one. */
export function parseRtp(packet: Buffer): RtpPacket | null {
  if (packet.length < 12 || packet.readUInt8(0) >> 6 !== 2) return null;
  const csrcCount = packet.readUInt8(0) & 0x0f;
  let offset = 12 + 4 * csrcCount;
  if (packet.readUInt8(0) & 0x10) {
    if (packet.length < offset + 4) return null;
    offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  }
  let end = packet.length;
  if (packet.readUInt8(0) & 0x20) end -= packet.readUInt8(packet.length - 1);
  if (offset > end) return null;
  const payloadType = packet.readUInt8(1) & 0x7f;
  // RTCP sent on the RTP port (types 200–204 read as payload types 72–76 with the marker set).
  if (payloadType >= 72 && payloadType <= 76) return null;
  return {
    payloadType,
    marker: (packet.readUInt8(1) & 0x80) !== 0,
    sequenceNumber: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    payload: packet.subarray(offset, end),
  };
}

/** One RFC 4733 §2.3 event payload: the event (0–9, 10 = *, 11 = #), end bit, volume, duration. */
export interface TelephoneEvent {
  readonly event: number;
  readonly end: boolean;
  /** Power level in -dBm0, 0–63. */
  readonly volume: number;
  /** In RTP timestamp units since the event began. */
  readonly duration: number;
}

export function serializeTelephoneEvent(event: TelephoneEvent): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload[0] = event.event;
  payload[1] = (event.end ? 0x80 : 0) | (event.volume & 0x3f);
  payload.writeUInt16BE(Math.min(event.duration, 0xffff), 2);
  return payload;
}

export function parseTelephoneEvent(payload: Buffer): TelephoneEvent | null {
  if (payload.length < 4) return null;
  return {
    event: payload.readUInt8(0),
    end: (payload.readUInt8(1) & 0x80) !== 0,
    volume: payload.readUInt8(1) & 0x3f,
    duration: payload.readUInt16BE(2),
  };
}

const digits = '0123456789*#';

/** The RFC 4733 event of a DTMF digit, or undefined. */
export function dtmfEvent(digit: string): number | undefined {
  const index = digits.indexOf(digit);
  return index < 0 || digit.length !== 1 ? undefined : index;
}

/** The DTMF digit of an RFC 4733 event, or null (A–D, flash and others). */
export function dtmfDigit(event: number): string | null {
  return digits[event] ?? null;
}
