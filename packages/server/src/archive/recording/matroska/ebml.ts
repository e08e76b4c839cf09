/**
 * EBML element encoding (RFC 8794): element IDs keep their length marker bits, data sizes are
 * variable-length integers (§4). Used to build headers, cues and patches; the per-block path of
 * `ClusterBuilder` writes its few bytes directly.
 */

/** The data size that means "unknown" in an 8-byte size field (§6.2). */
export const unknownSize8 = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** Number of bytes of an element ID, from its value (IDs keep their marker bits). */
export function idLength(id: number): number {
  if (id < 0x100) return 1;
  if (id < 0x10000) return 2;
  if (id < 0x1000000) return 3;
  return 4;
}

/** Smallest vint length that can carry a data size (all-ones values are reserved). */
export function sizeLength(size: number): number {
  let length = 1;
  while (length < 8 && size >= 2 ** (7 * length) - 1) length++;
  return length;
}

/** Writes a data size as a vint of exactly `length` bytes at `offset`; returns the offset after it. */
export function writeSize(target: Uint8Array, offset: number, size: number, length: number): number {
  if (size >= 2 ** (7 * length) - 1) throw new RangeError(`size ${size} does not fit ${length} bytes`);
  let rest = size;
  for (let i = length - 1; i > 0; i--) {
    target[offset + i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  target[offset] = rest | (0x80 >> (length - 1));
  return offset + length;
}

export function writeId(target: Uint8Array, offset: number, id: number): number {
  const length = idLength(id);
  for (let i = length - 1; i >= 0; i--) target[offset + length - 1 - i] = (id >>> (8 * i)) & 0xff;
  return offset + length;
}

/** An element with the given data; `dataSizeLength` forces a wider size field. */
export function element(id: number, data: Uint8Array, dataSizeLength = sizeLength(data.length)): Buffer {
  const out = Buffer.allocUnsafe(idLength(id) + dataSizeLength + data.length);
  let offset = writeId(out, 0, id);
  offset = writeSize(out, offset, data.length, dataSizeLength);
  out.set(data, offset);
  return out;
}

export function masterElement(id: number, children: readonly Uint8Array[], dataSizeLength?: number): Buffer {
  return element(id, Buffer.concat(children), dataSizeLength);
}

/** An unsigned integer element, in `width` bytes (default: as few as the value needs). */
export function uintElement(id: number, value: number, width = uintWidth(value)): Buffer {
  const data = Buffer.alloc(width);
  let rest = value;
  for (let i = width - 1; i >= 0; i--) {
    data[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return element(id, data);
}

export function floatElement(id: number, value: number): Buffer {
  const data = Buffer.allocUnsafe(8);
  data.writeDoubleBE(value, 0);
  return element(id, data);
}

export function stringElement(id: number, value: string): Buffer {
  return element(id, Buffer.from(value, 'utf8'));
}

/** A Void element (§11.3.2) of exactly `totalLength` bytes, at least 2. */
export function voidElement(totalLength: number): Buffer {
  for (let length = 1; length <= 8; length++) {
    const dataLength = totalLength - 1 - length;
    if (dataLength >= 0 && dataLength < 2 ** (7 * length) - 1)
      return element(ids.void, Buffer.alloc(dataLength), length);
  }
  throw new RangeError('a Void element takes at least 2 bytes');
}

function uintWidth(value: number): number {
  let width = 1;
  while (width < 8 && value >= 2 ** (8 * width)) width++;
  return width;
}

/** The Matroska element IDs Parlor writes and reads (RFC 9559 §5.1). */
export const ids = {
  ebml: 0x1a45dfa3,
  ebmlVersion: 0x4286,
  ebmlReadVersion: 0x42f7,
  ebmlMaxIdLength: 0x42f2,
  ebmlMaxSizeLength: 0x42f3,
  docType: 0x4282,
  docTypeVersion: 0x4287,
  docTypeReadVersion: 0x4285,
  void: 0xec,
  segment: 0x18538067,
  seekHead: 0x114d9b74,
  seek: 0x4dbb,
  seekId: 0x53ab,
  seekPosition: 0x53ac,
  info: 0x1549a966,
  timestampScale: 0x2ad7b1,
  duration: 0x4489,
  muxingApp: 0x4d80,
  writingApp: 0x5741,
  tracks: 0x1654ae6b,
  trackEntry: 0xae,
  trackNumber: 0xd7,
  trackUid: 0x73c5,
  trackType: 0x83,
  flagLacing: 0x9c,
  codecId: 0x86,
  codecPrivate: 0x63a2,
  codecDelay: 0x56aa,
  seekPreRoll: 0x56bb,
  video: 0xe0,
  pixelWidth: 0xb0,
  pixelHeight: 0xba,
  audio: 0xe1,
  samplingFrequency: 0xb5,
  channels: 0x9f,
  cluster: 0x1f43b675,
  timestamp: 0xe7,
  simpleBlock: 0xa3,
  cues: 0x1c53bb6b,
  cuePoint: 0xbb,
  cueTime: 0xb3,
  cueTrackPositions: 0xb7,
  cueTrack: 0xf7,
  cueClusterPosition: 0xf1,
} as const;
