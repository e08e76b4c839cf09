/** Opus facts a Matroska track needs: the OpusHead (RFC 7845 §5.1) and packet durations (RFC 6716 §3.1). */

/** Samples at 48 kHz the decoder drops at the start: libopus's encoder lookahead, 6.5 ms. */
export const opusPreSkip = 312;
/** What a decoder needs to converge after a seek (RFC 7845 §4.6 recommends 80 ms). */
export const opusSeekPreRollNs = 80_000_000;
export const opusCodecDelayNs = Math.round((opusPreSkip / 48_000) * 1e9);

/** The 19-byte identification header, channel mapping family 0 (mono or stereo). */
export function opusHead(channels: number): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1;
  head[9] = channels;
  head.writeUInt16LE(opusPreSkip, 10);
  head.writeUInt32LE(48_000, 12);
  head.writeInt16LE(0, 16);
  head[18] = 0;
  return head;
}

/** Frame length in 48 kHz samples by TOC configuration, in groups of four (RFC 6716 §3.1 table 2). */
const frameSamples = [
  480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 480, 960, 120, 240, 480, 960,
  120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960,
];

/**
 * Duration of an Opus packet in milliseconds from its TOC byte (and frame count byte for code 3),
 * or 0 when the packet is too short to tell.
 */
export function opusPacketDurationMs(packet: Uint8Array, start: number, end: number): number {
  if (end <= start) return 0;
  const toc = packet[start] as number;
  const samples = frameSamples[toc >> 3] as number;
  const code = toc & 0x03;
  let frames = 1;
  if (code === 1 || code === 2) frames = 2;
  else if (code === 3) {
    if (end - start < 2) return 0;
    frames = (packet[start + 1] as number) & 0x3f;
  }
  return (samples * frames) / 48;
}
