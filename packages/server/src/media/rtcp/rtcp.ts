/**
 * The RTCP packets a router reads and writes, as parse/serialize pairs that round-trip:
 * SR and RR (RFC 3550 §6.4), generic NACK and PLI (RFC 4585 §6.2.1, §6.3.1), FIR
 * (RFC 5104 §4.3.1), REMB (draft-alvestrand-rmcat-remb §2) and transport-wide congestion
 * control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).
 */

export interface ReportBlock {
  readonly ssrc: number;
  /** Fraction of packets lost since the last report, 0–255 (as a fraction of 256). */
  readonly fractionLost: number;
  /** Cumulative packets lost (24 bits, signed). */
  readonly packetsLost: number;
  readonly highestSequence: number;
  readonly jitter: number;
  /** Middle 32 bits of the NTP time of the last SR received. */
  readonly lastSenderReport: number;
  /** Delay since that SR, in 1/65536 s. */
  readonly delaySinceLastSenderReport: number;
}

export type RtcpPacket =
  | {
      readonly type: 'sr';
      readonly ssrc: number;
      readonly ntpSeconds: number;
      readonly ntpFraction: number;
      readonly rtpTimestamp: number;
      readonly packetCount: number;
      readonly octetCount: number;
      readonly reports: readonly ReportBlock[];
    }
  | { readonly type: 'rr'; readonly ssrc: number; readonly reports: readonly ReportBlock[] }
  | {
      readonly type: 'nack';
      readonly senderSsrc: number;
      readonly mediaSsrc: number;
      readonly lost: readonly number[];
    }
  | { readonly type: 'pli'; readonly senderSsrc: number; readonly mediaSsrc: number }
  | {
      readonly type: 'fir';
      readonly senderSsrc: number;
      readonly entries: readonly { readonly ssrc: number; readonly sequence: number }[];
    }
  | {
      readonly type: 'remb';
      readonly senderSsrc: number;
      readonly bitrate: number;
      readonly ssrcs: readonly number[];
    }
  | {
      readonly type: 'transportFeedback';
      readonly senderSsrc: number;
      readonly mediaSsrc: number;
      /** Transport-wide sequence number of the first packet the feedback tells of. */
      readonly baseSequence: number;
      /** The feedback's own count (8 bits, wrapping), to spot feedback lost or reordered. */
      readonly feedbackCount: number;
      /**
       * For each packet from `baseSequence` on (sequence numbers wrap at 2^16), when it arrived,
       * ms on the receiver's clock (the reference time plus the deltas, in steps of 0.25 ms), or
       * null when it had not arrived.
       */
      readonly arrivals: readonly (number | null)[];
    }
  | { readonly type: 'other'; readonly packetType: number; readonly format: number; readonly raw: Buffer };

type TransportFeedback = Extract<RtcpPacket, { type: 'transportFeedback' }>;

const packetTypes = { sr: 200, rr: 201, rtpfb: 205, psfb: 206 } as const;
const reportBlockLength = 24;

/** Parses a compound RTCP packet; a malformed part ends the parse (earlier parts are kept). */
export function parseRtcp(compound: Buffer): RtcpPacket[] {
  const packets: RtcpPacket[] = [];
  let offset = 0;
  while (offset + 4 <= compound.length) {
    const first = compound[offset] as number;
    if (first >> 6 !== 2) break;
    const length = (compound.readUInt16BE(offset + 2) + 1) * 4;
    if (offset + length > compound.length) break;
    const packet = parseOne(compound.subarray(offset, offset + length));
    if (packet) packets.push(packet);
    offset += length;
  }
  return packets;
}

function parseOne(packet: Buffer): RtcpPacket | null {
  const format = (packet[0] as number) & 0x1f;
  const packetType = packet[1] as number;
  if (packetType === packetTypes.sr && packet.length >= 28 + format * reportBlockLength) {
    return {
      type: 'sr',
      ssrc: packet.readUInt32BE(4),
      ntpSeconds: packet.readUInt32BE(8),
      ntpFraction: packet.readUInt32BE(12),
      rtpTimestamp: packet.readUInt32BE(16),
      packetCount: packet.readUInt32BE(20),
      octetCount: packet.readUInt32BE(24),
      reports: parseReports(packet, 28, format),
    };
  }
  if (packetType === packetTypes.rr && packet.length >= 8 + format * reportBlockLength) {
    return { type: 'rr', ssrc: packet.readUInt32BE(4), reports: parseReports(packet, 8, format) };
  }
  if ((packetType === packetTypes.rtpfb || packetType === packetTypes.psfb) && packet.length >= 12) {
    const senderSsrc = packet.readUInt32BE(4);
    const mediaSsrc = packet.readUInt32BE(8);
    if (packetType === packetTypes.rtpfb && format === 1) {
      const lost: number[] = [];
      for (let offset = 12; offset + 4 <= packet.length; offset += 4) {
        const pid = packet.readUInt16BE(offset);
        const mask = packet.readUInt16BE(offset + 2);
        lost.push(pid);
        for (let bit = 0; bit < 16; bit++) if (mask & (1 << bit)) lost.push((pid + bit + 1) & 0xffff);
      }
      return { type: 'nack', senderSsrc, mediaSsrc, lost };
    }
    if (packetType === packetTypes.rtpfb && format === 15) {
      return parseTransportFeedback(packet, senderSsrc, mediaSsrc);
    }
    if (packetType === packetTypes.psfb && format === 1) return { type: 'pli', senderSsrc, mediaSsrc };
    if (packetType === packetTypes.psfb && format === 4) {
      const entries = [];
      for (let offset = 12; offset + 8 <= packet.length; offset += 8) {
        entries.push({ ssrc: packet.readUInt32BE(offset), sequence: packet[offset + 4] as number });
      }
      return { type: 'fir', senderSsrc, entries };
    }
    if (
      packetType === packetTypes.psfb &&
      format === 15 &&
      packet.length >= 20 &&
      packet.toString('latin1', 12, 16) === 'REMB'
    ) {
      const count = packet[16] as number;
      const exponent = (packet[17] as number) >> 2;
      const mantissa = (((packet[17] as number) & 0x03) << 16) | packet.readUInt16BE(18);
      if (packet.length < 20 + count * 4) return null;
      const ssrcs = Array.from({ length: count }, (_, i) => packet.readUInt32BE(20 + i * 4));
      return { type: 'remb', senderSsrc, bitrate: mantissa * 2 ** exponent, ssrcs };
    }
  }
  return { type: 'other', packetType, format, raw: packet };
}

// Transport-wide CC packet status symbols (draft §3.1.1); 3 is reserved.
const notReceived = 0;
const smallDelta = 1;
const largeDelta = 2;
const transportFeedbackHeaderLength = 20;
/** Receive deltas count in 250 µs steps. */
const quartersPerMs = 4;
/** The reference time counts in 64 ms steps. */
const referenceTimeStepMs = 64;

/** Draft §3.1: status chunks covering `packet status count` packets, then a delta per received one. */
function parseTransportFeedback(
  packet: Buffer,
  senderSsrc: number,
  mediaSsrc: number,
): TransportFeedback | null {
  if (packet.length < transportFeedbackHeaderLength) return null;
  let end = packet.length;
  if ((packet[0] as number) & 0x20) {
    // RFC 3550 §6.4.1 padding: the last byte counts the padding bytes, itself included.
    const padding = packet[end - 1] as number;
    if (padding === 0 || padding > end - transportFeedbackHeaderLength) return null;
    end -= padding;
  }
  const statusCount = packet.readUInt16BE(14);
  const symbols = new Uint8Array(statusCount);
  let covered = 0;
  let offset = transportFeedbackHeaderLength;
  while (covered < statusCount) {
    if (offset + 2 > end) return null;
    const chunk = packet.readUInt16BE(offset);
    offset += 2;
    if ((chunk & 0x8000) === 0) {
      const run = Math.min(chunk & 0x1fff, statusCount - covered);
      symbols.fill((chunk >> 13) & 0x3, covered, covered + run);
      covered += run;
    } else {
      const bits = chunk & 0x4000 ? 2 : 1;
      // A vector chunk that reaches past the last status is filled up with symbols nobody reads.
      for (let shift = 14 - bits; shift >= 0 && covered < statusCount; shift -= bits) {
        symbols[covered++] = (chunk >> shift) & ((1 << bits) - 1);
      }
    }
  }
  const referenceMs = packet.readIntBE(16, 3) * referenceTimeStepMs;
  const arrivals: (number | null)[] = [];
  let quarters = 0;
  for (const symbol of symbols) {
    if (symbol === notReceived) {
      arrivals.push(null);
      continue;
    }
    if (symbol !== smallDelta && symbol !== largeDelta) return null;
    const size = symbol === smallDelta ? 1 : 2;
    if (offset + size > end) return null;
    quarters += size === 1 ? (packet[offset] as number) : packet.readInt16BE(offset);
    offset += size;
    arrivals.push(referenceMs + quarters / quartersPerMs);
  }
  return {
    type: 'transportFeedback',
    senderSsrc,
    mediaSsrc,
    baseSequence: packet.readUInt16BE(12),
    feedbackCount: packet[19] as number,
    arrivals,
  };
}

function parseReports(packet: Buffer, start: number, count: number): ReportBlock[] {
  const reports: ReportBlock[] = [];
  for (let i = 0; i < count; i++) {
    const offset = start + i * reportBlockLength;
    const lost = packet.readUIntBE(offset + 5, 3);
    reports.push({
      ssrc: packet.readUInt32BE(offset),
      fractionLost: packet[offset + 4] as number,
      packetsLost: lost & 0x800000 ? lost - 0x1000000 : lost,
      highestSequence: packet.readUInt32BE(offset + 8),
      jitter: packet.readUInt32BE(offset + 12),
      lastSenderReport: packet.readUInt32BE(offset + 16),
      delaySinceLastSenderReport: packet.readUInt32BE(offset + 20),
    });
  }
  return reports;
}

/** Serializes one RTCP packet (concatenate several for a compound packet). */
export function serializeRtcp(packet: Exclude<RtcpPacket, { type: 'other' }>): Buffer {
  switch (packet.type) {
    case 'sr': {
      const buffer = header(
        packetTypes.sr,
        packet.reports.length,
        28 + packet.reports.length * reportBlockLength,
      );
      buffer.writeUInt32BE(packet.ssrc >>> 0, 4);
      buffer.writeUInt32BE(packet.ntpSeconds >>> 0, 8);
      buffer.writeUInt32BE(packet.ntpFraction >>> 0, 12);
      buffer.writeUInt32BE(packet.rtpTimestamp >>> 0, 16);
      buffer.writeUInt32BE(packet.packetCount >>> 0, 20);
      buffer.writeUInt32BE(packet.octetCount >>> 0, 24);
      writeReports(buffer, 28, packet.reports);
      return buffer;
    }
    case 'rr': {
      const buffer = header(
        packetTypes.rr,
        packet.reports.length,
        8 + packet.reports.length * reportBlockLength,
      );
      buffer.writeUInt32BE(packet.ssrc >>> 0, 4);
      writeReports(buffer, 8, packet.reports);
      return buffer;
    }
    case 'nack': {
      const items = nackItems(packet.lost);
      const buffer = feedbackHeader(
        packetTypes.rtpfb,
        1,
        12 + items.length * 4,
        packet.senderSsrc,
        packet.mediaSsrc,
      );
      items.forEach(([pid, mask], i) => {
        buffer.writeUInt16BE(pid, 12 + i * 4);
        buffer.writeUInt16BE(mask, 14 + i * 4);
      });
      return buffer;
    }
    case 'pli':
      return feedbackHeader(packetTypes.psfb, 1, 12, packet.senderSsrc, packet.mediaSsrc);
    case 'fir': {
      const buffer = feedbackHeader(
        packetTypes.psfb,
        4,
        12 + packet.entries.length * 8,
        packet.senderSsrc,
        0,
      );
      packet.entries.forEach((entry, i) => {
        buffer.writeUInt32BE(entry.ssrc >>> 0, 12 + i * 8);
        buffer[16 + i * 8] = entry.sequence & 0xff;
      });
      return buffer;
    }
    case 'remb': {
      const buffer = feedbackHeader(packetTypes.psfb, 15, 20 + packet.ssrcs.length * 4, packet.senderSsrc, 0);
      buffer.write('REMB', 12, 'latin1');
      buffer[16] = packet.ssrcs.length;
      let mantissa = Math.floor(packet.bitrate);
      let exponent = 0;
      while (mantissa >= 1 << 18) {
        mantissa = Math.floor(mantissa / 2);
        exponent++;
      }
      buffer[17] = (exponent << 2) | (mantissa >>> 16);
      buffer.writeUInt16BE(mantissa & 0xffff, 18);
      packet.ssrcs.forEach((ssrc, i) => buffer.writeUInt32BE(ssrc >>> 0, 20 + i * 4));
      return buffer;
    }
    case 'transportFeedback':
      return serializeTransportFeedback(packet);
  }
}

/**
 * The reference time is the first arrival's 64 ms step, kept to 24 bits: an arrival beyond
 * ±2^23 × 64 ms (about 6 days) comes back shifted by a multiple of 2^24 × 64 ms, as on the wire.
 * Padded with zero bytes, without the P bit.
 */
function serializeTransportFeedback(packet: TransportFeedback): Buffer {
  const { arrivals } = packet;
  if (arrivals.length > 0xffff) throw new TypeError('transportFeedback.arrivals: more than 65535 packets');
  const first = arrivals.find((arrival) => arrival !== null);
  const referenceTime = first === undefined ? 0 : Math.floor(first / referenceTimeStepMs);
  const symbols = new Uint8Array(arrivals.length);
  const deltas: number[] = [];
  let deltaBytes = 0;
  let previous = 0;
  arrivals.forEach((arrival, i) => {
    if (arrival === null) return;
    if (!Number.isFinite(arrival))
      throw new TypeError(`transportFeedback.arrivals[${i}]: not a finite number`);
    // Each arrival is rounded on its own, from the reference time, so rounding errors do not add up.
    const quarters = Math.round((arrival - referenceTime * referenceTimeStepMs) * quartersPerMs);
    const delta = quarters - previous;
    previous = quarters;
    if (delta >= 0 && delta <= 0xff) {
      symbols[i] = smallDelta;
      deltaBytes += 1;
    } else if (delta >= -0x8000 && delta <= 0x7fff) {
      symbols[i] = largeDelta;
      deltaBytes += 2;
    } else {
      throw new TypeError(`transportFeedback.arrivals[${i}]: more than 8192 ms from the arrival before`);
    }
    deltas.push(delta);
  });
  const chunks = statusChunks(symbols);
  const unpadded = transportFeedbackHeaderLength + chunks.length * 2 + deltaBytes;
  const buffer = feedbackHeader(
    packetTypes.rtpfb,
    15,
    Math.ceil(unpadded / 4) * 4,
    packet.senderSsrc,
    packet.mediaSsrc,
  );
  buffer.writeUInt16BE(packet.baseSequence & 0xffff, 12);
  buffer.writeUInt16BE(arrivals.length, 14);
  buffer.writeUIntBE(referenceTime & 0xffffff, 16, 3);
  buffer[19] = packet.feedbackCount & 0xff;
  let offset = transportFeedbackHeaderLength;
  for (const chunk of chunks) offset = buffer.writeUInt16BE(chunk, offset);
  let next = 0;
  for (const symbol of symbols) {
    if (symbol === smallDelta) offset = buffer.writeUInt8(deltas[next++] as number, offset);
    else if (symbol === largeDelta) offset = buffer.writeInt16BE(deltas[next++] as number, offset);
  }
  return buffer;
}

/**
 * Encodes status symbols as chunks (draft §3.1.3, §3.1.4): a run of 7 or more of one symbol as a
 * run-length chunk, anything else as a status vector, one-bit when its 14 symbols allow it.
 */
function statusChunks(symbols: Uint8Array): number[] {
  const chunks: number[] = [];
  let i = 0;
  while (i < symbols.length) {
    const symbol = symbols[i] as number;
    let run = 1;
    while (run < 0x1fff && symbols[i + run] === symbol) run++;
    if (run >= 7) {
      chunks.push((symbol << 13) | run);
      i += run;
      continue;
    }
    const oneBit = symbols.subarray(i, i + 14);
    if (oneBit.every((s) => s !== largeDelta)) {
      chunks.push(oneBit.reduce((chunk, s, k) => chunk | (s << (13 - k)), 0x8000));
      i += 14;
    } else {
      const twoBit = symbols.subarray(i, i + 7);
      chunks.push(twoBit.reduce((chunk, s, k) => chunk | (s << (12 - 2 * k)), 0xc000));
      i += 7;
    }
  }
  return chunks;
}

function header(packetType: number, count: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  buffer[0] = 0x80 | count;
  buffer[1] = packetType;
  buffer.writeUInt16BE(length / 4 - 1, 2);
  return buffer;
}

function feedbackHeader(
  packetType: number,
  format: number,
  length: number,
  senderSsrc: number,
  mediaSsrc: number,
): Buffer {
  const buffer = header(packetType, format, length);
  buffer.writeUInt32BE(senderSsrc >>> 0, 4);
  buffer.writeUInt32BE(mediaSsrc >>> 0, 8);
  return buffer;
}

function writeReports(buffer: Buffer, start: number, reports: readonly ReportBlock[]): void {
  reports.forEach((report, i) => {
    const offset = start + i * reportBlockLength;
    buffer.writeUInt32BE(report.ssrc >>> 0, offset);
    buffer[offset + 4] = report.fractionLost;
    buffer.writeUIntBE(report.packetsLost & 0xffffff, offset + 5, 3);
    buffer.writeUInt32BE(report.highestSequence >>> 0, offset + 8);
    buffer.writeUInt32BE(report.jitter >>> 0, offset + 12);
    buffer.writeUInt32BE(report.lastSenderReport >>> 0, offset + 16);
    buffer.writeUInt32BE(report.delaySinceLastSenderReport >>> 0, offset + 20);
  });
}

/** Packs lost sequence numbers into (PID, bitmask) pairs, each covering PID and the 16 after it. */
function nackItems(lost: readonly number[]): [number, number][] {
  const items: [number, number][] = [];
  for (const sequence of lost) {
    const last = items.at(-1);
    const distance = last ? (sequence - last[0]) & 0xffff : 0;
    if (last && distance >= 1 && distance <= 16) last[1] |= 1 << (distance - 1);
    else items.push([sequence & 0xffff, 0]);
  }
  return items;
}
