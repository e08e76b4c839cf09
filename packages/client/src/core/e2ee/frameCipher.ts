/**
 * The end-to-end encrypted frame: what of an encoded frame stays in clear, and how the rest is
 * sealed with AES-GCM. Layout (all lengths in bytes):
 *
 *   clear header (n) | ciphertext and GCM tag (16) | IV (12) | n (1) | key ID (1)
 *
 * The clear header is what the packetizer, the Media Router and the receiving browser read
 * before the frame is decrypted (see `clearHeaderLength`); it is authenticated as additional data,
 * so a changed header fails decryption like a changed payload. The IV is random per frame:
 * everyone in a session encrypts with the same key, and 96 random bits keep collisions out of
 * reach far beyond the 2^32 frames a key may seal.
 */

export const ivLength = 12;
/** IV, clear header length, key ID. */
export const trailerLength = ivLength + 2;
const tagLength = 16;

/** A frame key: the AES-GCM key and the ID that tells receivers which key sealed a frame. */
export interface FrameKey {
  readonly id: number;
  readonly key: CryptoKey;
}

/**
 * Bytes of an encoded frame left in clear. VP8 (RFC 6386 §9.1): the 3-byte frame tag of every
 * frame (its P bit marks keyframes), and on keyframes the 7 bytes after it (start code, width,
 * height), which the Media Router reads to switch layers and the receiving browser's
 * depacketizer reads before the frame is decrypted. Audio: nothing (the router reads no Opus
 * payload). Encrypted sessions send video as VP8 only.
 */
export function clearHeaderLength(kind: 'audio' | 'video', keyframe: boolean): number {
  if (kind === 'audio') return 0;
  return keyframe ? 10 : 3;
}

/** Seals a frame's payload after its first `clear` bytes with the key. */
export async function encryptFrame(frame: ArrayBuffer, clear: number, key: FrameKey): Promise<ArrayBuffer> {
  const header = new Uint8Array(frame, 0, Math.min(clear, frame.byteLength));
  const iv = crypto.getRandomValues(new Uint8Array(ivLength));
  const sealed = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: header, tagLength: tagLength * 8 },
    key.key,
    new Uint8Array(frame, header.length),
  );
  const out = new Uint8Array(header.length + sealed.byteLength + trailerLength);
  out.set(header, 0);
  out.set(new Uint8Array(sealed), header.length);
  out.set(iv, header.length + sealed.byteLength);
  out[out.length - 2] = header.length;
  out[out.length - 1] = key.id;
  return out.buffer;
}

/** Why a frame could not be opened: no key with its ID, or the key did not open it. */
export type DecryptFailure = 'unknownKey' | 'failed';

/** Opens a frame sealed by `encryptFrame` with the key of its ID; a failure says why. */
export async function decryptFrame(
  frame: ArrayBuffer,
  keyOf: (id: number) => CryptoKey | undefined,
): Promise<ArrayBuffer | DecryptFailure> {
  const bytes = new Uint8Array(frame);
  if (bytes.length < trailerLength + tagLength) return 'failed';
  const clear = bytes[bytes.length - 2] as number;
  const key = keyOf(bytes[bytes.length - 1] as number);
  if (!key) return 'unknownKey';
  const sealedEnd = bytes.length - trailerLength;
  if (clear + tagLength > sealedEnd) return 'failed';
  const header = bytes.subarray(0, clear);
  try {
    const opened = await crypto.subtle.decrypt(
      {
        name: 'AES-GCM',
        iv: bytes.subarray(sealedEnd, sealedEnd + ivLength),
        additionalData: header,
        tagLength: tagLength * 8,
      },
      key,
      bytes.subarray(clear, sealedEnd),
    );
    const out = new Uint8Array(clear + opened.byteLength);
    out.set(header, 0);
    out.set(new Uint8Array(opened), clear);
    return out.buffer;
  } catch {
    return 'failed';
  }
}
