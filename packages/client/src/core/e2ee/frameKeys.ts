import type { FrameKey } from './frameCipher.js';

/** The secret lengths OpenTok accepts (its end-to-end encryption guide). */
export const secretLength = { min: 8, max: 256 } as const;

/** PBKDF2 rounds: a human-chosen secret is slow to guess, and a page derives a key in well under a second. */
const pbkdf2Iterations = 100_000;
const encoder = new TextEncoder();

export function isValidSecret(secret: unknown): secret is string {
  return typeof secret === 'string' && secret.length >= secretLength.min && secret.length <= secretLength.max;
}

/**
 * The frame key of a session's secret. The secret may be a passphrase, so it is stretched with
 * PBKDF2-SHA-256, salted with the session ID (a guess made for one session is worth nothing in
 * another); HKDF then splits the result into the AES-256-GCM key and the one-byte key ID that lets
 * receivers hold the old and the new key while a rotation spreads. Every client of the session
 * derives the same key from the same secret.
 */
export async function deriveFrameKey(secret: string, sessionId: string): Promise<FrameKey> {
  const { subtle } = crypto;
  const passphrase = await subtle.importKey('raw', encoder.encode(secret), 'PBKDF2', false, ['deriveBits']);
  const stretched = await subtle.deriveBits(
    {
      name: 'PBKDF2',
      hash: 'SHA-256',
      salt: encoder.encode(`parlor-e2ee:${sessionId}`),
      iterations: pbkdf2Iterations,
    },
    passphrase,
    256,
  );
  const master = await subtle.importKey('raw', stretched, 'HKDF', false, ['deriveKey', 'deriveBits']);
  const hkdf = (info: string): HkdfParams => ({
    name: 'HKDF',
    hash: 'SHA-256',
    salt: new Uint8Array(0),
    info: encoder.encode(info),
  });
  const key = await subtle.deriveKey(
    hkdf('parlor-e2ee frame key'),
    master,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
  const [id] = new Uint8Array(await subtle.deriveBits(hkdf('parlor-e2ee key id'), master, 8));
  return { id: id as number, key };
}
