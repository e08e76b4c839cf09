import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NackLossWindow } from './NackLossWindow.js';

/** Feeds 20 packets a 250 ms tick, `lost` of them NACKed, over [fromMs, toMs); returns the last share. */
function feed(
  window: NackLossWindow,
  counts: { sent: number; nacked: number },
  fromMs: number,
  toMs: number,
  lost: number,
): number {
  let share = 0;
  for (let ms = fromMs; ms < toMs; ms += 250) {
    counts.sent += 20;
    counts.nacked += lost;
    share = window.sample(counts.sent, counts.nacked, ms);
  }
  return share;
}

describe('NACK loss over a sliding second', () => {
  it('tells a collapse within a few ticks, and forgets it a second after it ends', () => {
    const window = new NackLossWindow();
    const counts = { sent: 0, nacked: 0 };
    assert.equal(feed(window, counts, 0, 5000, 0), 0);
    // 90 % lost from 5 s on: past 15 % at the first tick's reading already.
    assert.ok(feed(window, counts, 5000, 5250, 18) > 0.15);
    assert.equal(feed(window, counts, 5250, 8000, 18), 0.9);
    assert.ok(feed(window, counts, 8000, 8750, 0) > 0.15, 'a second of samples');
    assert.equal(feed(window, counts, 8750, 10_000, 0), 0);
  });

  it('takes a short burst of loss among good packets for what it is', () => {
    const window = new NackLossWindow();
    const counts = { sent: 0, nacked: 0 };
    feed(window, counts, 0, 5000, 0);
    assert.equal(feed(window, counts, 5000, 5250, 2), 0.025);
    assert.ok(feed(window, counts, 5250, 6000, 0) < 0.15);
  });

  it('tells nothing from a handful of packets', () => {
    const window = new NackLossWindow();
    assert.equal(window.sample(0, 0, 0), 0);
    assert.equal(window.sample(5, 3, 250), 0);
    assert.equal(window.sample(12, 3, 500), 0.25);
  });
});
