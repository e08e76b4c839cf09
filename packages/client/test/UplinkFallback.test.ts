import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UplinkFallback, type UplinkFallbackChange } from '../src/core/UplinkFallback.js';
import type { UplinkReading } from '../src/core/uplinkReading.js';

const good: UplinkReading = { availableBitrate: 600e3, audioLoss: 0, videoLoss: 0, videoBitrate: 500e3 };
/** A routed publisher behind a narrow link: its reports tell loss, its estimate is still high. */
const lossy: UplinkReading = { availableBitrate: 900e3, audioLoss: 0.3, videoLoss: 0.8, videoBitrate: 100e3 };
/** A relayed publisher behind a narrow link: its estimate fell, so little is sent and little lost. */
const starved: UplinkReading = { availableBitrate: 84e3, audioLoss: null, videoLoss: 0, videoBitrate: 30e3 };
/** After the link recovered, before the estimate climbed back. */
const climbing: UplinkReading = { availableBitrate: 70e3, audioLoss: 0, videoLoss: 0, videoBitrate: 30e3 };
/** A read that brought no receiver report. */
const quiet: UplinkReading = {
  availableBitrate: 900e3,
  audioLoss: null,
  videoLoss: null,
  videoBitrate: 300e3,
};

type Timed = [number, UplinkFallbackChange];

/** Feeds the same readings every 500 ms over [fromMs, toMs); returns the changes with their times. */
function feed(fallback: UplinkFallback, fromMs: number, toMs: number, ...readings: UplinkReading[]): Timed[] {
  const changes: Timed[] = [];
  for (let ms = fromMs; ms < toMs; ms += 500) {
    const change = fallback.update(readings, ms);
    if (change) changes.push([ms, change]);
  }
  return changes;
}

describe('publisher audio fallback', () => {
  for (const [what, bad] of [
    ['lossy receiver reports', lossy],
    ['a starved estimate', starved],
  ] as const) {
    it(`warns and turns video off within 1.5 s of ${what}`, () => {
      const fallback = new UplinkFallback();
      assert.deepEqual(feed(fallback, 0, 5000, good), []);
      assert.deepEqual(feed(fallback, 5000, 7000, bad), [
        [5500, 'videoDisableWarning'],
        [6500, 'videoDisabled'],
      ]);
      assert.equal(fallback.state, 'off');
      assert.equal(fallback.sendLimit, 'none');
    });
  }

  it('lifts a warning when the uplink recovers before video goes off', () => {
    const fallback = new UplinkFallback();
    const changes = [...feed(fallback, 0, 1000, lossy), ...feed(fallback, 1000, 5000, good)];
    assert.deepEqual(changes, [
      [500, 'videoDisableWarning'],
      [3000, 'videoDisableWarningLifted'],
    ]);
    assert.equal(fallback.sendLimit, 'all');
  });

  it('probes with the lowest video, backing off from 4 s to 32 s while the uplink stays bad', () => {
    const fallback = new UplinkFallback();
    const changes = feed(fallback, 0, 120_000, lossy);
    assert.deepEqual(changes.slice(0, 2), [
      [500, 'videoDisableWarning'],
      [1500, 'videoDisabled'],
    ]);
    const probes = changes.filter(([, change]) => change === 'probeStarted').map(([ms]) => ms);
    assert.ok(changes.slice(2).every(([, change]) => change === 'probeStarted' || change === 'probeFailed'));
    const waits = probes.slice(1).map((ms, i) => ms - (probes[i] as number));
    // Each probe fails a second in (loss in two readings half a second apart); then the wait doubles, up to 32 s.
    assert.deepEqual(waits, [9000, 17_000, 33_000, 33_000]);
    assert.equal(probes[0], 5500);
  });

  it('sends the lowest video while probing and turns video back on when a probe goes through', () => {
    const fallback = new UplinkFallback();
    feed(fallback, 0, 2000, lossy);
    assert.equal(fallback.state, 'off');
    const changes = feed(fallback, 2000, 20_000, good);
    assert.deepEqual(changes, [
      [5500, 'probeStarted'],
      [8500, 'videoEnabled'],
    ]);
    assert.equal(fallback.sendLimit, 'all');
  });

  it('keeps probing while the estimate climbs back, and fails a probe whose estimate stays low', () => {
    const recovering = new UplinkFallback();
    feed(recovering, 0, 2000, lossy);
    feed(recovering, 2000, 6000, climbing);
    assert.equal(recovering.sendLimit, 'lowest');
    assert.deepEqual(feed(recovering, 6000, 9500, climbing), [], 'still probing at 4 s');
    assert.deepEqual(feed(recovering, 9500, 12_000, good), [[9500, 'videoEnabled']]);

    const stuck = new UplinkFallback();
    feed(stuck, 0, 2000, lossy);
    assert.deepEqual(feed(stuck, 2000, 20_000, climbing), [
      [5500, 'probeStarted'],
      [13_500, 'probeFailed'],
    ]);
  });

  it('takes a read without reports as no news, which neither starts nor ends a congestion', () => {
    const fallback = new UplinkFallback();
    const changes: Timed[] = [];
    for (let ms = 0; ms < 3000; ms += 250) {
      const change = fallback.update([ms % 500 === 0 ? lossy : quiet], ms);
      if (change) changes.push([ms, change]);
    }
    assert.deepEqual(changes, [
      [500, 'videoDisableWarning'],
      [1500, 'videoDisabled'],
    ]);
  });

  it('does not fail a probe for the loss the first report after video resumes tells', () => {
    const fallback = new UplinkFallback();
    feed(fallback, 0, 2000, lossy);
    assert.deepEqual(feed(fallback, 2000, 5500, quiet), []);
    assert.deepEqual(feed(fallback, 5500, 6000, quiet), [[5500, 'probeStarted']]);
    assert.deepEqual(feed(fallback, 6000, 6500, lossy), []);
    assert.deepEqual(
      feed(fallback, 6500, 7500, quiet),
      [],
      'silence after it makes the loss no more lasting',
    );
    assert.deepEqual(feed(fallback, 7500, 10_000, good), [[8500, 'videoEnabled']]);
  });

  it('judges the uplink by its best connection: one congested subscriber leaves video on', () => {
    const fallback = new UplinkFallback();
    assert.deepEqual(feed(fallback, 0, 10_000, good, lossy), []);
    assert.deepEqual(
      feed(fallback, 10_000, 12_000, starved, lossy).map(([, change]) => change),
      ['videoDisableWarning', 'videoDisabled'],
    );
  });

  it('changes nothing without a connection to judge, and starts over at reset', () => {
    const fallback = new UplinkFallback();
    assert.deepEqual(feed(fallback, 0, 5000), []);
    feed(fallback, 0, 2000, lossy);
    assert.equal(fallback.state, 'off');
    fallback.reset();
    assert.equal(fallback.state, 'on');
    assert.equal(fallback.sendLimit, 'all');
    assert.deepEqual(feed(fallback, 2000, 3000, lossy), [[2500, 'videoDisableWarning']]);
  });
});
