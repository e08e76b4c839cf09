import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRtcp, serializeRtcp, type RtcpPacket } from './rtcp.js';

const report = {
  ssrc: 0x01020304,
  fractionLost: 25,
  packetsLost: -2,
  highestSequence: 0x0001ffff,
  jitter: 37,
  lastSenderReport: 0xaabbccdd,
  delaySinceLastSenderReport: 65536,
};

const packets: Exclude<RtcpPacket, { type: 'other' }>[] = [
  {
    type: 'sr',
    ssrc: 1,
    ntpSeconds: 3_900_000_000,
    ntpFraction: 0x80000000,
    rtpTimestamp: 4_000_000_000,
    packetCount: 10,
    octetCount: 12000,
    reports: [report],
  },
  { type: 'rr', ssrc: 2, reports: [report, { ...report, ssrc: 9 }] },
  { type: 'rr', ssrc: 3, reports: [] },
  { type: 'nack', senderSsrc: 4, mediaSsrc: 5, lost: [65534, 65535, 0, 5, 100] },
  { type: 'pli', senderSsrc: 6, mediaSsrc: 7 },
  { type: 'fir', senderSsrc: 8, entries: [{ ssrc: 9, sequence: 3 }] },
  { type: 'remb', senderSsrc: 10, bitrate: 2_500_000, ssrcs: [11, 12] },
];

describe('RTCP', () => {
  for (const packet of packets) {
    it(`round-trips ${packet.type === 'rr' ? `an RR with ${packet.reports.length} reports` : `a ${packet.type.toUpperCase()}`}`, () => {
      const parsed = parseRtcp(serializeRtcp(packet));
      assert.equal(parsed.length, 1);
      const [only] = parsed;
      if (packet.type === 'remb' && only?.type === 'remb') {
        // REMB keeps 18 bits of mantissa: the bitrate survives within 1/2^17.
        assert.ok(Math.abs(only.bitrate - packet.bitrate) / packet.bitrate < 1e-5);
        assert.deepEqual(only.ssrcs, packet.ssrcs);
      } else {
        assert.deepEqual(only, packet);
      }
    });
  }

  it('parses a compound packet with a REMB in it', () => {
    // From SSRC 1 about SSRC 0x12345678: exponent 2, mantissa 0x3d090, so 1,000,000 bit/s.
    const remb = Buffer.from('8fce00050000000100000000' + '52454d42' + '010bd090' + '12345678', 'hex');
    const compound = Buffer.concat([serializeRtcp({ type: 'rr', ssrc: 1, reports: [] }), remb]);
    const parsed = parseRtcp(compound);
    assert.equal(parsed.length, 2);
    assert.deepEqual(parsed[1], { type: 'remb', senderSsrc: 1, bitrate: 0x3d090 * 4, ssrcs: [0x12345678] });
  });

  it('keeps the parts before a truncated or malformed one, and reports unknown types as other', () => {
    const sdes = Buffer.from('81ca0003' + '00000001' + '01047465' + '73740000', 'hex');
    const good = serializeRtcp({ type: 'pli', senderSsrc: 1, mediaSsrc: 2 });
    const parsed = parseRtcp(Buffer.concat([good, sdes, good.subarray(0, 6)]));
    assert.equal(parsed[0]?.type, 'pli');
    assert.equal(parsed[1]?.type, 'other');
    assert.equal(parsed.length, 2);
    assert.deepEqual(parseRtcp(Buffer.from([0x40, 0, 0, 0])), []);
  });
});
