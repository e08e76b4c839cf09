import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readUplink, type StatsEntries, type UplinkSample } from '../src/core/uplinkReading.js';

type Entry = Record<string, unknown> & { id: string };

/** A statistics report as Chromium gives a sender with two simulcast layers and audio. */
function report({
  estimate = 1_000_000,
  audio = { lost: 0, reports: 1 },
  video = { lost: 0, reports: 3 },
  bytes = 100_000,
  active = true,
}: {
  estimate?: number;
  audio?: { lost: number; reports: number };
  video?: { lost: number; reports: number };
  bytes?: number;
  /** Whether the lowest layer ('h') is sending. */
  active?: boolean;
}): StatsEntries {
  const entries: Entry[] = [
    { id: 'T01', type: 'transport', selectedCandidatePairId: 'CP2' },
    { id: 'CP1', type: 'candidate-pair', availableOutgoingBitrate: 5 },
    { id: 'CP2', type: 'candidate-pair', availableOutgoingBitrate: estimate },
    { id: 'OA', type: 'outbound-rtp', kind: 'audio', bytesSent: 50_000 },
    { id: 'OH', type: 'outbound-rtp', kind: 'video', rid: 'h', active, bytesSent: bytes / 4 },
    { id: 'OF', type: 'outbound-rtp', kind: 'video', rid: 'f', active: false, bytesSent: (bytes * 3) / 4 },
    {
      id: 'RA',
      type: 'remote-inbound-rtp',
      kind: 'audio',
      fractionLost: audio.lost,
      roundTripTimeMeasurements: audio.reports,
    },
    {
      id: 'RH',
      type: 'remote-inbound-rtp',
      localId: 'OH',
      kind: 'video',
      fractionLost: video.lost,
      roundTripTimeMeasurements: video.reports,
    },
    // A paused layer's last report, long ago.
    { id: 'RF', type: 'remote-inbound-rtp', kind: 'video', fractionLost: 0.9, roundTripTimeMeasurements: 1 },
  ];
  return new Map(entries.map((entry) => [entry.id, entry]));
}

describe('readUplink', () => {
  it("reads the selected pair's estimate, the loss of every report, and no bitrate from one read", () => {
    const { reading } = readUplink(report({ estimate: 300_000, video: { lost: 0.2, reports: 3 } }), null, 0);
    assert.deepEqual(reading, {
      availableBitrate: 300_000,
      estimateRising: false,
      delayBasedEstimate: true,
      audioLoss: 0,
      videoLoss: 0.9,
      videoBitrate: 0,
    });
  });

  it('counts each receiver report once, and the video sent since the last read', () => {
    const first = readUplink(report({}), null, 0);
    const { reading, sample } = readUplink(
      report({ video: { lost: 0.25, reports: 4 }, bytes: 162_500 }),
      first.sample,
      500,
      { delayBasedEstimate: false },
    );
    assert.deepEqual(reading, {
      availableBitrate: 1_000_000,
      estimateRising: false,
      delayBasedEstimate: false,
      audioLoss: null,
      videoLoss: 0.25,
      videoBitrate: 1_000_000,
    });
    const again = readUplink(report({ video: { lost: 0.25, reports: 4 }, bytes: 162_500 }), sample, 1000);
    assert.deepEqual([again.reading.audioLoss, again.reading.videoLoss], [null, null]);
  });

  it('takes every report as new when the browser counts none, and reads no estimate it does not give', () => {
    const entries = new Map<string, Entry>([
      ['CP', { id: 'CP', type: 'candidate-pair' }],
      ['R', { id: 'R', type: 'remote-inbound-rtp', kind: 'audio', fractionLost: 0.5 }],
    ]);
    const first = readUplink(entries, null, 0);
    const second = readUplink(entries, first.sample, 500);
    assert.deepEqual(
      [second.reading.availableBitrate, second.reading.audioLoss, second.reading.videoLoss],
      [null, 0.5, null],
    );
  });

  it('leaves out the reports of a video encoding in its first second after a pause, which count what was lost as it paused', () => {
    let { sample } = readUplink(report({}), null, 0);
    ({ sample } = readUplink(report({ active: false, video: { lost: 0.9, reports: 4 } }), sample, 250));
    const resumed = readUplink(report({ video: { lost: 0.8, reports: 5 } }), sample, 500);
    assert.equal(resumed.reading.videoLoss, null);
    const early = readUplink(report({ video: { lost: 0.7, reports: 6 } }), resumed.sample, 1000);
    assert.equal(early.reading.videoLoss, null, 'within the second');
    const later = readUplink(report({ video: { lost: 0.3, reports: 7 } }), early.sample, 1250);
    assert.equal(later.reading.videoLoss, 0.3);
  });

  it('finds the estimate rising when it is above its lowest of the last 2 s', () => {
    const estimates = [300_000, 84_000, 84_000, ...Array<number>(9).fill(92_000)];
    let sample: UplinkSample | null = null;
    const rising: boolean[] = [];
    estimates.forEach((estimate, index) => {
      const read = readUplink(report({ estimate }), sample, index * 250);
      rising.push(read.reading.estimateRising);
      sample = read.sample;
    });
    // 84 kbit/s was read last at 500 ms: 92 is rising until 2 s later.
    assert.deepEqual(rising, [false, false, false, ...Array<boolean>(8).fill(true), false]);
  });
});
