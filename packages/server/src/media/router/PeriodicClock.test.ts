import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PeriodicClock } from './PeriodicClock.js';

describe('PeriodicClock', () => {
  it('runs each task once per period, the tasks of one period spread evenly over its slices', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const clock = new PeriodicClock(10);
    const runs = new Array<number>(20).fill(0);
    let inTurn = 0;
    const tasks = runs.map((_, index) =>
      clock.add(50, () => {
        runs[index] = (runs[index] ?? 0) + 1;
        inTurn++;
      }),
    );
    const slow = clock.add(1000, () => {
      inTurn++;
    });
    for (let turn = 0; turn < 100; turn++) {
      inTurn = 0;
      t.mock.timers.tick(10);
      // 20 tasks over the 5 slices of 50 ms: 4 a turn, the slow one's turn 5.
      assert.ok(inTurn === 4 || inTurn === 5, `turn ${turn} ran ${inTurn} tasks`);
    }
    assert.deepEqual(runs, new Array<number>(20).fill(20));
    for (const task of [...tasks, slow]) task.cancel();
    t.mock.timers.tick(100);
    assert.deepEqual(runs, new Array<number>(20).fill(20));
  });

  it('runs no task after its cancel, also one cancelled by a task of the same slice', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const clock = new PeriodicClock(10);
    let cancelled = 0;
    let later = 0;
    const first = clock.add(10, () => {
      second.cancel();
    });
    const second = clock.add(10, () => {
      cancelled++;
    });
    const third = clock.add(20, () => {
      later++;
    });
    t.mock.timers.tick(60);
    assert.equal(later, 3);
    third.cancel();
    third.cancel();
    t.mock.timers.tick(60);
    first.cancel();
    assert.equal(cancelled, 0);
    assert.equal(later, 3);
    // Stopped with its last task, it starts again with a new one.
    const again = clock.add(10, () => {
      later++;
    });
    t.mock.timers.tick(20);
    again.cancel();
    assert.equal(later, 5);
  });

  it('takes only periods that are a whole number of slices', () => {
    const clock = new PeriodicClock(10);
    assert.throws(() => clock.add(25, () => undefined), TypeError);
    assert.throws(() => clock.add(0, () => undefined), TypeError);
  });
});
