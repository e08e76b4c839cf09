import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { p256 } from '@noble/curves/nist.js';
import { useNativeP256 } from './nativeP256.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe("werift's P-256 ECDHE, from node:crypto", () => {
  const pureGetPublicKey = p256.getPublicKey;
  const pureSharedSecret = p256.getSharedSecret;
  useNativeP256();

  it('gives the public points and shared x coordinates the pure implementation gives', () => {
    for (let i = 0; i < 20; i++) {
      const ours = p256.utils.randomSecretKey();
      const theirs = p256.utils.randomSecretKey();
      const ourPublic = p256.getPublicKey(ours, false);
      assert.equal(ourPublic.length, 65);
      assert.equal(hex(ourPublic), hex(pureGetPublicKey(ours, false)));
      assert.equal(hex(p256.getPublicKey(ours)), hex(pureGetPublicKey(ours)));
      // werift keeps the shared point's x coordinate, after the first byte.
      const shared = p256.getSharedSecret(ours, pureGetPublicKey(theirs, false));
      assert.equal(shared.length, 33);
      assert.equal(hex(shared.subarray(1)), hex(pureSharedSecret(theirs, ourPublic).subarray(1)));
    }
  });

  it('refuses a public key off the curve', () => {
    const point = p256.getPublicKey(p256.utils.randomSecretKey(), false);
    point[64] = (point[64] as number) ^ 1;
    assert.throws(() => p256.getSharedSecret(p256.utils.randomSecretKey(), point));
  });

  it('costs the media thread a fraction of the pure implementation (some 40 times less)', () => {
    const secretKey = p256.utils.randomSecretKey();
    const publicKey = pureGetPublicKey(p256.utils.randomSecretKey(), false);
    const cpuMicros = (exchange: () => unknown): number => {
      const start = process.cpuUsage();
      for (let i = 0; i < 10; i++) exchange();
      const used = process.cpuUsage(start);
      return used.user + used.system;
    };
    const native = cpuMicros(() => p256.getSharedSecret(secretKey, publicKey));
    const pure = cpuMicros(() => pureSharedSecret(secretKey, publicKey));
    assert.ok(native * 4 < pure, `native ${native} µs, pure ${pure} µs`);
  });
});
