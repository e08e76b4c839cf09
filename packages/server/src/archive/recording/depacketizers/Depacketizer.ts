import type { VideoFormat } from '../matroska/matroskaLayout.js';
import type { FrameBuffer } from './FrameBuffer.js';

/**
 * Turns the RTP payloads of one frame (the packets of one timestamp, in sequence order and
 * without a gap) into the frame as Matroska stores it for the codec.
 */
export interface Depacketizer {
  /** Starts a new frame; `out` has been cleared. */
  begin(): void;
  /**
   * Adds the payload `packet[start, end)` to the frame in `out`. Returns false when the payload
   * is malformed: the frame cannot be used.
   */
  append(packet: Uint8Array, start: number, end: number, out: FrameBuffer): boolean;
  /**
   * Ends the frame. Returns whether `out` holds a whole frame: it began at a frame start and
   * nothing in it was left unfinished.
   */
  end(out: FrameBuffer): boolean;
  /** Whether the frame just ended can be decoded on its own. */
  readonly keyframe: boolean;
  /** Duration of the frame just ended in ms when the payload tells it (Opus), else 0. */
  readonly durationMs: number;
  /** For video, the size and codec private data learnt from the last keyframe; null before one. */
  readonly format: VideoFormat | null;
}
