import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UplinkFallback, type UplinkFallbackChange } from '../src/core/UplinkFallback.js';
import type { UplinkReading } from '../src/core/uplinkReading.js';

/** A routed publisher's good report: the router's feedback gives a loss-based estimate. */
const good: UplinkReading = {
  availableBitrate: 600e3,
  estimateRising: false,
  delayBasedEstimate: false,
  audioLoss: 0,
  videoLoss: 0,
  videoBitrate: 500e3,
};
/** A routed publisher behind a flaky link: its reports tell loss, its estimate is still high. */
const lossy: UplinkReading = { ...good, availableBitrate: 900e3, audioLoss: 0.2, videoLoss: 0.3 };
/** A routed publisher behind a narrow link: one report tells that more than half was lost. */
const severe: UplinkReading = { ...lossy, audioLoss: 0.6, videoLoss: 0.9 };
/** A read that brought no receiver report. */
const quiet: UplinkReading = { ...good, audioLoss: null, videoLoss: null };
/** After a routed link recovered: no loss, and a loss-based estimate far below the floor. */
const routedRecovering: UplinkReading = { ...good, availableBitrate: 56e3 };
/** A relayed publisher behind a narrow link: its delay-based estimate fell, so little is lost. */
const starved: UplinkReading = {
  ...quiet,
  availableBitrate: 84e3,
  delayBasedEstimate: true,
  videoBitrate: 30e3,
};
/** A relayed publisher after its link recovered, before the estimate climbed above the floor. */
const climbing: UplinkReading = { ...starved, estimateRising: true, audioLoss: 0, videoLoss: 0 };
const relayedGood: UplinkReading = { ...good, delayBasedEstimate: true };

type Timed = [number, UplinkFallbackChange];

/**
 * Feeds readings every 250 ms over [fromMs, toMs), as `PublisherFallback` reads: the given ones
 * in turn (`[lossy, quiet]` is a receiver report every 500 ms); returns the changes with their times.
 */
function feed(fallback: UplinkFallback, fromMs: number, toMs: number, ...turns: UplinkReading[][]): Timed[] {
  const changes: Timed[] = [];
  for (let ms = fromMs, index = 0; ms < toMs; ms += 250, index++) {
    const change = fallback.update(turns[index % turns.length] ?? [], ms);
    if (change) changes.push([ms, change]);
  }
  return changes;
}

/** Video off at 500 ms, by two lossy reports half a second apart. */
function turnedOff(): UplinkFallback {
  const fallback = new UplinkFallback();
  assert.deepEqual(feed(fallback, 0, 750, [lossy], [quiet]), [
    [0, 'videoDisableWarning'],
    [500, 'videoDisabled'],
  ]);
  return fallback;
}

describe('publisher audio fallback', () => {
  it('warns at the first lossy receiver report and turns video off at the next, half a second later', () => {
    const fallback = new UplinkFallback();
    assert.deepEqual(feed(fallback, 0, 5000, [good], [quiet]), []);
    assert.deepEqual(feed(fallback, 5000, 7000, [lossy], [quiet]), [
      [5000, 'videoDisableWarning'],
      [5500, 'videoDisabled'],
    ]);
    assert.equal(fallback.state, 'off');
    assert.equal(fallback.sendLimit, 'none');
  });

  it('turns video off a reading after the warning when its report lost more than half, unless the next is clear', () => {
    const fallback = new UplinkFallback();
    assert.deepEqual(feed(fallback, 0, 1000, [severe], [quiet]), [
      [0, 'videoDisableWarning'],
      [250, 'videoDisabled'],
    ]);
    const recovered = new UplinkFallback();
    assert.deepEqual(feed(recovered, 0, 250, [severe]), [[0, 'videoDisableWarning']]);
    assert.deepEqual(feed(recovered, 250, 3000, [good], [quiet]), [[2250, 'videoDisableWarningLifted']]);
    const mixed = new UplinkFallback();
    assert.deepEqual(
      feed(mixed, 0, 1000, [severe, lossy], [quiet, quiet]),
      [
        [0, 'videoDisableWarning'],
        [500, 'videoDisabled'],
      ],
      'severe only when every connection is',
    );
  });

  it('warns and turns video off within half a second of a delay-based estimate settled below the floor', () => {
    const fallback = new UplinkFallback();
    assert.deepEqual(feed(fallback, 0, 5000, [relayedGood]), []);
    assert.deepEqual(feed(fallback, 5000, 7000, [starved]), [
      [5000, 'videoDisableWarning'],
      [5500, 'videoDisabled'],
    ]);
  });

  it('does not judge a loss-based estimate: a routed publisher whose estimate climbs back keeps its video', () => {
    const fallback = new UplinkFallback();
    assert.deepEqual(feed(fallback, 0, 10_000, [routedRecovering], [quiet]), []);
    assert.deepEqual(feed(fallback, 10_000, 20_000, [climbing]), [], 'a rising delay-based one neither');
  });

  it('lifts a warning after 2 s without congestion when one lossy report stays alone', () => {
    const fallback = new UplinkFallback();
    const changes = [...feed(fallback, 0, 250, [lossy]), ...feed(fallback, 250, 5000, [quiet], [good])];
    assert.deepEqual(changes, [
      [0, 'videoDisableWarning'],
      [2500, 'videoDisableWarningLifted'],
    ]);
    assert.equal(fallback.sendLimit, 'all');
  });

  it('probes with the lowest video 2.5 s after video went off, backing off to 4 s while the uplink stays bad', () => {
    const fallback = turnedOff();
    const changes = feed(fallback, 750, 30_000, [lossy], [quiet]);
    assert.ok(changes.every(([, change]) => change === 'probeStarted' || change === 'probeFailed'));
    const probes = changes.filter(([, change]) => change === 'probeStarted').map(([ms]) => ms);
    assert.equal(probes[0], 3000);
    // Each probe fails at its first lossy report; then the wait doubles (5 s), held at 4 s.
    const failures = changes.filter(([, change]) => change === 'probeFailed').map(([ms]) => ms);
    const waits = probes.slice(1).map((ms, i) => ms - (failures[i] as number));
    assert.deepEqual(waits, [4000, 4000, 4000, 4000, 4000, 4000]);
    assert.ok(
      failures.every((ms, i) => ms - (probes[i] as number) <= 500),
      'each fails within half a second',
    );
  });

  it('sends the lowest video while probing and turns video back on when a probe goes through for 2.5 s', () => {
    const fallback = turnedOff();
    assert.deepEqual(feed(fallback, 750, 3000, [quiet]), []);
    assert.deepEqual(feed(fallback, 3000, 3250, [quiet]), [[3000, 'probeStarted']]);
    assert.equal(fallback.sendLimit, 'lowest');
    assert.deepEqual(feed(fallback, 3250, 10_000, [good], [quiet]), [[5500, 'videoEnabled']]);
    assert.equal(fallback.sendLimit, 'all');
  });

  it('passes a probe only once a report on its own video came after its first second', () => {
    const fallback = turnedOff();
    feed(fallback, 750, 3250, [quiet]);
    assert.equal(fallback.probing, true);
    const audioOnly: UplinkReading = { ...good, videoLoss: null };
    assert.deepEqual(
      feed(fallback, 3250, 6000, [audioOnly], [quiet]),
      [],
      'audio reports alone do not pass it',
    );
    assert.deepEqual(feed(fallback, 6000, 6500, [good]), [[6000, 'videoEnabled']]);
  });

  it('fails a probe whose delay-based estimate stays below the floor past its first second, and at 5 s one whose estimate climbs too slowly', () => {
    const starving = turnedOff();
    feed(starving, 750, 3250, [quiet]);
    assert.deepEqual(feed(starving, 3250, 6000, [starved]), [[4000, 'probeFailed']]);

    const slow = turnedOff();
    feed(slow, 750, 3250, [quiet]);
    assert.deepEqual(feed(slow, 3250, 9000, [climbing]), [[8000, 'probeFailed']]);

    const recovering = turnedOff();
    feed(recovering, 750, 3250, [quiet]);
    assert.deepEqual(feed(recovering, 3250, 4500, [climbing]), []);
    assert.deepEqual(feed(recovering, 4500, 7000, [relayedGood]), [[5500, 'videoEnabled']]);
  });

  it('judges the uplink by its best connection: one congested subscriber leaves video on', () => {
    const fallback = new UplinkFallback();
    assert.deepEqual(feed(fallback, 0, 10_000, [good, lossy]), []);
    assert.deepEqual(
      feed(fallback, 10_000, 12_000, [starved, lossy]).map(([, change]) => change),
      ['videoDisableWarning', 'videoDisabled'],
    );
  });

  it('changes nothing without a connection to judge', () => {
    const fallback = new UplinkFallback();
    assert.deepEqual(feed(fallback, 0, 5000, []), []);
  });

  it('lifts a warning when the user turns video off, and judges nothing until it is on again', () => {
    const fallback = new UplinkFallback();
    feed(fallback, 0, 250, [lossy]);
    assert.equal(fallback.state, 'warning');
    assert.equal(fallback.pause(), 'videoDisableWarningLifted');
    assert.equal(fallback.pause(), null);
    assert.deepEqual(feed(fallback, 250, 5000, [lossy]), []);
    fallback.resume(5000);
    assert.deepEqual(feed(fallback, 5000, 5750, [lossy], [quiet]), [
      [5000, 'videoDisableWarning'],
      [5500, 'videoDisabled'],
    ]);
  });

  it('keeps video it turned off off while the user has video off, and probes at once when the user turns it on', () => {
    const fallback = turnedOff();
    feed(fallback, 750, 3250, [quiet]);
    assert.equal(fallback.probing, true);
    assert.equal(fallback.pause(), null, 'no videoEnabled the fallback did not decide');
    assert.equal(fallback.state, 'off');
    assert.equal(fallback.sendLimit, 'none');
    assert.deepEqual(feed(fallback, 3250, 60_000, [good]), []);
    fallback.resume(60_000);
    assert.deepEqual(feed(fallback, 60_000, 63_000, [good], [quiet]), [
      [60_000, 'probeStarted'],
      [62_500, 'videoEnabled'],
    ]);
  });
});
