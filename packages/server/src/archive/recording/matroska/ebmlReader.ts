import type { FileHandle } from 'node:fs/promises';

/** Reading EBML elements back (RFC 8794 §4, §5): the recovery of a cut recording walks a file with it. */

export interface ElementHeader {
  readonly id: number;
  readonly position: number;
  readonly dataStart: number;
  /** Data size, or -1 for "unknown". */
  readonly size: number;
  /** Where the element ends; Infinity when its size is unknown. */
  readonly end: number;
  /** Bytes of the size field. */
  readonly sizeLength: number;
}

/** Reads a vint at `offset`: its value without the marker bit, and its length; null if cut short or invalid. */
export function readVint(data: Uint8Array, offset: number): { value: number; length: number } | null {
  const first = data[offset];
  if (first === undefined || first === 0) return null;
  const length = Math.clz32(first) - 23;
  if (offset + length > data.length) return null;
  let value = first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    const byte = data[offset + i] as number;
    value = value * 256 + byte;
    allOnes &&= byte === 0xff;
  }
  return { value: allOnes ? -1 : value, length };
}

/** An element header in `data` at `offset` (file position `position`); null if cut short. */
export function parseElementHeader(data: Uint8Array, offset: number, position: number): ElementHeader | null {
  const first = data[offset];
  if (first === undefined || first === 0) return null;
  const idLength = Math.clz32(first) - 23;
  if (idLength > 4 || offset + idLength > data.length) return null;
  let id = 0;
  for (let i = 0; i < idLength; i++) id = id * 256 + (data[offset + i] as number);
  const size = readVint(data, offset + idLength);
  if (!size) return null;
  const dataStart = position + idLength + size.length;
  return {
    id,
    position,
    dataStart,
    size: size.value,
    end: size.value < 0 ? Infinity : dataStart + size.value,
    sizeLength: size.length,
  };
}

/** The children of a master element whose data is in memory. */
export function* childElements(data: Uint8Array): Generator<ElementHeader & { readonly data: Uint8Array }> {
  let offset = 0;
  while (offset < data.length) {
    const header = parseElementHeader(data, offset, offset);
    if (!header || header.end > data.length) return;
    yield { ...header, data: data.subarray(header.dataStart, header.end) };
    offset = header.end;
  }
}

export function readUint(data: Uint8Array): number {
  let value = 0;
  for (const byte of data) value = value * 256 + byte;
  return value;
}

/** Reads the header of the element at `position` of a file of `fileSize` bytes. */
export async function readElementHeader(
  file: FileHandle,
  position: number,
  fileSize: number,
): Promise<ElementHeader | null> {
  const buffer = Buffer.alloc(Math.min(12, fileSize - position));
  if (buffer.length === 0) return null;
  await file.read(buffer, 0, buffer.length, position);
  return parseElementHeader(buffer, 0, position);
}

export async function readBytes(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}
