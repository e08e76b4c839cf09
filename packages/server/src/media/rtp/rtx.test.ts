import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serializeRtx, type RtxStream } from './rtx.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('RTX packets (RFC 4588)', () => {
  it('carry the header as sent on their own SSRC, payload type and sequence, the original sequence number first', () => {
    // Marker set, payload type 96, sequence 0x1234, one-byte header extension, 3-byte payload.
    const packet = hex('90e0 1234 00000bb8 11112222 bede0001 10ab0000 aabbcc');
    // The same header as rewritten for the subscriber: sequence 0x0042, timestamp and SSRC changed.
    const header = hex('90e0 0042 0000ffff 33334444 bede0001 10ab0000');
    const stream: RtxStream = { ssrc: 0x55556666, payloadType: 97, sequence: 0xffff };
    assert.deepEqual(
      serializeRtx(packet, header, stream),
      hex('90e1 ffff 0000ffff 55556666 bede0001 10ab0000 0042 aabbcc'),
    );
    assert.equal(stream.sequence, 0, 'the stream wraps to its next sequence number');
    assert.deepEqual(serializeRtx(packet, header, stream).subarray(0, 4), hex('90e1 0000'));
  });

  it('refuses what is not an RTP packet', () => {
    const stream: RtxStream = { ssrc: 1, payloadType: 97, sequence: 0 };
    assert.throws(() => serializeRtx(Buffer.alloc(8), Buffer.alloc(8), stream), TypeError);
  });
});
