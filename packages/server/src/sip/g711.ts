/**
 * G.711 (ITU-T G.711) µ-law and A-law: one byte per 16-bit sample, 8 kHz. The segment
 * arithmetic of the ITU reference (G.191's g711.c).
 */

const ulawBias = 0x84;
const ulawClip = 32635;

/** Encodes one 16-bit linear sample as µ-law. */
export function linearToUlaw(sample: number): number {
  let value = sample;
  const sign = value < 0 ? 0x80 : 0;
  if (sign) value = -value;
  if (value > ulawClip) value = ulawClip;
  value += ulawBias;
  let exponent = 7;
  for (let mask = 0x4000; (value & mask) === 0 && exponent > 0; mask >>= 1) exponent -= 1;
  const mantissa = (value >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** Decodes one µ-law byte to a 16-bit linear sample. */
export function ulawToLinear(code: number): number {
  const value = ~code & 0xff;
  const exponent = (value >> 4) & 0x07;
  const magnitude = ((((value & 0x0f) << 3) + ulawBias) << exponent) - ulawBias;
  return value & 0x80 ? 0 - magnitude : magnitude;
}

/** Encodes one 16-bit linear sample as A-law. */
export function linearToAlaw(sample: number): number {
  let value = sample >> 3;
  let mask: number;
  if (value >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    value = -value - 1;
  }
  let segment = 0;
  while (segment < 8 && value >= 0x20 << segment) segment += 1;
  if (segment >= 8) return 0x7f ^ mask;
  const mantissa = segment < 2 ? (value >> 1) & 0x0f : (value >> segment) & 0x0f;
  return ((segment << 4) | mantissa) ^ mask;
}

/** Decodes one A-law byte to a 16-bit linear sample. */
export function alawToLinear(code: number): number {
  const value = code ^ 0x55;
  const segment = (value & 0x70) >> 4;
  let magnitude = (value & 0x0f) << 4;
  if (segment === 0) magnitude += 8;
  else magnitude = (magnitude + 0x108) << (segment - 1);
  return value & 0x80 ? magnitude : -magnitude;
}

const ulawTable = Int16Array.from({ length: 256 }, (_, code) => ulawToLinear(code));
const alawTable = Int16Array.from({ length: 256 }, (_, code) => alawToLinear(code));

/** Encodes samples into a new buffer of one byte each. */
export function encodeG711(law: 'ulaw' | 'alaw', samples: Int16Array): Buffer {
  const out = Buffer.allocUnsafe(samples.length);
  const encode = law === 'ulaw' ? linearToUlaw : linearToAlaw;
  for (let i = 0; i < samples.length; i += 1) out[i] = encode(samples[i] ?? 0);
  return out;
}

/** Decodes a payload of G.711 bytes into samples. */
export function decodeG711(law: 'ulaw' | 'alaw', payload: Uint8Array): Int16Array {
  const table = law === 'ulaw' ? ulawTable : alawTable;
  const out = new Int16Array(payload.length);
  for (let i = 0; i < payload.length; i += 1) out[i] = table[payload[i] ?? 0] ?? 0;
  return out;
}
