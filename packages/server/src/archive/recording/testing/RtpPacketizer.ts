import type { VideoCodec, VideoFrame } from './mediaFiles.js';

/**
 * A sender's side for tests and the benchmark: frames into RTP packets as a WebRTC sender
 * makes them (RFC 7587, 7741, 9628, 6184 packetization mode 1).
 */

export interface RtpPacketizerOptions {
  readonly payloadType: number;
  readonly ssrc: number;
  /** First sequence number. */
  readonly sequence: number;
  /** Largest payload per packet. Default: 1100. */
  readonly maxPayload?: number;
  /** VP9: flexible mode (F=1) instead of non-flexible. Default: false. */
  readonly vp9Flexible?: boolean;
}

export class RtpPacketizer {
  readonly #options: RtpPacketizerOptions;
  readonly #maxPayload: number;
  #sequence: number;
  #pictureId = 0;

  constructor(options: RtpPacketizerOptions) {
    this.#options = options;
    this.#sequence = options.sequence & 0xffff;
    this.#maxPayload = options.maxPayload ?? 1100;
  }

  /** One Opus packet per RTP packet. */
  opus(payload: Buffer, timestamp: number): Buffer[] {
    return [this.#packet(payload, timestamp, false)];
  }

  video(codec: VideoCodec, frame: VideoFrame, timestamp: number, width: number, height: number): Buffer[] {
    this.#pictureId = (this.#pictureId + 1) & 0x7fff;
    if (codec === 'vp8') return this.#vp8(frame, timestamp);
    if (codec === 'vp9') return this.#vp9(frame, timestamp, width, height);
    return this.#h264(frame, timestamp);
  }

  // X=1, S on the first packet, PID 0; I=1 with a 15-bit PictureID.
  #vp8(frame: VideoFrame, timestamp: number): Buffer[] {
    const chunks = split(frame.data, this.#maxPayload);
    return chunks.map((chunk, i) => {
      const descriptor = Buffer.from([
        0x80 | (i === 0 ? 0x10 : 0),
        0x80,
        0x80 | (this.#pictureId >> 8),
        this.#pictureId & 0xff,
      ]);
      return this.#packet(Buffer.concat([descriptor, chunk]), timestamp, i === chunks.length - 1);
    });
  }

  // I=1 (15-bit PictureID), P for inter frames, L with TID/SID 0 (and TL0PICIDX in
  // non-flexible mode), one P_DIFF in flexible mode, B/E, and on keyframes V with the size.
  #vp9(frame: VideoFrame, timestamp: number, width: number, height: number): Buffer[] {
    const flexible = this.#options.vp9Flexible ?? false;
    const chunks = split(frame.data, this.#maxPayload);
    return chunks.map((chunk, i) => {
      const first = i === 0;
      const last = i === chunks.length - 1;
      const withSs = first && frame.keyframe;
      let flags = 0x80 | 0x20 | (frame.keyframe ? 0 : 0x40) | (flexible ? 0x10 : 0);
      if (first) flags |= 0x08;
      if (last) flags |= 0x04;
      if (withSs) flags |= 0x02;
      const bytes = [flags, 0x80 | (this.#pictureId >> 8), this.#pictureId & 0xff, 0x00];
      if (!flexible) bytes.push(this.#pictureId & 0xff);
      if (flexible && !frame.keyframe) bytes.push(1 << 1);
      if (withSs) bytes.push(0x10, width >> 8, width & 0xff, height >> 8, height & 0xff);
      return this.#packet(Buffer.concat([Buffer.from(bytes), chunk]), timestamp, last);
    });
  }

  // Small NAL units together in STAP-A, large ones in FU-A, the rest alone.
  #h264(frame: VideoFrame, timestamp: number): Buffer[] {
    const payloads: Buffer[] = [];
    let aggregate: Buffer[] = [];
    const flushAggregate = (): void => {
      if (aggregate.length === 1) payloads.push(aggregate[0] as Buffer);
      else if (aggregate.length > 1) {
        const nri = Math.max(...aggregate.map((nal) => (nal[0] as number) & 0x60));
        payloads.push(
          Buffer.concat([Buffer.from([nri | 24]), ...aggregate.flatMap((nal) => [u16(nal.length), nal])]),
        );
      }
      aggregate = [];
    };
    for (const nal of frame.nalUnits) {
      if (nal.length > this.#maxPayload) {
        flushAggregate();
        const header = nal[0] as number;
        const fragments = split(nal.subarray(1), this.#maxPayload - 2);
        fragments.forEach((fragment, i) => {
          const fuHeader = (i === 0 ? 0x80 : 0) | (i === fragments.length - 1 ? 0x40 : 0) | (header & 0x1f);
          payloads.push(Buffer.concat([Buffer.from([(header & 0xe0) | 28, fuHeader]), fragment]));
        });
      } else {
        const aggregated = aggregate.reduce((sum, n) => sum + 2 + n.length, 1);
        if (aggregated + 2 + nal.length > this.#maxPayload) flushAggregate();
        aggregate.push(nal);
      }
    }
    flushAggregate();
    return payloads.map((payload, i) => this.#packet(payload, timestamp, i === payloads.length - 1));
  }

  #packet(payload: Buffer, timestamp: number, marker: boolean): Buffer {
    const packet = Buffer.alloc(12 + payload.length);
    packet[0] = 0x80;
    packet[1] = (marker ? 0x80 : 0) | this.#options.payloadType;
    packet.writeUInt16BE(this.#sequence, 2);
    packet.writeUInt32BE(timestamp >>> 0, 4);
    packet.writeUInt32BE(this.#options.ssrc >>> 0, 8);
    payload.copy(packet, 12);
    this.#sequence = (this.#sequence + 1) & 0xffff;
    return packet;
  }
}

function split(data: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += size)
    chunks.push(data.subarray(offset, offset + size));
  return chunks;
}

function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value, 0);
  return out;
}
