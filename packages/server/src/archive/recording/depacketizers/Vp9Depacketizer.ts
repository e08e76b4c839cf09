import { superframeIndexLength, vp9KeyframeSize, writeSuperframeIndex } from '../codecs/vp9.js';
import type { VideoFormat } from '../matroska/matroskaLayout.js';
import type { Depacketizer } from './Depacketizer.js';
import type { FrameBuffer } from './FrameBuffer.js';

/** What the VP9 payload descriptor of one packet says (RFC 9628 §4.2). */
export interface Vp9Descriptor {
  /** Bytes of the descriptor; the VP9 payload follows. */
  readonly length: number;
  /** P: the layer frame uses inter-picture prediction. */
  readonly interPicturePredicted: boolean;
  /** B and E: the packet begins or ends a layer frame. */
  readonly beginsFrame: boolean;
  readonly endsFrame: boolean;
  /** SID, 0 when layer indices are absent. */
  readonly spatialLayer: number;
  /** The largest layer's resolution when the scalability structure gives one. */
  readonly width: number;
  readonly height: number;
}

/**
 * Parses the descriptor at `start`; null when it is cut short or inconsistent.
 *
 *   I P L F B E V Z | M PictureID (7 or 15 bits) | TID U SID D | TL0PICIDX (F=0) |
 *   P_DIFF N (F=1 and P=1, up to 3) | SS (V=1)
 */
export function parseVp9Descriptor(packet: Uint8Array, start: number, end: number): Vp9Descriptor | null {
  if (end <= start) return null;
  const flags = packet[start] as number;
  const flexible = (flags & 0x10) !== 0;
  const interPicturePredicted = (flags & 0x40) !== 0;
  let offset = start + 1;
  if (flags & 0x80) {
    if (offset >= end) return null;
    offset += (packet[offset] as number) & 0x80 ? 2 : 1;
  }
  let spatialLayer = 0;
  if (flags & 0x20) {
    if (offset >= end) return null;
    spatialLayer = ((packet[offset] as number) >> 1) & 0x07;
    offset += flexible ? 1 : 2;
  }
  if (flexible && interPicturePredicted) {
    for (let i = 0; ; i++) {
      if (offset >= end || i === 3) return null;
      if (((packet[offset++] as number) & 0x01) === 0) break;
    }
  }
  let width = 0;
  let height = 0;
  if (flags & 0x02) {
    if (offset >= end) return null;
    const ss = packet[offset++] as number;
    const layers = (ss >> 5) + 1;
    if (ss & 0x10) {
      if (offset + 4 * layers > end) return null;
      const last = offset + 4 * (layers - 1);
      width = ((packet[last] as number) << 8) | (packet[last + 1] as number);
      height = ((packet[last + 2] as number) << 8) | (packet[last + 3] as number);
      offset += 4 * layers;
    }
    if (ss & 0x08) {
      if (offset >= end) return null;
      const pictures = packet[offset++] as number;
      for (let i = 0; i < pictures; i++) {
        if (offset >= end) return null;
        offset += 1 + (((packet[offset] as number) >> 2) & 0x03);
      }
    }
  }
  if (offset > end) return null;
  return {
    length: offset - start,
    interPicturePredicted,
    beginsFrame: (flags & 0x08) !== 0,
    endsFrame: (flags & 0x04) !== 0,
    spatialLayer,
    width,
    height,
  };
}

/** Most layer frames a superframe index can list. */
const maxLayerFrames = 8;

/**
 * RFC 9628: a picture is the layer frames of one timestamp, each from a packet with B to one
 * with E. A picture of several spatial layers becomes one VP9 superframe. It is a keyframe when
 * its first layer frame is the base layer without inter-picture prediction.
 */
export class Vp9Depacketizer implements Depacketizer {
  keyframe = false;
  readonly durationMs = 0;
  format: VideoFormat | null = null;
  readonly #layerSizes: number[] = [];
  #layerStart = -1;
  #first = true;
  #startsFrame = false;
  #broken = false;
  #width = 0;
  #height = 0;

  begin(): void {
    this.keyframe = false;
    this.#layerSizes.length = 0;
    this.#layerStart = -1;
    this.#first = true;
    this.#startsFrame = false;
    this.#broken = false;
    this.#width = 0;
    this.#height = 0;
  }

  append(packet: Uint8Array, start: number, end: number, out: FrameBuffer): boolean {
    const descriptor = parseVp9Descriptor(packet, start, end);
    if (!descriptor) return false;
    if (this.#first) {
      this.#first = false;
      this.#startsFrame = descriptor.beginsFrame;
      this.keyframe =
        descriptor.beginsFrame && !descriptor.interPicturePredicted && descriptor.spatialLayer === 0;
    }
    if (descriptor.width > 0) {
      this.#width = descriptor.width;
      this.#height = descriptor.height;
    }
    if (descriptor.beginsFrame) {
      if (this.#layerStart >= 0) this.#broken = true;
      this.#layerStart = out.length;
    } else if (this.#layerStart < 0) {
      this.#broken = true;
    }
    out.append(packet, start + descriptor.length, end);
    if (descriptor.endsFrame) this.#endLayerFrame(out);
    return true;
  }

  end(out: FrameBuffer): boolean {
    // The marker bit ends the last layer frame even when E was not set.
    if (this.#layerStart >= 0) this.#endLayerFrame(out);
    const whole = this.#startsFrame && !this.#broken && this.#layerSizes.length > 0;
    if (!whole) return false;
    if (this.keyframe) {
      const size =
        this.#width > 0
          ? { width: this.#width, height: this.#height }
          : vp9KeyframeSize(out.data, 0, this.#layerSizes[0] ?? 0);
      if (!size) return false;
      this.format = size;
    }
    if (this.#layerSizes.length > 1) {
      if (this.#layerSizes.length > maxLayerFrames) return false;
      out.reserve(superframeIndexLength(this.#layerSizes.length, Math.max(...this.#layerSizes)));
      out.length += writeSuperframeIndex(out.data, out.length, this.#layerSizes);
    }
    return true;
  }

  #endLayerFrame(out: FrameBuffer): void {
    this.#layerSizes.push(out.length - this.#layerStart);
    this.#layerStart = -1;
  }
}
