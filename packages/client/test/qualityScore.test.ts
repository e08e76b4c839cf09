import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { audioQualityScore, videoQualityScore } from '../src/core/qualityScore.js';
import { clientPlatform } from '../src/core/Telemetry.js';
import { intervalBetween, pathName, snapshotOf } from '../src/core/transportStats.js';
import { scoreLevel } from '../src/core/TransportQuality.js';

const good = { bitrate: 900_000, width: 640, height: 480, frameRate: 30, targetFrameRate: 30, rttMs: 50 };

describe('quality scores', () => {
  it('audio: about 4.4 on a clean short path, falling with loss and with delay past 177 ms', () => {
    const clean = audioQualityScore(20, 0);
    assert.ok(clean > 4.3 && clean <= 4.5, `${clean}`);
    const lossy = audioQualityScore(20, 0.05);
    // Opus conceals loss well: 5 % costs about 0.6, 20 % more than 1.5.
    assert.ok(lossy < 3.9 && lossy > 3.5, `5 % loss: ${lossy}`);
    assert.ok(audioQualityScore(20, 0.2) < 2.9);
    assert.ok(audioQualityScore(400, 0) < audioQualityScore(150, 0) - 0.3);
    assert.equal(audioQualityScore(2000, 1), 1);
  });

  it('video: high at 0.1 bit per pixel per frame, lower with fewer bits, dropped frames or long delay', () => {
    const full = videoQualityScore(good);
    assert.ok(full >= 4.4, `${full}`);
    const starved = videoQualityScore({ ...good, bitrate: 150_000 });
    assert.ok(starved < 2.5 && starved > 1, `150 kbit/s at VGA: ${starved}`);
    assert.ok(videoQualityScore({ ...good, frameRate: 15 }) <= full - 0.9);
    assert.ok(videoQualityScore({ ...good, rttMs: 700 }) <= full - 0.9);
    assert.equal(videoQualityScore({ ...good, bitrate: 0 }), 1);
    assert.equal(videoQualityScore({ ...good, frameRate: 0 }), 1);
  });

  it('levels: 5 from 4, 4 from 3.5, 3 from 3, 2 from 2, else 1', () => {
    assert.deepEqual([4.5, 4, 3.9, 3.5, 3.2, 2.9, 2, 1.99, 1].map(scoreLevel), [5, 5, 4, 4, 3, 2, 2, 1, 1]);
  });
});

/** A receiver's statistics as Chromium gives them, with its counters at `scale`. */
function receiverReport(scale: number): Map<string, Record<string, unknown>> {
  const entries: Record<string, unknown>[] = [
    {
      id: 'T',
      type: 'transport',
      selectedCandidatePairId: 'P',
      iceState: 'connected',
      dtlsState: 'connected',
    },
    {
      id: 'P',
      type: 'candidate-pair',
      localCandidateId: 'L',
      remoteCandidateId: 'R',
      currentRoundTripTime: 0.04,
    },
    { id: 'L', type: 'local-candidate', candidateType: 'relay', protocol: 'udp', relayProtocol: 'tcp' },
    { id: 'R', type: 'remote-candidate', candidateType: 'host', protocol: 'udp' },
    {
      id: 'A',
      type: 'inbound-rtp',
      kind: 'audio',
      bytesReceived: 4000 * scale,
      packetsReceived: 50 * scale,
      packetsLost: 0,
      jitter: 0.004,
      audioLevel: 0.2,
    },
    {
      id: 'V',
      type: 'inbound-rtp',
      kind: 'video',
      bytesReceived: 60_000 * scale,
      packetsReceived: 95 * scale,
      packetsLost: 5 * scale,
      framesDecoded: 30 * scale,
      frameWidth: 640,
      frameHeight: 480,
    },
  ];
  return new Map(entries.map((entry) => [String(entry.id), entry]));
}

describe('transport statistics', () => {
  it('a second of a receiver: bitrates, loss, frame rate, size, round trip and a relayed TCP path', () => {
    const first = snapshotOf(receiverReport(1), false, 1000);
    const second = snapshotOf(receiverReport(2), false, 2000);
    const interval = intervalBetween(first, second);
    assert.equal(interval.audioBitrate, 32_000);
    assert.equal(interval.videoBitrate, 480_000);
    assert.equal(interval.videoLoss, 0.05);
    assert.equal(interval.frameRate, 30);
    assert.deepEqual([interval.width, interval.height, interval.rttMs, interval.jitterMs], [640, 480, 40, 4]);
    assert.equal(second.path && pathName(second.path), 'relay/tcp');
    assert.deepEqual([second.iceState, second.dtlsState], ['connected', 'connected']);
  });

  it('names the browser and OS of a user agent', () => {
    const chromium =
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';
    assert.deepEqual(clientPlatform(chromium), { browser: 'Chrome 130', os: 'Linux' });
    const safari =
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';
    assert.deepEqual(clientPlatform(safari), { browser: 'Safari 17', os: 'macOS' });
  });
});
