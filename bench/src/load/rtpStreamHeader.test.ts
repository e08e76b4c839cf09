import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rtpStreamHeader } from './rtpStreamHeader.js';

test('a header with MID and RID elements has a one-byte extension block padded to 32 bits', () => {
  const header = rtpStreamHeader(0x01020304, [
    { id: 1, value: '1' },
    { id: 2, value: 'f' },
  ]);
  assert.deepEqual(
    [...header],
    [0x90, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0xbe, 0xde, 0, 1, 0x10, 0x31, 0x20, 0x66],
  );
});

test('elements that do not fill a word are followed by zero padding', () => {
  const header = rtpStreamHeader(7, [
    { id: 4, value: '10' },
    { id: 10, value: 'q' },
  ]);
  assert.equal(header.readUInt16BE(14), 2);
  assert.deepEqual([...header.subarray(16)], [0x41, 0x31, 0x30, 0xa0, 0x71, 0, 0, 0]);
});

test('a header without elements has no extension bit and no block', () => {
  const header = rtpStreamHeader(0xffffffff, []);
  assert.equal(header.length, 12);
  assert.equal(header[0], 0x80);
  assert.equal(header.readUInt32BE(8), 0xffffffff);
});

test('an element id outside 1–14 is refused', () => {
  assert.throws(() => rtpStreamHeader(1, [{ id: 15, value: 'q' }]), TypeError);
});
