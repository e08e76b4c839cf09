import { opusPacketDurationMs } from '../codecs/opus.js';
import type { Depacketizer } from './Depacketizer.js';
import type { FrameBuffer } from './FrameBuffer.js';

/** RFC 7587 §4.2: the payload is one Opus packet; every packet is a frame of its own. */
export class OpusDepacketizer implements Depacketizer {
  readonly keyframe = true;
  readonly format = null;
  durationMs = 0;

  begin(): void {
    this.durationMs = 0;
  }

  append(packet: Uint8Array, start: number, end: number, out: FrameBuffer): boolean {
    if (out.length > 0 || end <= start) return false;
    this.durationMs = opusPacketDurationMs(packet, start, end);
    out.append(packet, start, end);
    return true;
  }

  end(out: FrameBuffer): boolean {
    return out.length > 0;
  }
}
