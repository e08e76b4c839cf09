import {
  readSequenceNumber,
  rtpHeaderLength,
  writePayloadType,
  writeSequenceNumber,
  writeSsrc,
} from './rtpHeader.js';

/** An outgoing RTX stream (RFC 4588): its SSRC, payload type and next sequence number. */
export interface RtxStream {
  readonly ssrc: number;
  readonly payloadType: number;
  /** The sequence number the next RTX packet gets. */
  sequence: number;
}

/**
 * The RTX packet that retransmits `packet` (RFC 4588 §4): the header as sent (`header`, the
 * packet's header rewritten at the start of a buffer; CSRCs, extensions, marker and timestamp
 * kept), on the stream's SSRC, payload type and next sequence number, and a payload of the
 * original sequence number (OSN) followed by the original payload. Advances the stream.
 */
export function serializeRtx(packet: Buffer, header: Buffer, stream: RtxStream): Buffer {
  const payloadStart = rtpHeaderLength(packet);
  const headerLength = rtpHeaderLength(header);
  if (payloadStart < 0 || headerLength < 0) throw new TypeError('not an RTP packet');
  const rtx = Buffer.allocUnsafe(headerLength + 2 + packet.length - payloadStart);
  header.copy(rtx, 0, 0, headerLength);
  rtx.writeUInt16BE(readSequenceNumber(header), headerLength);
  packet.copy(rtx, headerLength + 2, payloadStart);
  writeSsrc(rtx, stream.ssrc);
  writePayloadType(rtx, stream.payloadType);
  writeSequenceNumber(rtx, stream.sequence);
  stream.sequence = (stream.sequence + 1) & 0xffff;
  return rtx;
}
