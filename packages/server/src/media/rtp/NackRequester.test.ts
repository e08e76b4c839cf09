import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NackRequester } from './NackRequester.js';

describe('asking a sender to resend what a gap left out', () => {
  it('asks for a gap at once, again each round trip, and stops when the packet comes', () => {
    const requester = new NackRequester();
    assert.deepEqual(requester.receive(100, 0), []);
    assert.deepEqual(requester.receive(103, 10), [101, 102]);
    assert.equal(requester.isMissing(101), true);
    assert.deepEqual(requester.due(50), [], 'not before a round trip (100 ms before one is measured)');
    assert.equal(requester.nextDueMs(), 110);
    // 102 comes back 40 ms after the first request: the round trip is learned from it.
    assert.deepEqual(requester.receive(102, 50), []);
    assert.equal(requester.rttMs, 40);
    assert.deepEqual(requester.due(110), [101]);
    assert.deepEqual(requester.due(130), []);
    assert.deepEqual(requester.due(150), [101], 'again one (learned) round trip on');
    requester.receive(101, 160);
    assert.equal(requester.isMissing(101), false);
    assert.equal(requester.nextDueMs(), null);
    assert.deepEqual(requester.counts, { missed: 2, requested: 4, repaired: 2 });
  });

  it('gives up on a packet after ten requests or a second', () => {
    const requester = new NackRequester();
    requester.receive(1, 0);
    requester.receive(3, 0);
    let requests = 1;
    for (let ms = 100; ms < 3000; ms += 100) requests += requester.due(ms).length;
    assert.equal(requests, 10);
    assert.equal(requester.isMissing(2), false);

    requester.receive(10, 5000);
    for (let ms = 5000; ms <= 6000; ms += 500) requester.due(ms);
    assert.equal(requester.isMissing(9), true, 'a second old');
    requester.due(6001);
    assert.equal(requester.isMissing(9), false);
  });

  it('follows the numbering across its wrap, and takes a jump for a restart, not loss', () => {
    const requester = new NackRequester();
    requester.receive(65534, 0);
    assert.deepEqual(requester.receive(1, 10), [65535, 0]);
    assert.deepEqual(requester.receive(20_000, 20), []);
    assert.equal(requester.isMissing(65535), false);
    assert.equal(requester.nextDueMs(), null);
  });

  it('takes a late packet for late, not for a repair', () => {
    const requester = new NackRequester();
    requester.receive(5, 0);
    requester.receive(4, 1);
    assert.deepEqual(requester.receive(6, 2), []);
    assert.deepEqual(requester.counts, { missed: 0, requested: 0, repaired: 0 });
  });
});
