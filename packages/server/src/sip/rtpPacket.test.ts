import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  dtmfDigit,
  dtmfEvent,
  parseRtp,
  parseTelephoneEvent,
  serializeRtp,
  serializeTelephoneEvent,
} from './rtpPacket.js';

describe('RTP packets of a call', () => {
  it('round-trips a packet with its header fields', () => {
    const fields = {
      payloadType: 8,
      sequenceNumber: 65535,
      timestamp: 0xfffffff0,
      ssrc: 0xdeadbeef,
      marker: true,
    };
    const packet = serializeRtp(fields, Buffer.from([1, 2, 3]));
    assert.equal(packet.toString('hex'), '8088ffff' + 'fffffff0' + 'deadbeef' + '010203');
    assert.deepEqual(parseRtp(packet), { ...fields, payload: Buffer.from([1, 2, 3]) });
  });

  it('skips CSRCs, a header extension and padding', () => {
    const packet = Buffer.from(
      '9100' + '0001' + '00000002' + '00000003' + '00000004' + 'bede0001' + '10ff0000' + 'aabb',
      'hex',
    );
    packet[0] = 0xb1; // padding, extension, one CSRC
    const padded = Buffer.concat([packet, Buffer.from([0, 2])]);
    assert.deepEqual(parseRtp(padded)?.payload, Buffer.from('aabb', 'hex'));
  });

  it('refuses what is not RTP: short, version 1, RTCP on the RTP port, padding past the end', () => {
    assert.equal(parseRtp(Buffer.alloc(11)), null);
    assert.equal(parseRtp(Buffer.from('400000000000000000000000', 'hex')), null);
    assert.equal(parseRtp(Buffer.from('80c8000600000001', 'hex') as Buffer), null);
    assert.equal(parseRtp(Buffer.from('80c80006000000010000000000', 'hex')), null);
    assert.equal(parseRtp(Buffer.from('a00000000000000000000000ff', 'hex')), null);
  });

  it('round-trips RFC 4733 events and maps DTMF digits', () => {
    const event = { event: 11, end: true, volume: 10, duration: 800 };
    const payload = serializeTelephoneEvent(event);
    assert.equal(payload.toString('hex'), '0b8a0320');
    assert.deepEqual(parseTelephoneEvent(payload), event);
    assert.equal(parseTelephoneEvent(Buffer.alloc(3)), null);
    assert.equal(dtmfEvent('*'), 10);
    assert.equal(dtmfEvent('p'), undefined);
    assert.equal(dtmfDigit(11), '#');
    assert.equal(dtmfDigit(12), null);
  });
});
