import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultVideoFallbackSettings,
  VideoFallback,
  type FallbackReading,
  type VideoFallbackEvent,
} from './VideoFallback.js';

type Link = Omit<FallbackReading, 'reportAtMs'>;

const good: Link = {
  estimate: 600e3,
  fractionLost: 0,
  videoNackLoss: 0,
  videoReportLoss: 0,
  lowestBitrate: 80e3,
  atLowestLayer: true,
  forwardedBitrate: 80e3,
};
const bad: Link = { ...good, estimate: 50e3, fractionLost: 0.4, videoNackLoss: 0.4, videoReportLoss: 0.4 };
const { probeIntervalMs, maxProbeIntervalMs, probeMs } = defaultVideoFallbackSettings;

/**
 * Feeds a reading every 250 ms over [fromMs, toMs), with a receiver report each second as
 * browsers send them; returns the events with their times.
 */
function feed(
  fallback: VideoFallback,
  fromMs: number,
  toMs: number,
  link: Link,
): [number, VideoFallbackEvent][] {
  const events: [number, VideoFallbackEvent][] = [];
  for (let ms = fromMs; ms < toMs; ms += 250) {
    const event = fallback.update({ ...link, reportAtMs: ms - (ms % 1000) }, ms);
    if (event) events.push([ms, event]);
  }
  return events;
}

/** Whether the fallback forwards video while it is off: a probe. */
const probing = (fallback: VideoFallback): boolean => fallback.state === 'off' && fallback.forwardsVideo;

describe('Audio fallback', () => {
  it('warns at the first congested reading, turns video off a quarter of a second on, and stays off while the link stays bad', () => {
    const fallback = new VideoFallback();
    assert.deepEqual(feed(fallback, 0, 5000, good), []);
    assert.deepEqual(feed(fallback, 5000, 6000, bad), [
      [5000, 'videoDisableWarning'],
      [5250, 'videoDisabled'],
    ]);
    assert.equal(fallback.forwardsVideo, false);
    assert.deepEqual(
      fallback.lastChange,
      { atMs: 5250, event: 'videoDisabled', estimate: 50e3, loss: 0.4, lowestBitrate: 80e3 },
      'when, and the reading why, for stats',
    );
    assert.deepEqual(feed(fallback, 6000, 30_000, bad), []);
    assert.equal(fallback.state, 'off');
  });

  it('probes a bad link with waits that double up to the longest, each probe ending at its first NACKs', () => {
    const fallback = new VideoFallback();
    feed(fallback, 0, 1000, good);
    const probes: [number, number][] = [];
    for (let ms = 1000; ms < 60_000; ms += 250) {
      const wasProbing = probing(fallback);
      fallback.update({ ...bad, reportAtMs: ms - (ms % 1000) }, ms);
      if (!wasProbing && probing(fallback)) probes.push([ms, ms]);
      const last = probes.at(-1);
      if (wasProbing && !probing(fallback) && last) last[1] = ms;
    }
    const waits = probes.slice(1).map(([start], i) => start - (probes[i] as [number, number])[1]);
    assert.ok(waits.length >= 4, `probes at ${probes.join(' ')}`);
    assert.equal(waits[0], 2 * probeIntervalMs);
    assert.ok(
      waits.every((wait, i) => wait <= maxProbeIntervalMs && (i === 0 || wait >= (waits[i - 1] as number))),
      `waits ${waits.join(', ')}`,
    );
    assert.ok(
      probes.every(([start, end]) => end - start <= 250),
      `probes last ${probes.map(([start, end]) => end - start).join(', ')} ms`,
    );
  });

  it('turns video back on once a probe goes through, within the longest wait and a probe of the repair', () => {
    const fallback = new VideoFallback();
    feed(fallback, 0, 1000, good);
    feed(fallback, 1000, 30_000, bad);
    const repaired = feed(fallback, 30_000, 60_000, good);
    assert.equal(repaired.length, 1);
    const [[enabledAt, event]] = repaired as [[number, VideoFallbackEvent]];
    assert.equal(event, 'videoEnabled');
    assert.ok(enabledAt - 30_000 <= maxProbeIntervalMs + probeMs + 1000, `${enabledAt - 30_000} ms`);
    assert.equal(fallback.forwardsVideo, true);
  });

  it('judges a probe neither by the report from before it, nor by the first, which spans its start', () => {
    const fallback = new VideoFallback();
    feed(fallback, 0, 1000, good);
    feed(fallback, 1000, 2000, bad);
    // Its NACKs tell of no loss; the reports still tell the loss of when video went off.
    const badReports = { ...bad, videoNackLoss: 0 };
    let ms = 2000;
    while (!probing(fallback)) fallback.update({ ...badReports, reportAtMs: ms }, (ms += 250));
    fallback.update({ ...badReports, reportAtMs: ms - 250 }, (ms += 250));
    const firstOwn = ms;
    fallback.update({ ...badReports, reportAtMs: firstOwn }, (ms += 250));
    assert.ok(probing(fallback), 'the probe goes on');
    // Nor does that first report let it through, however long it runs clean without another.
    while (ms < firstOwn + 2 * probeMs) fallback.update({ ...good, reportAtMs: firstOwn }, (ms += 250));
    assert.ok(probing(fallback), 'still probing without its own report');
    assert.equal(fallback.update({ ...good, reportAtMs: ms }, ms + 250), 'videoEnabled');
  });

  it('after video comes back, lets a low estimate count only once it passed the lowest layer with headroom', () => {
    const fallback = new VideoFallback();
    feed(fallback, 0, 1000, good);
    feed(fallback, 1000, 2000, bad);
    // The browser's estimate stays where it collapsed while video was off, and climbs slowly after.
    const stale = { ...good, estimate: 20e3 };
    const events = feed(fallback, 2000, 30_000, stale);
    assert.deepEqual(
      events.map(([, event]) => event),
      ['videoEnabled'],
    );
    assert.deepEqual(feed(fallback, 30_000, 31_000, { ...good, estimate: 90e3 }), []);
    assert.deepEqual(feed(fallback, 31_000, 31_500, stale), [], 'just above the lowest layer is not enough');
    assert.deepEqual(feed(fallback, 31_500, 32_000, { ...good, estimate: 110e3 }), []);
    assert.deepEqual(
      feed(fallback, 32_000, 33_000, stale).map(([, event]) => event),
      ['videoDisableWarning', 'videoDisabled'],
    );
  });

  it("takes no keyframe's second, whose bitrate swings above the estimate, for congestion", () => {
    const fallback = new VideoFallback();
    const atLowest = { ...good, estimate: 100e3 };
    const events = [
      ...feed(fallback, 0, 5000, atLowest),
      ...feed(fallback, 5000, 6000, { ...atLowest, lowestBitrate: 140e3 }),
      ...feed(fallback, 6000, 10_000, atLowest),
    ];
    assert.deepEqual(events, []);
  });

  it('lifts a warning when the link recovers before video goes off', () => {
    const fallback = new VideoFallback();
    const events = [...feed(fallback, 0, 250, bad), ...feed(fallback, 250, 5000, good)];
    assert.deepEqual(
      events.map(([, event]) => event),
      ['videoDisableWarning', 'videoDisableWarningLifted'],
    );
  });

  it('leaves loss on a higher layer to the layer selector, unless what gets through falls short of the lowest', () => {
    const higher = { ...bad, estimate: 500e3, atLowestLayer: false, forwardedBitrate: 320e3 };
    assert.deepEqual(feed(new VideoFallback(), 0, 10_000, higher), []);
    assert.deepEqual(
      feed(new VideoFallback(), 0, 1000, { ...higher, fractionLost: 0.8 }).map(([, event]) => event),
      ['videoDisableWarning', 'videoDisabled'],
    );
  });

  it('fails a probe at the NACKs of its first second, before any report of its own', () => {
    const fallback = new VideoFallback();
    feed(fallback, 0, 1000, good);
    feed(fallback, 1000, 2000, bad);
    let ms = 2000;
    // Reports stop (the browser reports no silent source); the probe's NACKs come at once.
    while (!probing(fallback)) fallback.update({ ...good, estimate: null, reportAtMs: 1000 }, (ms += 250));
    fallback.update({ ...good, estimate: null, reportAtMs: 1000 }, (ms += 250));
    assert.ok(probing(fallback));
    fallback.update({ ...good, estimate: null, videoNackLoss: 0.5, reportAtMs: 1000 }, ms + 250);
    assert.equal(fallback.forwardsVideo, false, 'the probe failed');
    assert.equal(fallback.state, 'off');
  });

  it('takes video that goes off again soon after coming back for a failed probe: the next probes wait the longest and last longer', () => {
    const fallback = new VideoFallback();
    feed(fallback, 0, 1000, good);
    feed(fallback, 1000, 2000, bad);
    const [[enabledAt] = [0]] = feed(fallback, 2000, 20_000, good);
    // A link that buffered the probe: congestion right after video came back.
    const [, [disabledAt] = [0]] = feed(fallback, enabledAt + 250, enabledAt + 2000, bad);
    const probeStarts: number[] = [];
    let enabledAgainAt = 0;
    for (let ms = disabledAt + 250; ms < disabledAt + 30_000 && !enabledAgainAt; ms += 250) {
      const wasProbing = probing(fallback);
      if (fallback.update({ ...good, reportAtMs: ms - (ms % 1000) }, ms) === 'videoEnabled')
        enabledAgainAt = ms;
      if (!wasProbing && probing(fallback)) probeStarts.push(ms);
    }
    const [firstProbeAt = 0] = probeStarts;
    assert.equal(firstProbeAt, disabledAt + maxProbeIntervalMs);
    assert.ok(
      enabledAgainAt - firstProbeAt >= 2 * probeMs,
      `enabled at ${enabledAgainAt}, probed at ${firstProbeAt}`,
    );
    // Once video stays on, a later collapse gets the quick probes again.
    feed(fallback, enabledAgainAt + 250, enabledAgainAt + 20_000, good);
    const [, [offAt] = [0]] = feed(fallback, enabledAgainAt + 20_000, enabledAgainAt + 21_000, bad);
    let ms = offAt;
    while (!probing(fallback)) fallback.update({ ...good, reportAtMs: ms }, (ms += 250));
    assert.equal(ms - offAt, probeIntervalMs);
  });

  it('after video comes back, counts no report whose span began before the probe that let it through', () => {
    const fallback = new VideoFallback();
    assert.equal(fallback.lossCountsFromMs, 0);
    feed(fallback, 0, 1000, good);
    feed(fallback, 1000, 2000, bad);
    let ms = 2000;
    while (!probing(fallback)) fallback.update({ ...good, reportAtMs: ms - (ms % 1000) }, (ms += 250));
    const probeStart = ms;
    assert.equal(fallback.lossCountsFromMs, 0, 'not while probing');
    const [enabled] = feed(fallback, ms + 250, 20_000, good);
    assert.equal(enabled?.[1], 'videoEnabled');
    assert.equal(fallback.lossCountsFromMs, probeStart);
  });

  it("judges a probe by its video alone, not by the audio's report from before it", () => {
    const fallback = new VideoFallback();
    feed(fallback, 0, 1000, good);
    feed(fallback, 1000, 2000, bad);
    const [first] = feed(fallback, 2000, 20_000, { ...good, fractionLost: 0.4 });
    assert.equal(first?.[1], 'videoEnabled');
  });
});
