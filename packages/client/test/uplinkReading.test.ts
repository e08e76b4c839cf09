import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readUplink, type StatsEntries } from '../src/core/uplinkReading.js';

type Entry = Record<string, unknown> & { id: string };

/** A statistics report as Chromium gives a sender with two simulcast layers and audio. */
function report({
  estimate = 1_000_000,
  audio = { lost: 0, reports: 1 },
  video = { lost: 0, reports: 3 },
  bytes = 100_000,
}: {
  estimate?: number;
  audio?: { lost: number; reports: number };
  video?: { lost: number; reports: number };
  bytes?: number;
}): StatsEntries {
  const entries: Entry[] = [
    { id: 'T01', type: 'transport', selectedCandidatePairId: 'CP2' },
    { id: 'CP1', type: 'candidate-pair', availableOutgoingBitrate: 5 },
    { id: 'CP2', type: 'candidate-pair', availableOutgoingBitrate: estimate },
    { id: 'OA', type: 'outbound-rtp', kind: 'audio', bytesSent: 50_000 },
    { id: 'OH', type: 'outbound-rtp', kind: 'video', rid: 'h', bytesSent: bytes / 4 },
    { id: 'OF', type: 'outbound-rtp', kind: 'video', rid: 'f', bytesSent: (bytes * 3) / 4 },
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
    assert.deepEqual(reading, { availableBitrate: 300_000, audioLoss: 0, videoLoss: 0.9, videoBitrate: 0 });
  });

  it('counts each receiver report once, and the video sent since the last read', () => {
    const first = readUplink(report({}), null, 0);
    const { reading, sample } = readUplink(
      report({ video: { lost: 0.25, reports: 4 }, bytes: 162_500 }),
      first.sample,
      500,
    );
    assert.deepEqual(reading, {
      availableBitrate: 1_000_000,
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
});
