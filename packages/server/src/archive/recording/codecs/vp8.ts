/** The VP8 frame header (RFC 6386 §9.1): whether a frame is a keyframe, and its size if so. */

/** Whether the frame starting at `start` is a keyframe: bit 0 of the frame tag is clear. */
export function isVp8Keyframe(frame: Uint8Array, start: number, end: number): boolean {
  return end > start && ((frame[start] as number) & 0x01) === 0;
}

/** Width and height from a keyframe's header, or null when it is not a well-formed keyframe. */
export function vp8KeyframeSize(
  frame: Uint8Array,
  start: number,
  end: number,
): { width: number; height: number } | null {
  if (end - start < 10 || !isVp8Keyframe(frame, start, end)) return null;
  if (frame[start + 3] !== 0x9d || frame[start + 4] !== 0x01 || frame[start + 5] !== 0x2a) return null;
  // 14 bits of size, 2 of upscaling that a decoder applies, not the container.
  const width = ((frame[start + 6] as number) | ((frame[start + 7] as number) << 8)) & 0x3fff;
  const height = ((frame[start + 8] as number) | ((frame[start + 9] as number) << 8)) & 0x3fff;
  return width > 0 && height > 0 ? { width, height } : null;
}
