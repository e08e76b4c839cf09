import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import nacl from 'tweetnacl';
import { useNativeX25519 } from './nativeX25519.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));

describe("tweetnacl's X25519, from node:crypto", () => {
  const pureScalarMult = nacl.scalarMult;
  useNativeX25519();

  it('gives RFC 7748 §5.2 results, the unclamped scalar clamped', () => {
    const scalar = bytes('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4');
    const point = bytes('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c');
    const expected = 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552';
    assert.equal(hex(nacl.scalarMult(scalar, point)), expected);
    assert.equal(hex(pureScalarMult(scalar, point)), expected);
  });

  it('makes key pairs that agree with the pure implementation, each in an ArrayBuffer of its own', () => {
    const ours = nacl.box.keyPair();
    const theirs = nacl.box.keyPair.fromSecretKey(nacl.randomBytes(32));
    assert.equal(ours.publicKey.buffer.byteLength, 32);
    assert.equal(ours.secretKey.buffer.byteLength, 32);
    assert.equal(hex(pureScalarMult.base(ours.secretKey)), hex(ours.publicKey));
    assert.equal(
      hex(nacl.scalarMult(ours.secretKey, theirs.publicKey)),
      hex(pureScalarMult(theirs.secretKey, ours.publicKey)),
    );
  });

  it('agrees with the pure implementation on a secret key wrapped as werift wraps it', () => {
    const ours = nacl.box.keyPair();
    const theirs = nacl.box.keyPair.fromSecretKey(nacl.randomBytes(32));
    // werift keeps `Buffer.from(keys.secretKey.buffer)`: the key object made with it is used.
    const wrapped = Buffer.from(ours.secretKey.buffer);
    assert.equal(
      hex(nacl.scalarMult(wrapped, theirs.publicKey)),
      hex(pureScalarMult(theirs.secretKey, ours.publicKey)),
    );
  });
});
