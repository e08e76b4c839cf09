import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VideoFallback, type VideoFallbackEvent } from './VideoFallback.js';

const good = { estimate: 600e3, fractionLost: 0, lowestBitrate: 80e3, atLowestLayer: true };
const bad = { estimate: 50e3, fractionLost: 0.4, lowestBitrate: 80e3, atLowestLayer: true };

/** Feeds a reading every 250 ms over [fromMs, toMs); returns the events with their times. */
function feed(
  fallback: VideoFallback,
  fromMs: number,
  toMs: number,
  reading: typeof good,
): [number, VideoFallbackEvent][] {
  const events: [number, VideoFallbackEvent][] = [];
  for (let ms = fromMs; ms < toMs; ms += 250) {
    const event = fallback.update(reading, ms);
    if (event) events.push([ms, event]);
  }
  return events;
}

describe('Audio fallback', () => {
  it('warns, turns video off within two seconds, probes with backoff, and turns it back on once a probe goes through', () => {
    const fallback = new VideoFallback();
    assert.deepEqual(feed(fallback, 0, 5000, good), []);
    const impaired = feed(fallback, 5000, 30_000, bad);
    assert.deepEqual(impaired.slice(0, 2), [
      [5500, 'videoDisableWarning'],
      [6500, 'videoDisabled'],
    ]);
    assert.equal(impaired.length, 2, 'no flapping while the link stays bad');
    assert.equal(fallback.state, 'off');
    assert.equal(fallback.forwardsVideo, false);
    // Probes came and failed meanwhile: 4 s after, then 8 s after that, then 16 s.
    const probes: number[] = [];
    const watcher = new VideoFallback();
    feed(watcher, 0, 1000, good);
    const probing = (): boolean => watcher.state === 'off' && watcher.forwardsVideo;
    for (let ms = 1000; ms < 40_000; ms += 250) {
      const wasProbing = probing();
      watcher.update(bad, ms);
      if (!wasProbing && probing()) probes.push(ms);
    }
    assert.ok(probes.length >= 3, `probes at ${probes.join(', ')}`);
    const gaps = probes.slice(1).map((at, i) => at - (probes[i] as number));
    assert.ok(
      gaps.every((gap, i) => i === 0 || gap > (gaps[i - 1] as number)),
      `growing waits: ${gaps.join(', ')}`,
    );

    const repaired = feed(fallback, 30_000, 60_000, good);
    assert.equal(repaired.length, 1);
    const [[enabledAt, event]] = repaired as [[number, VideoFallbackEvent]];
    assert.equal(event, 'videoEnabled');
    assert.ok(enabledAt - 30_000 <= 32_000 + 3000, `recovered ${enabledAt - 30_000} ms after the repair`);
    assert.equal(fallback.forwardsVideo, true);
  });

  it('lifts a warning when the link recovers before video goes off', () => {
    const fallback = new VideoFallback();
    const events = [...feed(fallback, 0, 750, bad), ...feed(fallback, 750, 5000, good)];
    assert.deepEqual(
      events.map(([, event]) => event),
      ['videoDisableWarning', 'videoDisableWarningLifted'],
    );
  });

  it('leaves loss on a higher layer to the layer selector', () => {
    const fallback = new VideoFallback();
    assert.deepEqual(feed(fallback, 0, 10_000, { ...bad, estimate: 500e3, atLowestLayer: false }), []);
  });
});
