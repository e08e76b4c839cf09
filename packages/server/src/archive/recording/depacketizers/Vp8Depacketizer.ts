import { isVp8Keyframe, vp8KeyframeSize } from '../codecs/vp8.js';
import type { VideoFormat } from '../matroska/matroskaLayout.js';
import type { Depacketizer } from './Depacketizer.js';
import type { FrameBuffer } from './FrameBuffer.js';

/**
 * Length of the VP8 payload descriptor (RFC 7741 §4.2) at `start`, or -1 when it is cut short.
 *
 *   X R N S R PID | I L T K RSV | M PictureID (7 or 15 bits) | TL0PICIDX | TID Y KEYIDX
 */
export function vp8DescriptorLength(packet: Uint8Array, start: number, end: number): number {
  if (end <= start) return -1;
  let offset = start + 1;
  if ((packet[start] as number) & 0x80) {
    if (offset >= end) return -1;
    const extension = packet[offset++] as number;
    if (extension & 0x80) {
      if (offset >= end) return -1;
      offset += (packet[offset] as number) & 0x80 ? 2 : 1;
    }
    if (extension & 0x40) offset++;
    if (extension & 0x30) offset++;
  }
  return offset <= end ? offset - start : -1;
}

/** RFC 7741: VP8 frames, which start with S set and partition index 0. */
export class Vp8Depacketizer implements Depacketizer {
  keyframe = false;
  readonly durationMs = 0;
  format: VideoFormat | null = null;
  #first = true;
  #startsFrame = false;

  begin(): void {
    this.keyframe = false;
    this.#first = true;
    this.#startsFrame = false;
  }

  append(packet: Uint8Array, start: number, end: number, out: FrameBuffer): boolean {
    const descriptorLength = vp8DescriptorLength(packet, start, end);
    if (descriptorLength < 0) return false;
    const payloadStart = start + descriptorLength;
    if (this.#first) {
      this.#first = false;
      // S set and PID 0: the first packet of a frame, which begins with the VP8 payload header.
      this.#startsFrame = ((packet[start] as number) & 0x1f) === 0x10;
      if (this.#startsFrame && isVp8Keyframe(packet, payloadStart, end)) {
        const size = vp8KeyframeSize(packet, payloadStart, end);
        if (!size) return false;
        this.keyframe = true;
        this.format = size;
      }
    }
    out.append(packet, payloadStart, end);
    return true;
  }

  end(out: FrameBuffer): boolean {
    return this.#startsFrame && out.length > 0;
  }
}
