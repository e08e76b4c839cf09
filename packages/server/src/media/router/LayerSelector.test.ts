import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bitrateOf, LayerSelector, type LayerView } from './LayerSelector.js';
import { noVideoPreferences, type VideoPreferences } from './Subscription.js';

/** Three simulcast layers of a 1280x720 camera, measured, with three temporal layers each. */
const layers: LayerView[] = [
  { width: 320, height: 180, bitrates: [60e3, 100e3, 150e3], frameRates: [7.5, 15, 30], available: true },
  { width: 640, height: 360, bitrates: [200e3, 350e3, 500e3], frameRates: [7.5, 15, 30], available: true },
  { width: 1280, height: 720, bitrates: [700e3, 1.1e6, 1.5e6], frameRates: [7.5, 15, 30], available: true },
];
const clearLink = { estimate: 3e6, fractionLost: 0 };
const smallest: VideoPreferences = { resolution: { width: 320, height: 180 }, frameRate: null };

/**
 * A subscriber's link as Chromium's receive-side estimator reports it, once a second: the
 * estimate climbs 8 %/s up to 1.5 times what it receives, falls to 0.85 times the throughput
 * when the layer overruns the capacity, which then also loses the excess.
 */
class SimulatedLink {
  estimate = 2.25e6;
  layer = 2;
  constructor(public capacity: number) {}

  step(selector: LayerSelector, nowMs: number, preferences = noVideoPreferences): number {
    const rate = bitrateOf(layers, this.layer);
    const overrun = rate > this.capacity;
    this.estimate = overrun ? 0.85 * this.capacity : Math.min(this.estimate * 1.08, 1.5 * rate);
    const fractionLost = overrun ? (rate - this.capacity) / rate : 0;
    this.layer =
      selector.choose(layers, preferences, { estimate: this.estimate, fractionLost }, nowMs)?.spatial ?? -1;
    return this.layer;
  }

  run(selector: LayerSelector, fromS: number, toS: number, preferences = noVideoPreferences): string {
    let chosen = '';
    for (let s = fromS; s <= toS; s++) chosen += String(this.step(selector, s * 1000, preferences));
    return chosen;
  }
}

describe('Layer selection', () => {
  it('takes the layer nearest the wished size, and the top one without a wish', () => {
    const selector = new LayerSelector();
    assert.deepEqual(selector.choose(layers, noVideoPreferences, clearLink, 0), { spatial: 2, temporal: 2 });
    assert.equal(
      selector.choose(layers, smallest, clearLink, 1000)?.spatial,
      0,
      'a wish for less is granted at once',
    );
    const near = (width: number, height: number) =>
      new LayerSelector().choose(layers, { resolution: { width, height }, frameRate: null }, clearLink, 0)
        ?.spatial;
    assert.deepEqual([near(900, 500), near(1000, 560), near(400, 200)], [1, 2, 0]);
  });

  it('drops temporal layers down to the wished frame rate', () => {
    const at = (frameRate: number) =>
      new LayerSelector().choose(layers, { resolution: null, frameRate }, clearLink, 0)?.temporal;
    assert.deepEqual([at(30), at(15), at(7), at(1)], [2, 1, 0, 0]);
  });

  it('chooses nothing until a layer is available, and never a layer that is not', () => {
    const selector = new LayerSelector();
    const none = layers.map((layer) => ({ ...layer, available: false }));
    assert.equal(selector.choose(none, noVideoPreferences, clearLink, 0), null);
    const lowOnly = layers.map((layer, index) => ({ ...layer, available: index === 0 }));
    assert.equal(selector.choose(lowOnly, noVideoPreferences, clearLink, 0)?.spatial, 0);
  });

  it('steps down a second after the link is limited, tries its way up with backoff, and climbs back when the limit is lifted', () => {
    const selector = new LayerSelector();
    const link = new SimulatedLink(10e6);
    assert.equal(link.run(selector, 0, 4), '22222');
    link.capacity = 250e3;
    const limited = link.run(selector, 5, 60);
    assert.match(limited, /^20/, 'down to the layer that fits, a second after the limit');
    const trials = [...limited.matchAll(/1+/g)].map((match) => match.index + 5);
    assert.ok(trials.length >= 2 && trials.length <= 4, `few trials: ${limited}`);
    const gaps = trials.slice(1).map((at, i) => at - (trials[i] as number));
    assert.ok(
      gaps.every((gap, i) => i === 0 || gap > (gaps[i - 1] as number)),
      `backoff grows: ${gaps.join(',')}`,
    );
    link.capacity = 10e6;
    const lifted = link.run(selector, 61, 180);
    assert.match(lifted, /2+$/, `back to the top layer: ${lifted}`);
    assert.ok(lifted.indexOf('2') < 100, `within the longest backoff and two trials: ${lifted}`);
  });

  it('tries a wish for more at once, and keeps it when the link carries it', () => {
    const selector = new LayerSelector();
    const link = new SimulatedLink(10e6);
    assert.match(link.run(selector, 0, 10, smallest), /0{5}$/);
    assert.equal(link.run(selector, 11, 30), '2'.repeat(20));
  });

  it('keeps a wish for more that came while the link showed no room, and tries it straight once it does', () => {
    const selector = new LayerSelector();
    // At the smallest size, its estimate dipped just below the headroom a trial needs.
    const choose = (estimate: number, nowMs: number, preferences = noVideoPreferences) =>
      selector.choose(layers, preferences, { estimate, fractionLost: 0 }, nowMs)?.spatial;
    assert.equal(choose(3e6, 0, smallest), 0);
    assert.equal(choose(180e3, 1000), 0, 'no room yet');
    assert.equal(choose(180e3, 2000), 0);
    assert.equal(choose(225e3, 3000), 2, 'straight to the wish, not one layer up');
  });

  it('does not flap on a steady link: trials up become rare', () => {
    const selector = new LayerSelector();
    const link = new SimulatedLink(800e3);
    const chosen = link.run(selector, 0, 180);
    const switchesIn = (part: string) => part.match(/(?<=0)[12]|(?<=1)[02]|(?<=2)[01]/g)?.length ?? 0;
    assert.ok(switchesIn(chosen.slice(0, 60)) <= 8, chosen);
    assert.ok(
      switchesIn(chosen.slice(60)) <= 4,
      `at most two short trials in the next two minutes: ${chosen}`,
    );
    assert.equal(chosen.replace(/[^1]/g, '').length >= 170, true, chosen);
  });
});
