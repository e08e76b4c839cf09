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

describe('RTCP transport-wide CC feedback', () => {
  const feedback = (arrivals: readonly (number | null)[], baseSequence = 1000) =>
    ({
      type: 'transportFeedback',
      senderSsrc: 0x11223344,
      mediaSsrc: 0x55667788,
      baseSequence,
      feedbackCount: 200,
      arrivals,
    }) as const;

  // Built by hand from draft §3.1: from SSRC 0x11223344 about 0x55667788, 20 packets from
  // sequence 65533 on, reference time 1024 × 64 ms = 65536 ms, feedback count 200. Chunks: a run
  // of 3 small deltas; a two-bit vector (large, lost, lost, small, large, small, lost); a one-bit
  // vector of which only 10 statuses count (received, 8 lost, received), its last 4 bits set but
  // beyond the count. Then the deltas in 250 µs: 16, 5, 255, -500 (large), 0, 1024 (large), 1, 40, 100.
  const handBuilt =
    '11223344' + '55667788' + 'fffd0014' + '000400c8' + '2003e064a01f' + '1005fffe0c000400012864';
  const handBuiltArrivals = [
    65540,
    65541.25,
    65605,
    65480,
    null,
    null,
    65480,
    65736,
    65736.25,
    null,
    65746.25,
    ...Array<null>(8).fill(null),
    65771.25,
  ];

  /**
   * Frames a feedback body (what follows the common header) with 1 to 4 bytes of P-bit padding,
   * where a parser that forgot the padding would find the deltas it lacks.
   */
  function withPaddingBit(body: Buffer): Buffer {
    const padding = 4 - (body.length % 4);
    const packet = Buffer.concat([Buffer.from([0xaf, 205, 0, 0]), body, Buffer.alloc(padding)]);
    packet[packet.length - 1] = padding;
    packet.writeUInt16BE(packet.length / 4 - 1, 2);
    return packet;
  }

  it('round-trips small, large and negative deltas, a lost run and a sequence that wraps', () => {
    const arrivals = [
      1000,
      1000.25,
      1063.75,
      ...Array<null>(7).fill(null),
      1300,
      1250.5,
      1250.5,
      1251,
      null,
      1260,
    ];
    const packet = feedback(arrivals, 65530);
    const bytes = serializeRtcp(packet);
    assert.equal(bytes.length % 4, 0);
    assert.equal((bytes[0] as number) & 0x20, 0);
    assert.deepEqual(parseRtcp(bytes), [packet]);
  });

  it('round-trips arrivals before the clock origin, and feedback of no packets', () => {
    for (const packet of [feedback([-1000.5, -999, null, 12.25]), feedback([]), feedback([null, null])]) {
      assert.deepEqual(parseRtcp(serializeRtcp(packet)), [packet]);
    }
  });

  it('parses a hand-built packet with every kind of chunk, padded with the P bit or with zeros', () => {
    const expected = feedback(handBuiltArrivals, 65533);
    const paddingBit = Buffer.from('afcd0009' + handBuilt + '000003', 'hex');
    const zeros = Buffer.from('8fcd0009' + handBuilt + '000000', 'hex');
    assert.deepEqual(parseRtcp(paddingBit), [expected]);
    assert.deepEqual(parseRtcp(zeros), [expected]);
    assert.deepEqual(parseRtcp(serializeRtcp(expected)), [expected]);
  });

  it('writes a two-bit status vector, small, large and negative deltas as the draft lays them out', () => {
    // Reference time 15 × 64 ms = 960 ms; arrivals 160, 162, –, 164, 201 and -240 quarter-ms after
    // it: symbols small, small, lost, small, small, large in one two-bit vector (0b11 then
    // 01 01 00 01 01 10 00), then the deltas 160, 2, 2, 37 and -441 (two bytes, 0xfe47).
    const packet = {
      type: 'transportFeedback',
      senderSsrc: 1,
      mediaSsrc: 0x12345678,
      baseSequence: 65534,
      feedbackCount: 7,
      arrivals: [1000, 1000.5, null, 1001, 1010.25, 900],
    } as const;
    const bytes = '8fcd0006' + '00000001' + '12345678' + 'fffe0006' + '00000f07' + 'd458' + 'a0020225fe47';
    assert.equal(serializeRtcp(packet).toString('hex'), bytes);
    assert.deepEqual(parseRtcp(Buffer.from(bytes, 'hex')), [packet]);
  });

  it('writes a run of small deltas as a run-length chunk and a short mixed one as a one-bit vector, zero-padded', () => {
    // Reference time 1 × 64 ms; ten arrivals 1 ms apart from 64 ms on (deltas 0, then 4 each):
    // run-length chunk 0b00 01 0000000001010; then 3 packets, lost, received 300 ms later
    // (delta 1200 quarters, large), so a two-bit vector; 10 + 2 delta bytes, no padding.
    const tenInARow = Array.from({ length: 10 }, (_, i) => 64 + i);
    const packet = {
      type: 'transportFeedback',
      senderSsrc: 2,
      mediaSsrc: 3,
      baseSequence: 10,
      feedbackCount: 0,
      arrivals: [...tenInARow, null, null, 373],
    } as const;
    const bytes =
      '8fcd0008' +
      '00000002' +
      '00000003' +
      '000a000d' +
      '00000100' +
      '200a' +
      'c200' +
      '00040404040404040404' +
      '04b0';
    assert.equal(serializeRtcp(packet).toString('hex'), bytes);
    assert.deepEqual(parseRtcp(Buffer.from(bytes, 'hex')), [packet]);
    // A short run of small deltas and losses fits a one-bit vector: 1 0 then 1 1 0 0 1 and 9 unused bits.
    const mixed = { ...packet, baseSequence: 0, arrivals: [64, 65, null, null, 66] };
    assert.equal(
      serializeRtcp(mixed).toString('hex'),
      '8fcd0006' + '00000002' + '00000003' + '00000005' + '00000100' + 'b200' + '000404' + '000000',
    );
  });

  it('writes 1000 lost packets as one run-length chunk', () => {
    const packet = feedback([...Array<null>(1000).fill(null), 500, 501, 502.5], 65000);
    const bytes = serializeRtcp(packet);
    // Header, a run-length chunk of 1000 not received, a one-bit vector, 3 small deltas, 1 byte of padding.
    assert.equal(bytes.length, 20 + 2 + 2 + 3 + 1);
    assert.equal(bytes.readUInt16BE(20), 1000);
    assert.deepEqual(parseRtcp(bytes), [packet]);
  });

  it('a packet cut at any length never throws and yields no transport feedback', () => {
    const content = Buffer.from('8fcd0009' + handBuilt, 'hex');
    for (let length = 0; length < content.length; length++) {
      const cut = content.subarray(0, length);
      const framed = length >= 4 ? [withPaddingBit(cut.subarray(4))] : [];
      for (const packet of [cut, ...framed]) {
        assert.ok(parseRtcp(packet).every((parsed) => parsed.type !== 'transportFeedback'));
      }
    }
  });

  it('a reserved status symbol or a padding count of 0 drops that packet and keeps the rest', () => {
    const pli = serializeRtcp({ type: 'pli', senderSsrc: 1, mediaSsrc: 2 });
    // One packet, status 3 (reserved), with a small delta that would do for status 1.
    const reserved = withPaddingBit(
      Buffer.from('00000001' + '00000002' + '00010001' + '00000000' + '6001' + '04', 'hex'),
    );
    const zeroPadding = Buffer.from('afcd0009' + handBuilt + '000000', 'hex');
    for (const malformed of [reserved, zeroPadding]) {
      assert.deepEqual(parseRtcp(Buffer.concat([malformed, pli])), [
        { type: 'pli', senderSsrc: 1, mediaSsrc: 2 },
      ]);
    }
  });

  it('parses a compound packet of an RR then the feedback', () => {
    const rr = { type: 'rr', ssrc: 9, reports: [report] } as const;
    const packet = feedback([10, 10.5, null, 11]);
    assert.deepEqual(parseRtcp(Buffer.concat([serializeRtcp(rr), serializeRtcp(packet)])), [rr, packet]);
  });

  it('an arrival from 2^23 × 64 ms on comes back 2^24 × 64 ms earlier, as the 24-bit reference time wraps', () => {
    const wrap = 2 ** 24 * 64;
    const parsed = parseRtcp(serializeRtcp(feedback([wrap / 2, wrap / 2 + 10.5])));
    assert.deepEqual(parsed, [feedback([-wrap / 2, -wrap / 2 + 10.5])]);
  });

  it('serializing a delta beyond ±8192 ms is rejected with a TypeError', () => {
    assert.throws(() => serializeRtcp(feedback([0, 8200])), TypeError);
    assert.throws(() => serializeRtcp(feedback([10000, null, 0])), TypeError);
  });
});
