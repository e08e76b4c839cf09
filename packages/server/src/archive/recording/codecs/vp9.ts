import { BitReader } from './BitReader.js';

/**
 * The size of a VP9 keyframe from its uncompressed header (VP9 bitstream specification §6.2),
 * or null when the frame is not a keyframe or its header is cut short.
 */
export function vp9KeyframeSize(
  frame: Uint8Array,
  start: number,
  end: number,
): { width: number; height: number } | null {
  const reader = new BitReader(frame, start, end);
  if (reader.bits(2) !== 2) return null;
  const profile = reader.bit() | (reader.bit() << 1);
  if (profile === 3) reader.skip(1);
  if (reader.bit() === 1) return null; // show_existing_frame
  if (reader.bit() !== 0) return null; // frame_type: 0 is KEY_FRAME
  reader.skip(2); // show_frame, error_resilient_mode
  if (reader.bits(24) !== 0x498342) return null; // frame_sync_code
  if (profile >= 2) reader.skip(1); // ten_or_twelve_bit
  const colorSpace = reader.bits(3);
  if (colorSpace !== 7) {
    reader.skip(1); // color_range
    if (profile === 1 || profile === 3) reader.skip(3); // subsampling_x, subsampling_y, reserved
  } else if (profile === 1 || profile === 3) {
    reader.skip(1);
  }
  const width = reader.bits(16) + 1;
  const height = reader.bits(16) + 1;
  return reader.overrun ? null : { width, height };
}

/**
 * Writes at `offset` the superframe index (VP9 bitstream specification Annex B) that follows
 * the frames of one picture, given their sizes: how one Matroska block carries the layer frames
 * of a spatially scalable picture. Returns the index length.
 */
export function writeSuperframeIndex(
  target: Uint8Array,
  offset: number,
  frameSizes: readonly number[],
): number {
  const bytesPerSize = sizeBytes(Math.max(...frameSizes));
  const marker = 0xc0 | ((bytesPerSize - 1) << 3) | (frameSizes.length - 1);
  let position = offset;
  target[position++] = marker;
  for (const size of frameSizes) {
    for (let i = 0; i < bytesPerSize; i++) target[position++] = (size >>> (8 * i)) & 0xff;
  }
  target[position++] = marker;
  return position - offset;
}

export function superframeIndexLength(frameCount: number, largestFrame: number): number {
  return 2 + frameCount * sizeBytes(largestFrame);
}

function sizeBytes(size: number): number {
  return size < 0x100 ? 1 : size < 0x10000 ? 2 : size < 0x1000000 ? 3 : 4;
}
