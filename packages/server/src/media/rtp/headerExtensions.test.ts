import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  appendTransportSequenceNumber,
  findHeaderExtension,
  transportSequenceNumberRoom,
} from './headerExtensions.js';
import { rtpHeaderLength } from './rtpHeader.js';

/** A header (with room after it) from its fixed part's first byte and what follows the 12 bytes. */
function header(first: number, rest: number[]): Buffer {
  const bytes = Buffer.alloc(12 + rest.length + transportSequenceNumberRoom);
  bytes[0] = first;
  bytes[1] = 96;
  Buffer.from(rest).copy(bytes, 12);
  return bytes;
}

function sequenceAt(packet: Buffer, id: number): number | null {
  const location = findHeaderExtension(packet, id);
  return location && location.length === 2 ? packet.readUInt16BE(location.offset) : null;
}

describe('transport-wide sequence numbers in RTP headers', () => {
  it('adds a one-byte block to a header without one, after its CSRCs', () => {
    const packet = header(0x81, [0, 0, 0, 42]);
    const length = appendTransportSequenceNumber(packet, 5, 0xabcd);
    assert.equal(length, 12 + 4 + 8);
    assert.equal(rtpHeaderLength(packet.subarray(0, length)), length);
    assert.equal(packet.readUInt32BE(12), 42, 'the CSRC stays');
    assert.equal(sequenceAt(packet, 5), 0xabcd);
  });

  it('appends to a one-byte block, keeping its elements', () => {
    // abs-send-time (id 3, 3 bytes) and padding.
    const packet = header(0x90, [0xbe, 0xde, 0, 1, 0x32, 1, 2, 3]);
    const length = appendTransportSequenceNumber(packet, 14, 7);
    assert.equal(length, 12 + 4 + 8);
    assert.equal(rtpHeaderLength(packet.subarray(0, length)), length);
    assert.equal(sequenceAt(packet, 14), 7);
    assert.deepEqual(findHeaderExtension(packet, 3), { offset: 17, length: 3 });
  });

  it('appends to a two-byte block', () => {
    const packet = header(0x90, [0x10, 0x00, 0, 1, 9, 1, 0xff, 0]);
    const length = appendTransportSequenceNumber(packet, 2, 0xffff);
    assert.equal(rtpHeaderLength(packet.subarray(0, length)), length);
    assert.equal(sequenceAt(packet, 2), 0xffff);
    assert.deepEqual(findHeaderExtension(packet, 9), { offset: 18, length: 1 });
  });

  it('leaves a block of another profile alone', () => {
    const packet = header(0x90, [0x12, 0x34, 0, 1, 1, 2, 3, 4]);
    const before = Buffer.from(packet);
    assert.equal(appendTransportSequenceNumber(packet, 2, 1), -1);
    assert.deepEqual(packet, before);
  });
});
