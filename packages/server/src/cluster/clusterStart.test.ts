import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import pino from 'pino';
import { Redis } from 'ioredis';
import { Cluster } from './Cluster.js';
import { Regions } from './Regions.js';
import { TestRedis } from './TestRedis.js';

let server: TestRedis;
before(async () => {
  server = await TestRedis.start();
});
after(async () => {
  await server.dispose();
});

it('registers a node that does not listen yet as taking no session, and as taking them once it serves', async () => {
  const cluster = await Cluster.start({
    config: {
      redisUrl: server.url,
      region: 'eu',
      nodeId: 'eu-1',
      publicUrl: 'http://127.0.0.1:1',
      internalUrl: 'http://127.0.0.1:1',
      regionsFile: null,
      trustProxy: [],
      maxStreams: null,
      drainTimeoutSeconds: 60,
      secret: null,
    },
    nodeId: 'eu-1',
    redis: new Redis(server.url),
    regions: await Regions.open(),
    load: () => ({ sessions: 0, streams: 0, workerLagMs: 0, workersAdmitting: true, packetsPerSecond: 0 }),
    isLive: () => false,
    onLost: () => undefined,
    onDeparted: async () => undefined,
    logger: pino({ level: 'silent' }),
  });
  try {
    const [starting] = await cluster.nodes();
    assert.deepEqual([starting?.nodeId, starting?.state, starting?.admitting], ['eu-1', 'serving', false]);
    await assert.rejects(cluster.locate('any-session', null), /no node takes new sessions/);
    cluster.serving();
    await cluster.registry.write();
    assert.equal((await cluster.nodes())[0]?.admitting, true);
  } finally {
    await cluster.close();
  }
});
