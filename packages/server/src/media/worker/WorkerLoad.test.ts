import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkerLoadTracker } from './WorkerLoad.js';

const settings = { maxLagMs: 100, maxUtilization: 0.9 };
const idle = { utilization: 0.1, lagP99Ms: 11 };
const busy = { utilization: 0.95, lagP99Ms: 20 };
const lagging = { utilization: 0.5, lagP99Ms: 150 };
/** Under both thresholds, not under 80 % of them: the hysteresis band. */
const near = { utilization: 0.85, lagP99Ms: 50 };

/** A tracker, and the main thread's tick of every report interval. */
function tracker(): { tracker: WorkerLoadTracker; tick: () => void } {
  const loadTracker = new WorkerLoadTracker(settings);
  return {
    tracker: loadTracker,
    tick: () => {
      loadTracker.tick();
    },
  };
}

describe('WorkerLoadTracker', () => {
  it('turns overloaded after a second over either threshold, not on one busy report', () => {
    for (const reading of [busy, lagging]) {
      const { tracker: load, tick } = tracker();
      load.report(idle);
      tick();
      load.report(reading);
      assert.equal(load.admitting, true, 'one report over is a blip');
      tick();
      load.report(idle);
      tick();
      load.report(reading);
      assert.equal(load.admitting, true, 'the streak restarted');
      tick();
      load.report(reading);
      assert.equal(load.overloaded, true);
    }
  });

  it('admits again only after two seconds clearly under both thresholds, so it does not flap', () => {
    const { tracker: load, tick } = tracker();
    load.report(busy);
    tick();
    load.report(busy);
    assert.equal(load.overloaded, true);
    for (let i = 0; i < 10; i++) {
      tick();
      load.report(near);
    }
    assert.equal(load.overloaded, true, 'just under the thresholds is not enough');
    for (let i = 0; i < 3; i++) {
      tick();
      load.report(idle);
    }
    assert.equal(load.overloaded, true);
    tick();
    load.report(idle);
    assert.equal(load.admitting, true);
  });

  it('counts a worker that stopped reporting (its loop blocked) as overloaded until it reports again', () => {
    const { tracker: load, tick } = tracker();
    load.report(idle);
    for (let i = 0; i < 4; i++) tick();
    assert.equal(load.admitting, true);
    tick();
    assert.equal(load.overloaded, true);
    load.report(idle);
    assert.equal(load.admitting, true);
  });
});
