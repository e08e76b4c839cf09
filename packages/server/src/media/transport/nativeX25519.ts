import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import nacl from 'tweetnacl';

/**
 * werift's DTLS makes its X25519 key exchange (the curve browsers pick) with tweetnacl, in pure
 * JavaScript: a scalar multiplication costs about 0.6 ms (twice that on a busy machine), two per
 * handshake, a quarter of what a join's handshake costs the media thread. This gives tweetnacl's
 * two functions werift calls the same results from node:crypto's native X25519, ten to twenty
 * times faster; werift looks them up on tweetnacl's object at each call. Nothing else in the
 * server uses tweetnacl.
 */
export function useNativeX25519(): void {
  if (nacl.scalarMult === nativeScalarMult) return;
  // Their other members (`base`, `fromSecretKey`, the lengths) stay as they were.
  nacl.scalarMult = Object.assign(nativeScalarMult, nacl.scalarMult);
  nacl.box.keyPair = Object.assign(nativeKeyPair, nacl.box.keyPair);
}

/** DER headers of a raw 32-byte X25519 key (RFC 8410): PKCS #8 private, SubjectPublicKeyInfo public. */
const privateKeyHeader = Buffer.from('302e020100300506032b656e04220420', 'hex');
const publicKeyHeader = Buffer.from('302a300506032b656e032100', 'hex');

/** X25519(scalar, point), raw 32 bytes each (RFC 7748 §5); the scalar is clamped, as tweetnacl does. */
function nativeScalarMult(scalar: Uint8Array, point: Uint8Array): Uint8Array {
  const secret = diffieHellman({
    privateKey: createPrivateKey({
      key: Buffer.concat([privateKeyHeader, scalar]),
      format: 'der',
      type: 'pkcs8',
    }),
    publicKey: createPublicKey({ key: Buffer.concat([publicKeyHeader, point]), format: 'der', type: 'spki' }),
  });
  // A copy with an ArrayBuffer of its own: werift wraps `.buffer`, which a pooled Buffer shares.
  return new Uint8Array(secret);
}

function nativeKeyPair(): nacl.BoxKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return {
    publicKey: new Uint8Array(
      publicKey.export({ format: 'der', type: 'spki' }).subarray(publicKeyHeader.length),
    ),
    secretKey: new Uint8Array(
      privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(privateKeyHeader.length),
    ),
  };
}
