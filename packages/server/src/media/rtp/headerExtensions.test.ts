import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  appendTransportSequenceNumber,
  findHeaderExtension,
  stripHeaderExtensions,
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

describe('removing header extension elements', () => {
  it('takes a publisher’s transport-wide number out of a one-byte block: one word less', () => {
    // abs-send-time (id 3), the publisher's transport-wide number (id 5), padding: as Chromium sends.
    const packet = header(0x90, [0xbe, 0xde, 0, 2, 0x32, 1, 2, 0, 0x51, 0xab, 0xcd, 0]);
    const length = stripHeaderExtensions(packet, new Set([3]));
    assert.equal(length, 12 + 4 + 4);
    assert.equal(rtpHeaderLength(packet.subarray(0, length)), length);
    assert.deepEqual([...packet.subarray(12, length)], [0xbe, 0xde, 0, 1, 0x32, 1, 2, 0]);
  });

  it('moves the elements after it up and keeps its padding words tight', () => {
    // The number first, then a 4-byte element (id 7) ending in zeros, which stay.
    const packet = header(0x90, [0xbe, 0xde, 0, 2, 0x51, 0xab, 0xcd, 0x73, 9, 8, 0, 0]);
    const length = stripHeaderExtensions(packet, new Set([7]));
    assert.deepEqual([...packet.subarray(12, length)], [0xbe, 0xde, 0, 2, 0x73, 9, 8, 0, 0, 0, 0, 0]);
    assert.deepEqual(findHeaderExtension(packet.subarray(0, length), 7), { offset: 17, length: 4 });
  });

  it('drops a block left empty, and clears the X bit', () => {
    const packet = header(0x91, [0, 0, 0, 42, 0xbe, 0xde, 0, 1, 0x51, 0xab, 0xcd, 0]);
    const length = stripHeaderExtensions(packet, new Set());
    assert.equal(length, 12 + 4);
    assert.equal(packet[0], 0x81);
    assert.equal(rtpHeaderLength(packet.subarray(0, length)), length);
  });

  it('works on a two-byte block', () => {
    const packet = header(0x90, [0x10, 0x00, 0, 2, 5, 2, 0xab, 0xcd, 9, 1, 0xff, 0]);
    const length = stripHeaderExtensions(packet, new Set([9]));
    assert.deepEqual([...packet.subarray(12, length)], [0x10, 0x00, 0, 1, 9, 1, 0xff, 0]);
  });

  it('leaves a header without the element, or with an unreadable block, as it was', () => {
    for (const rest of [
      [0xbe, 0xde, 0, 1, 0x32, 1, 2, 3],
      [0x12, 0x34, 0, 1, 0x51, 2, 3, 4],
      [0xbe, 0xde, 0, 1, 0x33, 1, 2, 3],
    ]) {
      const packet = header(0x90, rest);
      const before = Buffer.from(packet);
      assert.equal(stripHeaderExtensions(packet, new Set([3])), 12 + rest.length);
      assert.deepEqual(packet, before);
    }
    assert.equal(stripHeaderExtensions(header(0x80, []), new Set()), 12);
  });

  it('takes out the MID, RID and repaired RID with the number, keeping what the subscriber was offered', () => {
    // MID (1) "0", RID (2) "f", the number (5), abs-send-time (3), repaired RID (6) "f", audio level (9).
    const packet = header(
      0x90,
      [0xbe, 0xde, 0, 4, 0x10, 0x30, 0x20, 0x66, 0x51, 0xab, 0xcd, 0x32, 1, 2, 3, 0x60, 0x66, 0x90, 0x85, 0],
    );
    const length = stripHeaderExtensions(packet, new Set([3, 9]));
    assert.deepEqual([...packet.subarray(12, length)], [0xbe, 0xde, 0, 2, 0x32, 1, 2, 3, 0x90, 0x85, 0, 0]);
    assert.deepEqual(findHeaderExtension(packet.subarray(0, length), 9), { offset: 21, length: 1 });
  });
});
