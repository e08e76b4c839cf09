import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HandshakeLimiter } from './HandshakeLimiter.js';

describe('HandshakeLimiter', () => {
  it('runs at most maxConcurrent, starts the waiting ones in order as turns are given back, and refuses past the queue', () => {
    const limiter = new HandshakeLimiter({
      maxConcurrent: 2,
      perSecond: 1e9, // no rate limit to speak of
      maxQueued: 2,
      queueTimeoutMs: 10_000,
      holdTimeoutMs: 10_000,
    });
    const log: string[] = [];
    const releases = ['a', 'b', 'c', 'd', 'e'].map((name) =>
      limiter.request(
        () => log.push(`${name} runs`),
        () => log.push(`${name} refused`),
      ),
    );
    assert.deepEqual(log, ['a runs', 'b runs', 'e refused']);
    assert.deepEqual(limiter.counts, { running: 2, queued: 2 });
    releases[0]?.();
    releases[0]?.();
    assert.deepEqual(log.slice(3), ['c runs']);
    releases[3]?.();
    releases[1]?.();
    releases[2]?.();
    assert.deepEqual(log.slice(4), []);
    assert.deepEqual(limiter.counts, { running: 0, queued: 0 });
  });

  it('refuses a handshake that waited too long, and one that ran too long, giving its turn to the next', (t) => {
    // Mocked timers: with real ones, a loaded machine that stalls the loop past the hold time
    // lets the stalled handshake's refusal come before the late one is even asked for.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const limiter = new HandshakeLimiter({
      maxConcurrent: 1,
      perSecond: 1e9, // no rate limit to speak of
      maxQueued: 4,
      queueTimeoutMs: 100,
      holdTimeoutMs: 250,
    });
    const log: string[] = [];
    const request = (name: string): (() => void) =>
      limiter.request(
        () => log.push(`${name} runs`),
        () => log.push(`${name} refused`),
      );
    request('stalled');
    t.mock.timers.tick(50);
    request('late');
    t.mock.timers.tick(99);
    assert.deepEqual(log, ['stalled runs']);
    t.mock.timers.tick(1);
    assert.deepEqual(log, ['stalled runs', 'late refused']);
    t.mock.timers.tick(50);
    const next = request('next');
    t.mock.timers.tick(49);
    assert.deepEqual(log.slice(2), []);
    t.mock.timers.tick(1);
    assert.deepEqual(log.slice(2), ['stalled refused', 'next runs']);
    t.mock.timers.tick(100);
    assert.deepEqual(log.slice(4), [], 'a started handshake no longer waits on its queue timeout');
    next();
    assert.deepEqual(limiter.counts, { running: 0, queued: 0 });
  });

  it('starts at most perSecond handshakes a second after a burst of maxConcurrent', async () => {
    const limiter = new HandshakeLimiter({
      maxConcurrent: 4,
      perSecond: 20,
      maxQueued: 16,
      queueTimeoutMs: 10_000,
      holdTimeoutMs: 10_000,
    });
    const started: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < 8; i++) {
      // Each handshake ends as it starts: only the rate holds the others back.
      const release = limiter.request(
        () => {
          started.push(performance.now() - t0);
          queueMicrotask(() => {
            release();
          });
        },
        () => assert.fail('refused'),
      );
    }
    assert.deepEqual(limiter.counts, { running: 4, queued: 4 });
    for (let i = 0; i < 200 && started.length < 8; i++) await sleep(10);
    // The four after the burst come one per 50 ms at the earliest: at least 200 ms in all.
    assert.ok((started[7] ?? 0) >= 190, `the eighth started at ${started[7]} ms`);
    assert.deepEqual(limiter.counts, { running: 0, queued: 0 });
  });
});
