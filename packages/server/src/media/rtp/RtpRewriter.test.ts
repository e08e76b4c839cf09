import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readPayloadType, readSequenceNumber, readSsrc, readTimestamp } from './rtpHeader.js';
import { RtpRewriter } from './RtpRewriter.js';

function packet(sequence: number, timestamp: number, ssrc = 0x1111): Buffer {
  const buffer = Buffer.alloc(20);
  buffer[0] = 0x80;
  buffer[1] = 100;
  buffer.writeUInt16BE(sequence, 2);
  buffer.writeUInt32BE(timestamp >>> 0, 4);
  buffer.writeUInt32BE(ssrc, 8);
  return buffer;
}

/** Rewrites and returns [sequence, timestamp], or null when dropped. */
function forward(
  rewriter: RtpRewriter,
  sequence: number,
  timestamp: number,
  nowMs: number,
  ssrc?: number,
): [number, number] | null {
  const copy = packet(sequence, timestamp, ssrc);
  if (!rewriter.rewrite(copy, 96, nowMs)) return null;
  assert.equal(readSsrc(copy), 0xdeadbeef);
  assert.equal(readPayloadType(copy), 96);
  return [readSequenceNumber(copy), readTimestamp(copy)];
}

describe('RTP rewriting', () => {
  it('keeps the source numbering at first, under the subscriber SSRC and payload type', () => {
    const rewriter = new RtpRewriter(0xdeadbeef, 90000);
    assert.deepEqual(forward(rewriter, 1000, 5000, 0), [1000, 5000]);
    assert.deepEqual(forward(rewriter, 1001, 8000, 33), [1001, 8000]);
  });

  it('follows the source across a sequence number wrap-around', () => {
    const rewriter = new RtpRewriter(0xdeadbeef, 90000);
    const out = [65534, 65535, 0, 1].map((sequence, i) => forward(rewriter, sequence, i * 3000, i * 33)?.[0]);
    assert.deepEqual(out, [65534, 65535, 0, 1]);
  });

  it('continues without a gap when the source restarts with other numbers, timestamps following the clock', () => {
    const rewriter = new RtpRewriter(0xdeadbeef, 90000);
    forward(rewriter, 10, 0xfffff000, 0);
    forward(rewriter, 11, 0xfffff000 + 3000, 33);
    rewriter.switchSource();
    // The publisher came back 500 ms later with fresh random numbering.
    const [sequence, timestamp] = forward(rewriter, 40000, 123456, 533, 0x2222) ?? [];
    assert.equal(sequence, 12);
    assert.equal(
      timestamp,
      (0xfffff000 + 3000 + 45000) >>> 0,
      'advanced by 500 ms at 90 kHz, across the 32-bit wrap',
    );
    assert.deepEqual(forward(rewriter, 40001, 123456 + 3000, 566, 0x2222), [13, (0xfffff000 + 51000) >>> 0]);
    // A sender report's RTP time maps the same way as the packets.
    assert.equal(rewriter.outgoingTimestamp(123456 + 3000), (0xfffff000 + 51000) >>> 0);
  });

  it('drops late packets from before the current segment and keeps reordered ones within it', () => {
    const rewriter = new RtpRewriter(0xdeadbeef, 48000);
    forward(rewriter, 65530, 0, 0);
    rewriter.switchSource();
    assert.deepEqual(forward(rewriter, 2, 960, 20)?.[0], 65531);
    assert.equal(forward(rewriter, 65535, 0, 21), null, 'a packet numbered before the segment start');
    assert.deepEqual(forward(rewriter, 4, 2880, 40)?.[0], 65533);
    assert.deepEqual(forward(rewriter, 3, 1920, 41)?.[0], 65532, 'reordered within the segment');
    assert.equal(rewriter.sourceSequenceOf(65533), 4);
  });

  it('numbers the packets after dropped ones without a gap, and maps NACKs back through the drops', () => {
    const rewriter = new RtpRewriter(0xdeadbeef, 90000);
    forward(rewriter, 65534, 0, 0);
    rewriter.drop(packet(65535, 3000));
    rewriter.drop(packet(0, 3000));
    assert.deepEqual(forward(rewriter, 1, 6000, 66)?.[0], 65535);
    assert.deepEqual(forward(rewriter, 3, 9000, 99)?.[0], 1, 'the packet before it is still to come');
    assert.deepEqual(forward(rewriter, 2, 9000, 100)?.[0], 0, 'reordered after a drop');
    assert.equal(rewriter.sourceSequenceOf(65534), 65534);
    assert.equal(rewriter.sourceSequenceOf(65535), 1);
    assert.equal(rewriter.sourceSequenceOf(1), 3);
    rewriter.switchSource();
    forward(rewriter, 500, 0, 200, 0x2222);
    assert.equal(rewriter.sourceSequenceOf(1), null, 'sent before the switch');
    assert.equal(rewriter.sourceSequenceOf(2), 500);
  });

  it('counts the outgoing numbers it never sent, less those a late packet filled', () => {
    const rewriter = new RtpRewriter(0xdeadbeef, 90000);
    forward(rewriter, 100, 0, 0);
    forward(rewriter, 101, 0, 0);
    // 102–104 lost before the router.
    forward(rewriter, 105, 0, 0);
    assert.equal(rewriter.skipped, 3);
    forward(rewriter, 103, 0, 0);
    assert.equal(rewriter.skipped, 2);
    // A dropped packet is closed up, not skipped; a new source continues without a gap.
    rewriter.drop(packet(106, 0));
    forward(rewriter, 107, 0, 0);
    rewriter.switchSource();
    forward(rewriter, 5000, 0, 10, 0x2222);
    assert.equal(rewriter.skipped, 2);
  });
});
