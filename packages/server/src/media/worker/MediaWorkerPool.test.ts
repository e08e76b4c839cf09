import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { InvalidStateError } from '../../InvalidStateError.js';
import { noVideoPreferences } from '../router/Subscription.js';
import { DtlsCertificate } from '../transport/DtlsCertificate.js';
import { MediaWorkerCallError } from './MediaWorker.js';
import { MediaWorkerPool, type MediaWorkerPoolOptions } from './MediaWorkerPool.js';

let options: MediaWorkerPoolOptions;

before(async () => {
  options = {
    workers: 2,
    host: '127.0.0.1',
    basePort: 0,
    tcp: false,
    announcedAddress: '127.0.0.1',
    certificate: await DtlsCertificate.generate(),
    logger: pino({ level: 'silent' }),
  };
});

describe('MediaWorkerPool', () => {
  let pool: MediaWorkerPool;
  before(async () => {
    pool = await MediaWorkerPool.start(options);
  });
  after(() => pool.close());

  it('places each new router on the worker hosting the fewest, and counts closed ones out', async () => {
    const routers = [pool.createRouter(), pool.createRouter(), pool.createRouter()];
    assert.deepEqual(
      routers.map((router) => router.worker.index),
      [0, 1, 0],
    );
    assert.deepEqual(
      pool.load.map(({ routers: count }) => count),
      [2, 1],
    );
    routers[0]?.close();
    assert.deepEqual(
      pool.load.map(({ routers: count }) => count),
      [1, 1],
    );
    assert.deepEqual(await routers[1]?.stats(), { publications: [], subscriptions: [] });
    for (const router of routers) router.close();
  });

  it("hands back the router's refusal as a typed error, and the router stays usable", async () => {
    const router = pool.createRouter();
    await assert.rejects(router.publish('v=0\r\n'), (error: unknown) => {
      assert.ok(error instanceof MediaWorkerCallError);
      assert.equal(error.causeName, 'TypeError');
      return true;
    });
    await assert.rejects(
      router.subscribe('no-such-publication', { preferences: noVideoPreferences, audioFallback: true }),
      /no publication/,
    );
    await assert.rejects(
      router.setPreferences('no-such-subscription', noVideoPreferences),
      /no subscription/,
    );
    assert.deepEqual(await router.stats(), { publications: [], subscriptions: [] });
    router.close();
    await assert.rejects(router.stats(), /no router/);
  });

  it('gives every worker a socket of its own', () => {
    const ports = pool.load.map(({ port }) => port);
    assert.equal(new Set(ports).size, 2);
    assert.ok(ports.every((port) => port > 0));
  });
});

describe('MediaWorkerPool.start', () => {
  it('fails, leaving no worker running, when a port is taken', async () => {
    const taken = createSocket('udp4');
    await new Promise<void>((resolve) => taken.bind(0, '127.0.0.1', resolve));
    try {
      await assert.rejects(
        MediaWorkerPool.start({ ...options, basePort: taken.address().port }),
        /EADDRINUSE/,
      );
    } finally {
      taken.close();
    }
  });

  it('refuses to make routers once closed', async () => {
    const pool = await MediaWorkerPool.start({ ...options, workers: 1 });
    await pool.close();
    assert.throws(() => pool.createRouter(), InvalidStateError);
    assert.deepEqual(pool.load, []);
  });
});
