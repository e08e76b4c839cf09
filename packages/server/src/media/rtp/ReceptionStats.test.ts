import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReceptionStats } from './ReceptionStats.js';

describe('reception stats', () => {
  it('reports the loss since the last report and in all, across a sequence number wrap', () => {
    const stats = new ReceptionStats(90000);
    for (const sequence of [65530, 65531, 65532, 65533]) stats.receive(sequence, 0, 0);
    assert.deepEqual(
      [stats.report(7, 0).fractionLost, stats.report(7, 0).packetsLost],
      [0, 0],
      'nothing lost, and nothing expected since',
    );
    // 65534 to 5 is eight packets; 65535, 1 and 2 do not come.
    for (const sequence of [65534, 0, 3, 4, 5]) stats.receive(sequence, 0, 0);
    const block = stats.report(7, 0);
    assert.equal(block.ssrc, 7);
    assert.equal(block.fractionLost, Math.floor((3 * 256) / 8));
    assert.equal(block.packetsLost, 3);
    assert.equal(block.highestSequence, 0x10000 + 5);
  });

  it('counts late and repeated packets as received without moving the highest sequence number', () => {
    const stats = new ReceptionStats(48000);
    for (const sequence of [10, 12, 11, 12]) stats.receive(sequence, 0, 0);
    const block = stats.report(1, 0);
    assert.equal(block.highestSequence, 12);
    assert.equal(block.packetsLost, -1, 'a duplicate makes the loss negative, as RFC 3550 allows');
    assert.equal(block.fractionLost, 0);
  });

  it('keeps the fraction lost within its 8 bits when nearly everything is lost', () => {
    const stats = new ReceptionStats(90000);
    stats.receive(0, 0, 0);
    stats.report(1, 0);
    stats.receive(1000, 0, 0);
    assert.equal(stats.report(1, 0).fractionLost, 255);
  });

  it('measures jitter in RTP units, and none for packets that arrive as they were timed', () => {
    const steady = new ReceptionStats(48000);
    for (let i = 0; i < 50; i++) steady.receive(i, i * 960, i * 20);
    assert.equal(steady.report(1, 1000).jitter, 0);
    const jittery = new ReceptionStats(48000);
    // Every other packet 10 ms late: 480 units of transit difference each time.
    for (let i = 0; i < 200; i++) jittery.receive(i, (i * 960) >>> 0, i * 20 + (i % 2) * 10);
    assert.ok(Math.abs(jittery.report(1, 5000).jitter - 480) < 5);
  });

  it("echoes the sender's last report with the delay since it, in 1/65536 s", () => {
    const stats = new ReceptionStats(90000);
    stats.receive(1, 0, 0);
    assert.deepEqual(
      [stats.report(1, 0).lastSenderReport, stats.report(1, 0).delaySinceLastSenderReport],
      [0, 0],
    );
    stats.senderReport(0x12345678, 1000);
    const block = stats.report(1, 1500);
    assert.equal(block.lastSenderReport, 0x12345678);
    assert.equal(block.delaySinceLastSenderReport, 32768);
  });
});
