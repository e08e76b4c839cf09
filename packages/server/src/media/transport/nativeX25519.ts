import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import nacl from 'tweetnacl';

/**
 * werift's DTLS makes its X25519 key exchange (the curve browsers pick) with tweetnacl, in pure
 * JavaScript: a scalar multiplication costs about 0.6 ms (twice that on a busy machine), two per
 * handshake, a quarter of what a join's handshake costs the media thread. This gives tweetnacl's
 * two functions werift calls the same results from node:crypto's native X25519, ten to twenty
 * times faster; werift looks them up on tweetnacl's object at each call. Nothing else in the
 * server uses tweetnacl. Keys cross as JWK or stay key objects: OpenSSL 3's DER decoders would
 * cost more than the multiplication.
 */
export function useNativeX25519(): void {
  if (nacl.scalarMult === nativeScalarMult) return;
  // Their other members (`base`, `fromSecretKey`, the lengths) stay as they were.
  nacl.scalarMult = Object.assign(nativeScalarMult, nacl.scalarMult);
  nacl.box.keyPair = Object.assign(nativeKeyPair, nacl.box.keyPair);
}

/** DER header of a raw 32-byte X25519 private key (RFC 8410): PKCS #8. */
const privateKeyHeader = Buffer.from('302e020100300506032b656e04220420', 'hex');

/**
 * The key objects of the secret keys `nativeKeyPair` made, by their bytes' ArrayBuffer (werift
 * wraps it in a Buffer of its own): decoding a private key costs OpenSSL 3 about 0.35 ms, ten
 * times the scalar multiplication.
 */
const keyObjects = new WeakMap<ArrayBufferLike, KeyObject>();

/** X25519(scalar, point), raw 32 bytes each (RFC 7748 §5); the scalar is clamped, as tweetnacl does. */
function nativeScalarMult(scalar: Uint8Array, point: Uint8Array): Uint8Array {
  const made =
    scalar.byteOffset === 0 && scalar.byteLength === 32 ? keyObjects.get(scalar.buffer) : undefined;
  const secret = diffieHellman({
    privateKey:
      made ??
      createPrivateKey({ key: Buffer.concat([privateKeyHeader, scalar]), format: 'der', type: 'pkcs8' }),
    // A JWK public key skips OpenSSL's decoders: 0.015 ms against 0.07 ms from DER.
    publicKey: createPublicKey({
      key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(point).toString('base64url') },
      format: 'jwk',
    }),
  });
  // A copy with an ArrayBuffer of its own: werift wraps `.buffer`, which a pooled Buffer shares.
  return new Uint8Array(secret);
}

function nativeKeyPair(): nacl.BoxKeyPair {
  const { privateKey } = generateKeyPairSync('x25519');
  const { d, x } = privateKey.export({ format: 'jwk' });
  const secretKey = new Uint8Array(Buffer.from(d ?? '', 'base64url'));
  keyObjects.set(secretKey.buffer, privateKey);
  return { publicKey: new Uint8Array(Buffer.from(x ?? '', 'base64url')), secretKey };
}
