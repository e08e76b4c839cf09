import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBucket } from './TokenBucket.js';

describe('TokenBucket', () => {
  it('allows a burst of its capacity, then refills at its rate', () => {
    let now = 0;
    const bucket = new TokenBucket({ ratePerSecond: 10, capacity: 3, clock: () => now });
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false]);
    now = 99;
    assert.equal(bucket.take(), false);
    now = 100;
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), false);
  });

  it('never holds more than its capacity however long it idles', () => {
    let now = 0;
    const bucket = new TokenBucket({ ratePerSecond: 100, capacity: 2, clock: () => now });
    now = 60_000;
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [true, true, false]);
  });

  it('lets a take that costs more than what is left through, then refuses until the debt is paid back', () => {
    let now = 0;
    const bucket = new TokenBucket({ ratePerSecond: 1000, capacity: 1000, clock: () => now });
    assert.equal(bucket.take(3000), true);
    now = 1999;
    assert.equal(bucket.take(), false);
    now = 2001;
    assert.equal(bucket.take(10), true);
  });

  it('refuses a rate that is not positive and a capacity under one with a TypeError', () => {
    assert.throws(() => new TokenBucket({ ratePerSecond: 0, capacity: 1 }), TypeError);
    assert.throws(() => new TokenBucket({ ratePerSecond: 1, capacity: 0.5 }), TypeError);
  });
});
