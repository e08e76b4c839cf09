import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  clearHeaderLength,
  decryptFrame,
  encryptFrame,
  trailerLength,
} from '../src/core/e2ee/frameCipher.js';
import { deriveFrameKey, isValidSecret } from '../src/core/e2ee/frameKeys.js';

const sessionId = '1_MX4xMjM0NX5-MTcwMDAwMDAwMDAwMH5hYmN-fg';
const frame = Uint8Array.from({ length: 200 }, (_, i) => (i * 7) % 256);

describe('end-to-end frame encryption', () => {
  it('round-trips a frame, leaving its clear header in clear and the rest unlike the original', async () => {
    const key = await deriveFrameKey('a shared secret', sessionId);
    const sealed = new Uint8Array(await encryptFrame(frame.slice().buffer, 10, key));
    assert.equal(sealed.length, frame.length + 16 + trailerLength);
    assert.deepEqual(sealed.subarray(0, 10), frame.subarray(0, 10));
    assert.notDeepEqual(sealed.subarray(10, 200), frame.subarray(10, 200));
    assert.equal(sealed[sealed.length - 1], key.id);
    const opened = await decryptFrame(sealed.buffer, (id) => (id === key.id ? key.key : undefined));
    assert.ok(opened instanceof ArrayBuffer);
    assert.deepEqual(new Uint8Array(opened), frame);
  });

  it('derives the same key from the same secret and session, another from another session or secret', async () => {
    const sealed = await encryptFrame(
      frame.slice().buffer,
      3,
      await deriveFrameKey('a shared secret', sessionId),
    );
    const again = await deriveFrameKey('a shared secret', sessionId);
    assert.ok((await decryptFrame(sealed, () => again.key)) instanceof ArrayBuffer);
    const elsewhere = await deriveFrameKey('a shared secret', `${sessionId}x`);
    const otherSecret = await deriveFrameKey('another secret', sessionId);
    assert.equal(await decryptFrame(sealed, () => elsewhere.key), 'failed');
    assert.equal(await decryptFrame(sealed, () => otherSecret.key), 'failed');
  });

  it('refuses a frame whose clear header changed, a truncated one, and one of an unknown key', async () => {
    const key = await deriveFrameKey('a shared secret', sessionId);
    const keyOf = (id: number) => (id === key.id ? key.key : undefined);
    const sealed = new Uint8Array(await encryptFrame(frame.slice().buffer, 10, key));
    const tampered = sealed.slice();
    tampered[0] = (tampered[0] as number) ^ 1;
    assert.equal(await decryptFrame(tampered.buffer, keyOf), 'failed');
    assert.equal(await decryptFrame(sealed.slice(0, 20).buffer, keyOf), 'failed');
    assert.equal(await decryptFrame(sealed.slice(20).buffer, keyOf), 'failed');
    assert.equal(await decryptFrame(sealed.slice().buffer, () => undefined), 'unknownKey');
  });

  it('keeps the VP8 frame tag (and a keyframe header) in clear, nothing of audio', () => {
    assert.equal(clearHeaderLength('video', true), 10);
    assert.equal(clearHeaderLength('video', false), 3);
    assert.equal(clearHeaderLength('audio', false), 0);
  });

  it('takes secrets of 8 to 256 characters', () => {
    assert.equal(isValidSecret('12345678'), true);
    assert.equal(isValidSecret('1234567'), false);
    assert.equal(isValidSecret('x'.repeat(257)), false);
    assert.equal(isValidSecret(12345678), false);
  });
});
