import type { VideoPacketInfo } from './videoPayload.js';

/**
 * Keeps the VP8/VP9 picture IDs and base-layer picture indexes of one subscriber's stream
 * continuous across layer switches and dropped frames. Receivers need that: libwebrtc's frame
 * reference finder waits for every picture ID it has not seen before decoding the frames after
 * it, and a picture ID going back across a switch reads as an old frame.
 */
export class PictureIdRewriter {
  /** Added to source picture IDs and indexes (modulo their width). */
  #pictureIdDelta = 0;
  #tl0PicIdxDelta = 0;
  /** The newest outgoing values, -1 before any. */
  #lastPictureId = -1;
  #lastTl0PicIdx = -1;
  /** The source picture ID of the last dropped frame, so that its other packets count once. */
  #lastDroppedPictureId = -1;
  #newSegment = true;
  #pictureId = 0;
  #tl0PicIdx = 0;

  /** The next forwarded packet starts a new source stream (a keyframe of another layer). */
  switchSource(): void {
    this.#newSegment = true;
  }

  /** A packet of a frame left out: the pictures after it are numbered as if it never existed. */
  drop(info: VideoPacketInfo): void {
    if (info.pictureIdOffset < 0 || this.#newSegment || info.pictureId === this.#lastDroppedPictureId) return;
    this.#lastDroppedPictureId = info.pictureId;
    this.#pictureIdDelta--;
  }

  /**
   * Works out a forwarded packet's outgoing picture ID and index; true when they differ from the
   * packet's, which must then be rewritten (in a copy of its own) with `write`.
   */
  map(info: VideoPacketInfo): boolean {
    if (info.pictureIdOffset < 0) return false;
    const modulus = info.pictureIdBits === 15 ? 0x8000 : 0x80;
    if (this.#newSegment) {
      this.#newSegment = false;
      this.#lastDroppedPictureId = -1;
      this.#pictureIdDelta = this.#lastPictureId < 0 ? 0 : this.#lastPictureId + 1 - info.pictureId;
      this.#tl0PicIdxDelta =
        this.#lastTl0PicIdx < 0 || info.tl0PicIdxOffset < 0 ? 0 : this.#lastTl0PicIdx + 1 - info.tl0PicIdx;
    }
    this.#pictureId = modulo(info.pictureId + this.#pictureIdDelta, modulus);
    if (this.#lastPictureId < 0 || isAhead(this.#pictureId, this.#lastPictureId, modulus))
      this.#lastPictureId = this.#pictureId;
    let changed = this.#pictureId !== info.pictureId;
    if (info.tl0PicIdxOffset >= 0) {
      this.#tl0PicIdx = modulo(info.tl0PicIdx + this.#tl0PicIdxDelta, 0x100);
      if (this.#lastTl0PicIdx < 0 || isAhead(this.#tl0PicIdx, this.#lastTl0PicIdx, 0x100))
        this.#lastTl0PicIdx = this.#tl0PicIdx;
      changed ||= this.#tl0PicIdx !== info.tl0PicIdx;
    }
    return changed;
  }

  /** Writes the values the last `map` worked out into the packet (the subscriber's own copy). */
  write(packet: Buffer, info: VideoPacketInfo): void {
    if (info.pictureIdBits === 15) {
      packet[info.pictureIdOffset] = 0x80 | (this.#pictureId >> 8);
      packet[info.pictureIdOffset + 1] = this.#pictureId & 0xff;
    } else {
      packet[info.pictureIdOffset] = this.#pictureId;
    }
    if (info.tl0PicIdxOffset >= 0) packet[info.tl0PicIdxOffset] = this.#tl0PicIdx;
  }
}

function modulo(value: number, modulus: number): number {
  return ((value % modulus) + modulus) % modulus;
}

/** Whether `a` comes after `b` in a numbering that wraps at `modulus`. */
function isAhead(a: number, b: number, modulus: number): boolean {
  const difference = modulo(a - b, modulus);
  return difference !== 0 && difference < modulus / 2;
}
