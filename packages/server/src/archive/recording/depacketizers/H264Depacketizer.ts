import { avcDecoderConfiguration, nalTypes, parseSps } from '../codecs/h264.js';
import type { VideoFormat } from '../matroska/matroskaLayout.js';
import type { Depacketizer } from './Depacketizer.js';
import type { FrameBuffer } from './FrameBuffer.js';

const stapA = 24;
const fuA = 28;

/**
 * RFC 6184 in packetization mode 1 (§6.3): single NAL unit packets, STAP-A and FU-A. The access
 * unit is written as Matroska's V_MPEG4/ISO/AVC wants it: each NAL unit after a 4-byte length.
 * SPS and PPS stay in the stream and the latest ones make the avcC record.
 */
export class H264Depacketizer implements Depacketizer {
  keyframe = false;
  readonly durationMs = 0;
  format: VideoFormat | null = null;
  #sps: Buffer | null = null;
  #pps: Buffer | null = null;
  #parametersChanged = false;
  #first = true;
  #startsFrame = false;
  #broken = false;
  #hasIdr = false;
  #sawSlice = false;
  #firstSliceStartsPicture = false;
  /** Offset of the length field of the NAL unit an FU-A is filling, or -1. */
  #fragmentLengthOffset = -1;

  begin(): void {
    this.keyframe = false;
    this.#first = true;
    this.#startsFrame = false;
    this.#broken = false;
    this.#hasIdr = false;
    this.#sawSlice = false;
    this.#firstSliceStartsPicture = false;
    this.#fragmentLengthOffset = -1;
  }

  append(packet: Uint8Array, start: number, end: number, out: FrameBuffer): boolean {
    if (end <= start) return false;
    const header = packet[start] as number;
    const type = header & 0x1f;
    // The forbidden_zero_bit set marks a NAL unit known to be damaged (§5.3).
    if (header & 0x80) return false;
    if (this.#first) {
      this.#first = false;
      this.#startsFrame =
        (type >= 1 && type <= 23) ||
        type === stapA ||
        (type === fuA && end - start > 1 && ((packet[start + 1] as number) & 0x80) !== 0);
    }
    if (type >= 1 && type <= 23) {
      if (this.#fragmentLengthOffset >= 0) this.#broken = true;
      this.#appendNal(packet, start, end, out);
      return true;
    }
    if (type === stapA) return this.#appendAggregate(packet, start + 1, end, out);
    if (type === fuA) return this.#appendFragment(packet, start, end, out);
    return false;
  }

  end(out: FrameBuffer): boolean {
    if (this.#fragmentLengthOffset >= 0) this.#broken = true;
    // A slice that does not start at macroblock 0 means the picture's beginning is missing.
    const whole = this.#startsFrame && !this.#broken && this.#sawSlice && this.#firstSliceStartsPicture;
    if (!whole || out.length === 0) return false;
    this.keyframe = this.#hasIdr && this.#sps !== null && this.#pps !== null;
    if (this.keyframe && (this.#parametersChanged || !this.format) && this.#sps && this.#pps) {
      const parameters = parseSps(this.#sps);
      if (!parameters) return false;
      this.format = {
        width: parameters.width,
        height: parameters.height,
        codecPrivate: avcDecoderConfiguration(this.#sps, this.#pps, parameters),
      };
      this.#parametersChanged = false;
    }
    return true;
  }

  // STAP-A (§5.7.1): NAL units each after a 16-bit size.
  #appendAggregate(packet: Uint8Array, start: number, end: number, out: FrameBuffer): boolean {
    let offset = start;
    if (offset >= end) return false;
    while (offset < end) {
      if (offset + 2 > end) return false;
      const size = ((packet[offset] as number) << 8) | (packet[offset + 1] as number);
      offset += 2;
      if (size === 0 || offset + size > end) return false;
      this.#appendNal(packet, offset, offset + size, out);
      offset += size;
    }
    return true;
  }

  // FU-A (§5.8): FU indicator (F, NRI, 28), FU header (S, E, R, type), fragment.
  #appendFragment(packet: Uint8Array, start: number, end: number, out: FrameBuffer): boolean {
    if (end - start < 3) return false;
    const fuHeader = packet[start + 1] as number;
    if (fuHeader & 0x80) {
      if (this.#fragmentLengthOffset >= 0) this.#broken = true;
      this.#fragmentLengthOffset = out.appendLengthPlaceholder();
      out.appendByte(((packet[start] as number) & 0xe0) | (fuHeader & 0x1f));
    } else if (this.#fragmentLengthOffset < 0) {
      this.#broken = true;
      return true;
    }
    out.append(packet, start + 2, end);
    if (fuHeader & 0x40) {
      const nalStart = this.#fragmentLengthOffset + 4;
      out.writeUint32At(this.#fragmentLengthOffset, out.length - nalStart);
      this.#fragmentLengthOffset = -1;
      this.#noteNal(out.data, nalStart, out.length);
    }
    return true;
  }

  #appendNal(packet: Uint8Array, start: number, end: number, out: FrameBuffer): void {
    out.writeUint32At(out.appendLengthPlaceholder(), end - start);
    out.append(packet, start, end);
    this.#noteNal(packet, start, end);
  }

  #noteNal(nal: Uint8Array, start: number, end: number): void {
    const type = (nal[start] as number) & 0x1f;
    if (type === 1 || type === nalTypes.idr) {
      if (!this.#sawSlice) {
        this.#sawSlice = true;
        // first_mb_in_slice is ue(v): 0 is coded as a single 1 bit.
        this.#firstSliceStartsPicture = end - start > 1 && ((nal[start + 1] as number) & 0x80) !== 0;
      }
      if (type === nalTypes.idr) this.#hasIdr = true;
    } else if (type === nalTypes.sps) {
      if (!this.#sps || !this.#sps.equals(nal.subarray(start, end))) {
        this.#sps = Buffer.from(nal.subarray(start, end));
        this.#parametersChanged = true;
      }
    } else if (type === nalTypes.pps) {
      if (!this.#pps || !this.#pps.equals(nal.subarray(start, end))) {
        this.#pps = Buffer.from(nal.subarray(start, end));
        this.#parametersChanged = true;
      }
    }
  }
}
