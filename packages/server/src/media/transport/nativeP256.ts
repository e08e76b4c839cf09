import { createECDH } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';

/**
 * When a DTLS client offers P-256 before X25519 (or alone), werift makes the ECDHE key pair and
 * the shared secret with @noble/curves in pure JavaScript: about 6.5 ms of the media thread per
 * handshake, which any client can ask for. This gives the two functions werift calls node:crypto's
 * native ECDH instead (about 0.1 ms); werift looks them up on the `p256` object at each call
 * (its `@noble/curves/p256` is this same object). Nothing else in the server uses @noble/curves.
 */
export function useNativeP256(): void {
  p256.getPublicKey = nativePublicKey;
  p256.getSharedSecret = nativeSharedSecret;
}

type Noble = typeof p256;
const pureGetPublicKey = p256.getPublicKey;
const pureSharedSecret = p256.getSharedSecret;

/** The public point of a 32-byte secret scalar, SEC 1 encoded (uncompressed: 65 bytes). */
function nativePublicKey(...[secretKey, isCompressed = true]: Parameters<Noble['getPublicKey']>): Uint8Array {
  if (!(secretKey instanceof Uint8Array)) return pureGetPublicKey(secretKey, isCompressed);
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(secretKey);
  return new Uint8Array(ecdh.getPublicKey(null, isCompressed ? 'compressed' : 'uncompressed'));
}

/**
 * ECDH (SEC 1 §3.3.1) as @noble/curves encodes it: the shared point compressed, 0x02 or 0x03
 * then its x coordinate, the premaster secret that werift keeps. OpenSSL gives x alone, not the
 * parity of y that the first byte tells: the native path answers only werift's calls (a
 * compressed point from 32-byte keys) and says 0x02; the others take the pure path.
 */
function nativeSharedSecret(
  ...[secretKey, publicKey, isCompressed = true]: Parameters<Noble['getSharedSecret']>
): Uint8Array {
  if (!(secretKey instanceof Uint8Array) || !(publicKey instanceof Uint8Array) || !isCompressed)
    return pureSharedSecret(secretKey, publicKey, isCompressed);
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(secretKey);
  const secret = new Uint8Array(33);
  secret[0] = 0x02;
  secret.set(ecdh.computeSecret(publicKey), 1);
  return secret;
}
