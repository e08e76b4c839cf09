import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressBuckets } from './AddressBuckets.js';

describe('AddressBuckets', () => {
  it('gives each address its burst, then refills it at its rate', () => {
    let now = 0;
    const buckets = new AddressBuckets({ perMinute: 6, burst: 3, clock: () => now });
    assert.deepEqual(
      [1, 2, 3, 4].map(() => buckets.take('192.0.2.1')),
      [true, true, true, false],
    );
    assert.equal(buckets.take('192.0.2.2'), true, 'another address has its own bucket');
    now += buckets.retryAfterSeconds * 1000;
    assert.equal(buckets.take('192.0.2.1'), true, 'a token is back after retryAfterSeconds');
    assert.equal(buckets.retryAfterSeconds, 10);
  });

  it('remembers at most maxAddresses, and forgets addresses idle until their bucket is full again', () => {
    let now = 0;
    const buckets = new AddressBuckets({ perMinute: 60, burst: 5, maxAddresses: 100, clock: () => now });
    for (let i = 0; i < 5000; i++) buckets.take(`10.0.${i >> 8}.${i & 255}`);
    assert.equal(buckets.size, 100);
    now += 4000;
    buckets.take('10.9.9.9');
    assert.equal(buckets.size, 100, 'none idle long enough yet: the oldest made room for the new one');
    now += 1000;
    buckets.take('10.9.9.9');
    assert.equal(buckets.size, 1, 'the others were idle for a full refill (5 s) and were forgotten');
  });

  it('counts an IPv6 address by its /64', () => {
    const buckets = new AddressBuckets({ perMinute: 1, burst: 1, clock: () => 0 });
    assert.equal(buckets.take('2001:db8:1:2::1'), true);
    assert.equal(buckets.take('2001:db8:1:2::99'), false, 'the same /64');
    assert.equal(buckets.take('2001:db8:1:3::1'), true, 'another /64');
  });
});
