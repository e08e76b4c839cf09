import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrendlineDetector, type DelaySignal } from './TrendlineDetector.js';

/**
 * Feeds `count` groups sent `sendDeltaMs` apart, each arriving `variation(i)` ms later than it
 * was sent after the one before; returns the signals.
 */
function feed(
  detector: TrendlineDetector,
  count: number,
  variation: (index: number) => number,
  start = { arrivalMs: 0 },
  sendDeltaMs = 10,
): DelaySignal[] {
  const signals: DelaySignal[] = [];
  for (let i = 0; i < count; i++) {
    const arrivalDeltaMs = sendDeltaMs + variation(i);
    start.arrivalMs += arrivalDeltaMs;
    signals.push(detector.update({ sendDeltaMs, arrivalDeltaMs, arrivalMs: start.arrivalMs }));
  }
  return signals;
}

describe('the trendline overuse detector', () => {
  it('takes jitter around a steady delay, up to 15 ms a group, for a normal link', () => {
    const detector = new TrendlineDetector();
    let seed = 11;
    let previous = 0;
    const signals = feed(detector, 3000, () => {
      seed = (seed * 16807) % 2147483647;
      const delay = (seed / 2147483647) * 15;
      const variation = delay - previous;
      previous = delay;
      return variation;
    });
    assert.ok(signals.every((signal) => signal === 'normal'));
  });

  it('tells of a queue building up within a few groups once it has a window of them', () => {
    const detector = new TrendlineDetector();
    const clock = { arrivalMs: 0 };
    feed(detector, 100, () => 0, clock);
    // Each group arrives 5 ms later than the last: the queue grows by half the send rate.
    const signals = feed(detector, 20, () => 5, clock);
    const first = signals.indexOf('overusing');
    assert.ok(first >= 0 && first < 8, `overuse after ${first} groups`);
  });

  it('tells of a queue draining as underuse, and of a steady one again as normal', () => {
    const detector = new TrendlineDetector();
    const clock = { arrivalMs: 0 };
    feed(detector, 100, () => 0, clock);
    feed(detector, 40, () => 5, clock);
    assert.ok(feed(detector, 40, () => -5, clock).includes('underusing'));
    assert.equal(feed(detector, 60, () => 0, clock).at(-1), 'normal');
  });
});
