import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { SessionLeases } from './SessionLeases.js';
import { TestRedis } from './TestRedis.js';

describe('SessionLeases on a real Redis', () => {
  let server: TestRedis;
  let redis: Redis;
  let leases: SessionLeases;
  before(async () => {
    server = await TestRedis.start();
    redis = new Redis(server.url);
    leases = new SessionLeases(redis, 'test:');
  });
  after(async () => {
    redis.disconnect();
    await server.dispose();
  });

  it('gives a session to the first node only', async () => {
    assert.equal(await leases.acquire('s1', 'a', 5000), true);
    assert.equal(await leases.acquire('s1', 'b', 5000), false);
    assert.equal(await leases.holder('s1'), 'a');
  });

  it('lets only its holder renew a lease, and renews it for the time asked', async () => {
    await leases.acquire('s2', 'a', 300);
    assert.equal(await leases.renew('s2', 'b', 5000), 'lost');
    assert.equal(await leases.renew('s2', 'a', 5000), 'renewed');
    assert.ok((await redis.pttl('test:lease:s2')) > 4000);
  });

  it('loses a lease that was not renewed in time, and another node may take it', async () => {
    await leases.acquire('s3', 'a', 200);
    await sleep(400);
    assert.equal(await leases.holder('s3'), null);
    assert.equal(await leases.acquire('s3', 'b', 5000), true);
    assert.equal(await leases.renew('s3', 'a', 5000), 'lost');
    assert.equal(await leases.holder('s3'), 'b');
  });

  it('deletes a lease only for its holder', async () => {
    await leases.acquire('s4', 'a', 5000);
    assert.equal(await leases.release('s4', 'b'), false);
    assert.equal(await leases.holder('s4'), 'a');
    assert.equal(await leases.release('s4', 'a'), true);
    assert.equal(await leases.holder('s4'), null);
  });

  it('takes a lease again when Redis has lost it (a restarted Redis starts empty)', async () => {
    await leases.acquire('s5', 'a', 5000);
    await redis.flushall();
    assert.equal(await leases.renew('s5', 'a', 5000), 'reestablished');
    assert.equal(await leases.holder('s5'), 'a');
  });

  it('gives a session raced for by many nodes at once to exactly one', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => leases.acquire('s6', `node-${i}`, 5000)),
    );
    assert.equal(results.filter(Boolean).length, 1);
    assert.equal(await leases.holder('s6'), `node-${results.indexOf(true)}`);
  });
});
