import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallTimers } from './CallTimers.js';

test('a timeout counts until it fires or is cleared; an interval until it is cleared', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const timers = new CallTimers();
  let fired = 0;
  let ticks = 0;
  timers.timeout(() => (fired += 1), 100);
  const cleared = timers.timeout(() => (fired += 10), 100);
  const interval = timers.interval(() => (ticks += 1), 50);
  assert.equal(timers.size, 3);
  timers.clear(cleared);
  timers.clear(cleared);
  timers.clear(null);
  assert.equal(timers.size, 2);
  t.mock.timers.tick(100);
  assert.equal(fired, 1);
  assert.equal(ticks, 2);
  assert.equal(timers.size, 1, 'the interval still runs');
  timers.clear(interval);
  t.mock.timers.tick(100);
  assert.equal(ticks, 2);
  assert.equal(timers.size, 0);
});

test('clearAll stops and forgets every timer', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const timers = new CallTimers();
  let ran = false;
  timers.timeout(() => (ran = true), 10);
  timers.interval(() => (ran = true), 10);
  timers.clearAll();
  t.mock.timers.tick(100);
  assert.equal(ran, false);
  assert.equal(timers.size, 0);
});
