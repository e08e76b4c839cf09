/**
 * The send-time stamp: publishers write `performance.now()` (ms, float64 little-endian) into
 * the last 8 bytes of every RTP payload just before sending; subscribers in the same process
 * read it back to measure latency. No SFU looks that far into a payload (they rewrite headers
 * only), and no subscriber decodes, so the media may carry it.
 */
export const sendTimeStampLength = 8;

/** Stamps an RTP packet (header included) that has room for the stamp at its end. */
export function stampSendTime(packet: Buffer, nowMs: number): void {
  packet.writeDoubleLE(nowMs, packet.length - sendTimeStampLength);
}

/** The send time a payload (as the receiver has it, padding removed) carries, or NaN. */
export function readSendTime(payload: Buffer): number {
  return payload.length >= sendTimeStampLength
    ? payload.readDoubleLE(payload.length - sendTimeStampLength)
    : Number.NaN;
}
