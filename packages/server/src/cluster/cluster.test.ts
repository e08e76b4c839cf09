import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import jwt from 'jsonwebtoken';
import OpenTok from 'opentok';
import { signalingCloseCodes, tokenScope, type SessionConnectionInfo } from '@parlor/protocol';
import {
  SignalingRequestError,
  SignalingTestClient,
  startPostgresServer,
  waitFor,
  type PostgresServer,
} from '../testing.js';
import { Store } from '../store/Store.js';
import type { NodeRecord } from './NodeRegistry.js';
import { TestCluster, testClusterProject, testClusterSecret, type TestClusterNode } from './TestCluster.js';
import { freeTcpPort, TestRedis } from './TestRedis.js';

// Three real Parlor processes in regions us, eu and ap sharing one real Redis. The location
// hints are addresses the shipped GeoIP data places in the US, Germany and Japan.
const hintOf = { us: '8.8.8.8', eu: '46.4.0.1', ap: '133.242.0.1' } as const;

/** Each node hands out a TURN server of its own (one that is never asked), with a secret of its own. */
const turnOf = (nodeId: string): { url: string; secret: string } => ({
  url: `turn:127.0.0.1:${3470 + Number(nodeId.split('-')[1])}`,
  secret: `turn-secret-of-${nodeId}`,
});

let redis: TestRedis;
let postgres: PostgresServer;
let databaseUrl: string;
let cluster: TestCluster;
let opentok: OpenTok;
const clients: SignalingTestClient[] = [];

before(async () => {
  [redis, postgres] = await Promise.all([TestRedis.start(), startPostgresServer()]);
  databaseUrl = await postgres.createDatabase();
  cluster = await TestCluster.start({
    redis,
    databaseUrl,
    regions: ['us', 'eu', 'ap'],
    nodeEnv: (nodeId) => ({
      PARLOR_TURN: 'external',
      PARLOR_TURN_URLS: turnOf(nodeId).url,
      PARLOR_TURN_SECRET: turnOf(nodeId).secret,
    }),
  });
  opentok = new OpenTok(testClusterProject.apiKey, testClusterProject.apiSecret, {
    apiUrl: nodeOf('us').url,
  });
});
after(async () => {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
  await cluster.dispose();
  await redis.dispose();
  await postgres.stop();
});

function nodeOf(region: string): TestClusterNode {
  const node = cluster.nodes.find((each) => each.region === region);
  if (!node) throw new Error(`no node in ${region}`);
  return node;
}

/** A session made by the official SDK through the us node, known to every node. */
async function createSession(location?: string): Promise<string> {
  const sessionId = await new Promise<string>((resolve, reject) => {
    opentok.createSession({ mediaMode: 'routed', ...(location ? { location } : {}) }, (error, session) => {
      if (error || !session) reject(error ?? new Error('no session'));
      else resolve(session.sessionId);
    });
  });
  return sessionId;
}

/** Asks a node where the session's clients connect, as the browser SDK does. */
async function connectionInfo(
  via: TestClusterNode,
  sessionId: string,
  headers: Record<string, string> = {},
): Promise<SessionConnectionInfo> {
  const response = await fetch(`${via.url}/v2/session/${sessionId}/connection-info`, {
    headers: {
      'X-TB-TOKEN-AUTH': headers['X-TB-TOKEN-AUTH'] ?? opentok.generateToken(sessionId),
      ...headers,
    },
  });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as SessionConnectionInfo;
}

async function connect(url: string, sessionId: string): Promise<SignalingTestClient> {
  const client = await SignalingTestClient.connect(url, sessionId, opentok.generateToken(sessionId));
  clients.push(client);
  return client;
}

async function clusterNodes(via: TestClusterNode): Promise<NodeRecord[]> {
  const response = await fetch(`${via.url}/v2/cluster/nodes`, {
    headers: { Authorization: `Bearer ${testClusterSecret}` },
  });
  assert.equal(response.status, 200);
  return ((await response.json()) as { nodes: NodeRecord[] }).nodes;
}

describe('a cluster of three nodes on one Redis', () => {
  it("places a session with a location hint on its region's node, whichever node its first client asks", async () => {
    for (const [index, region] of (['us', 'eu', 'ap'] as const).entries()) {
      const sessionId = await createSession(hintOf[region]);
      const asked = cluster.nodes[(index + 1) % cluster.nodes.length];
      assert.ok(asked);
      const before = await Promise.all(cluster.nodes.map((node) => node.metric('parlor_sessions')));
      const info = await connectionInfo(asked, sessionId);
      assert.equal(info.nodeId, nodeOf(region).nodeId);
      assert.equal(info.region, region);
      assert.equal(info.apiUrl, nodeOf(region).url);
      await connect(nodeOf(region).url, sessionId);
      // Every node gives the same answer now: the session's lease names its host.
      for (const node of cluster.nodes)
        assert.equal((await connectionInfo(node, sessionId)).nodeId, info.nodeId);
      const now = await Promise.all(cluster.nodes.map((node) => node.metric('parlor_sessions')));
      assert.deepEqual(
        now.map((count, i) => count - (before[i] ?? 0)),
        cluster.nodes.map((node) => (node.region === region ? 1 : 0)),
      );
    }
  });

  it("places a session without a hint by its first client's address, from a trusted proxy's X-Forwarded-For", async () => {
    const sessionId = await createSession();
    const info = await connectionInfo(nodeOf('us'), sessionId, {
      'X-Forwarded-For': `10.1.2.3, ${hintOf.ap}`,
    });
    assert.equal(info.nodeId, nodeOf('ap').nodeId);
  });

  it("answers connection info on every node with the host's ICE servers, credentials of the host's TURN", async () => {
    const sessionId = await createSession(hintOf.eu);
    const host = nodeOf('eu').nodeId;
    const answers = [
      await connectionInfo(nodeOf('eu'), sessionId),
      await connectionInfo(nodeOf('us'), sessionId),
    ];
    for (const info of answers) {
      assert.equal(info.nodeId, host);
      const turn = info.iceServers.find((server) =>
        [server.urls].flat().some((url) => url.startsWith('turn:')),
      );
      assert.ok(turn?.username && turn.credential, JSON.stringify(info.iceServers));
      assert.deepEqual([turn.urls].flat(), [turnOf(host).url]);
      const expected = createHmac('sha1', turnOf(host).secret).update(turn.username).digest('base64');
      assert.equal(turn.credential, expected);
    }
  });

  it("renews a Vonage application's client token: once the first has expired, the renewed one is good on every node and moves the client", async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const applicationId = randomUUID();
    const store = await Store.open({ engine: 'postgres', url: databaseUrl });
    await store.applications
      .insert({ applicationId, name: 'Vonage application', publicKey, createdAt: Date.now() })
      .finally(() => store.close());
    /** An RS256 JWT of the application's, as `@vonage/video` signs them. */
    const signed = (claims: object): string => {
      const iat = Math.floor(Date.now() / 1000);
      return jwt.sign({ application_id: applicationId, iat, jti: randomUUID(), ...claims }, privateKey, {
        algorithm: 'RS256',
      });
    };
    const created = await fetch(`${nodeOf('us').url}/session/create`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${signed({ exp: Math.floor(Date.now() / 1000) + 300 })}`,
        Accept: 'application/json',
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: `location=${hintOf.eu}&p2p.preference=disabled`,
    });
    assert.equal(created.status, 200, await created.clone().text());
    const [{ session_id: sessionId }] = (await created.json()) as [{ session_id: string }];
    // Long enough to connect with on a loaded machine, short enough to wait for.
    const expiresAt = Math.floor(Date.now() / 1000) + 6;
    const token = signed({
      exp: expiresAt,
      scope: tokenScope,
      session_id: sessionId,
      connection_data: 'name=Bob',
    });
    const withToken = (used: string): Record<string, string> => ({ 'X-TB-TOKEN-AUTH': used });
    const host = await connectionInfo(nodeOf('us'), sessionId, withToken(token));
    const client = await SignalingTestClient.connect(host.apiUrl ?? '', sessionId, token);
    clients.push(client);
    const renewed = client.session?.renewedToken;
    assert.ok(renewed, 'the connect answer carries a renewed token');
    await sleep(expiresAt * 1000 + 500 - Date.now());
    const refused = await fetch(`${nodeOf('ap').url}/v2/session/${sessionId}/connection-info`, {
      headers: withToken(token),
    });
    assert.equal(refused.status, 403);
    for (const node of cluster.nodes)
      assert.equal((await connectionInfo(node, sessionId, withToken(renewed))).nodeId, host.nodeId);
    // Its node loses the session to another: the client, told to move, joins there with the renewed token.
    const probe = new Redis(redis.url);
    await probe.set(`parlor:lease:${sessionId}`, nodeOf('ap').nodeId, 'PX', 8000).finally(() => {
      probe.disconnect();
    });
    assert.equal((await client.closed).code, signalingCloseCodes.moved);
    const moved = await connectionInfo(nodeOf('us'), sessionId, withToken(renewed));
    assert.equal(moved.nodeId, nodeOf('ap').nodeId);
    const again = await SignalingTestClient.connect(moved.apiUrl ?? '', sessionId, renewed);
    clients.push(again);
    assert.equal(again.session?.connection.data, 'name=Bob');
  });

  it('refuses a client connecting to a node that does not host its session with 421', async () => {
    const sessionId = await createSession(hintOf.eu);
    const info = await connectionInfo(nodeOf('us'), sessionId);
    assert.equal(info.nodeId, nodeOf('eu').nodeId);
    await assert.rejects(
      connect(nodeOf('ap').url, sessionId),
      (error: unknown) => error instanceof SignalingRequestError && error.code === 421,
    );
    const unplaced = await createSession();
    await assert.rejects(
      connect(nodeOf('ap').url, unplaced),
      (error: unknown) => error instanceof SignalingRequestError && error.code === 421,
    );
  });

  it('gives a session that many first clients ask every node for at once exactly one host', async () => {
    const sessionId = await createSession();
    const addresses = Object.values(hintOf);
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        connectionInfo(cluster.nodes[i % 3] ?? nodeOf('us'), sessionId, {
          'X-Forwarded-For': addresses[i % 3] ?? '',
        }),
      ),
    );
    assert.equal(new Set(answers.map((answer) => answer.nodeId)).size, 1);
    const host = answers[0]?.apiUrl ?? '';
    assert.ok(host);
    const [first, second] = await Promise.all([connect(host, sessionId), connect(host, sessionId)]);
    assert.ok(first.connectionId && second.connectionId);
  });

  it('lists the nodes, their regions and load to the operator with the cluster secret only', async () => {
    const nodes = await clusterNodes(nodeOf('eu'));
    assert.deepEqual(
      nodes.map((node) => [node.nodeId, node.region, node.state, node.admitting]),
      [
        ['ap-3', 'ap', 'serving', true],
        ['eu-2', 'eu', 'serving', true],
        ['us-1', 'us', 'serving', true],
      ],
    );
    assert.ok(
      nodes.every(
        (node) =>
          node.cores > 0 && node.cpuLoad >= 0 && node.eventLoopLagMs >= 0 && node.packetsPerSecond === 0,
      ),
    );
    // Each node hosts a session by now; records are rewritten every 2 s (later on a loaded machine).
    const deadline = Date.now() + 15_000;
    let hosting = nodes.filter((node) => node.sessions >= 1).length;
    while (hosting < 3 && Date.now() < deadline) {
      await sleep(250);
      hosting = (await clusterNodes(nodeOf('eu'))).filter((node) => node.sessions >= 1).length;
    }
    assert.equal(hosting, 3);
    const us = nodeOf('us');
    assert.equal(await us.metric('parlor_cluster_nodes'), 3);
    assert.equal(await us.metric('parlor_cluster_admitting'), 1);
    assert.ok((await us.metric('parlor_cluster_sessions_held')) >= 1);
    const refused = await fetch(`${nodeOf('eu').url}/v2/cluster/nodes`, {
      headers: { Authorization: 'Bearer wrong' },
    });
    assert.equal(refused.status, 403);
    // Nor does anyone without it drain a node.
    for (const headers of [{}, { Authorization: 'Bearer wrong' }] as Record<string, string>[]) {
      const drain = await fetch(`${nodeOf('eu').url}/v2/cluster/drain`, { method: 'POST', headers });
      assert.equal(drain.status, 403);
    }
    assert.ok((await clusterNodes(nodeOf('us'))).every((node) => node.state === 'serving'));
  });

  it('keeps a live session on its node through a Redis restart shorter than the lease', async () => {
    const sessionId = await createSession(hintOf.eu);
    const info = await connectionInfo(nodeOf('us'), sessionId);
    const client = await connect(info.apiUrl ?? '', sessionId);
    await redis.stop();
    // Meanwhile no session can be placed: the nodes say so with 503.
    const during = await fetch(`${nodeOf('us').url}/v2/session/${sessionId}/connection-info`, {
      headers: { 'X-TB-TOKEN-AUTH': opentok.generateToken(sessionId) },
    });
    assert.equal(during.status, 503);
    await sleep(500);
    await redis.start();
    // Past a whole lease (8 s) from the outage: the node took its lease again and kept the room.
    const probe = new Redis(redis.url);
    try {
      const deadline = Date.now() + 10_000;
      while ((await probe.get(`parlor:lease:${sessionId}`)) !== info.nodeId && Date.now() < deadline)
        await sleep(200);
      assert.equal(await probe.get(`parlor:lease:${sessionId}`), info.nodeId);
      await sleep(Math.max(0, deadline - 2000 - Date.now()));
      assert.equal(await probe.get(`parlor:lease:${sessionId}`), info.nodeId);
    } finally {
      probe.disconnect();
    }
    // The nodes wrote their records again into the empty Redis.
    assert.equal((await clusterNodes(nodeOf('us'))).length, 3);
    await client.request('signal', { type: 'still', data: 'here' });
    await client.nextEvent('signal');
    assert.equal((await connectionInfo(nodeOf('ap'), sessionId)).nodeId, info.nodeId);
    assert.match(nodeOf('eu').parlor.log(), /took the lease again/);
  });

  it('closes the room of a session whose lease another node took, at once', async () => {
    const sessionId = await createSession(hintOf.us);
    const info = await connectionInfo(nodeOf('eu'), sessionId);
    const client = await connect(info.apiUrl ?? '', sessionId);
    const probe = new Redis(redis.url);
    try {
      await probe.set(`parlor:lease:${sessionId}`, 'eu-2', 'PX', 8000);
    } finally {
      probe.disconnect();
    }
    const started = Date.now();
    const told = client.nextEvent('sessionDisconnected');
    const closed = await client.closed;
    // The client is told to join the session where it is now, not that it ended.
    assert.deepEqual(await told, { reason: 'serverRotation' });
    assert.equal(closed.code, signalingCloseCodes.moved);
    assert.ok(Date.now() - started < 5000, 'closed within a renewal or two');
    // The node's log comes over a pipe: its line may arrive after the client's close.
    await waitFor(
      () => /another node holds its lease/.test(nodeOf('us').parlor.log()),
      'the node to log why it closed the room',
      5000,
    );
  });

  it('forgets a node killed with SIGKILL within seconds', async () => {
    const killed = nodeOf('ap');
    await killed.parlor.stop('SIGKILL');
    const deadline = Date.now() + 15_000;
    let nodes = await clusterNodes(nodeOf('us'));
    while (nodes.some((node) => node.nodeId === killed.nodeId) && Date.now() < deadline) {
      await sleep(500);
      nodes = await clusterNodes(nodeOf('us'));
    }
    assert.deepEqual(nodes.map((node) => node.nodeId).sort(), ['eu-2', 'us-1']);
    // Its region's sessions go to the next region of its fallback list (us, then eu).
    const sessionId = await createSession(hintOf.ap);
    assert.equal((await connectionInfo(nodeOf('eu'), sessionId)).nodeId, nodeOf('us').nodeId);
  });

  it('drains on SIGTERM: moves its clients to another node, tells its application, and exits 0 long before the drain timeout', async () => {
    const draining = nodeOf('eu');
    // The earlier tests' clients leave: the node's one live session is this test's.
    await Promise.all(clients.splice(0).map((each) => each.close().catch(() => undefined)));
    const events: { sessionId: string; event: string; reason?: string }[] = [];
    const receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        events.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as (typeof events)[number]);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
    await new Promise<void>((resolve, reject) => {
      opentok.registerCallback({ group: 'session', event: 'monitoring', url: receiverUrl }, (error) => {
        if (error) reject(error);
        else resolve();
      });
    });
    const sessionId = await createSession(hintOf.eu);
    const client = await connect((await connectionInfo(nodeOf('us'), sessionId)).apiUrl ?? '', sessionId);
    assert.equal(await draining.metric('parlor_connections'), 1);
    const told = client.nextEvent('sessionDisconnected');
    const started = Date.now();
    const { code } = await draining.parlor.stop('SIGTERM');
    assert.equal(code, 0);
    assert.ok(Date.now() - started < 20_000, `stopped in ${Date.now() - started} ms (drain timeout 60 s)`);
    assert.deepEqual(await told, { reason: 'serverRotation' });
    assert.equal((await client.closed).code, signalingCloseCodes.moved);
    assert.match(draining.parlor.log(), /draining: taking no new session/);
    assert.match(draining.parlor.log(), /moving a session to another node/);
    // The drained node's callbacks were sent before it stopped.
    assert.deepEqual(
      events.filter((each) => each.sessionId === sessionId).map(({ event, reason }) => [event, reason]),
      [
        ['sessionCreated', undefined],
        ['connectionCreated', undefined],
        ['sessionNotification', 'serverRotation'],
        ['connectionDestroyed', 'networkDisconnected'],
        ['sessionDestroyed', 'serverRotation'],
      ],
    );
    // The client joins the session again where it is placed now.
    const info = await connectionInfo(nodeOf('us'), sessionId);
    assert.equal(info.nodeId, nodeOf('us').nodeId);
    const moved = await connect(info.apiUrl ?? '', sessionId);
    await moved.request('signal', { type: 'still', data: 'served' });
    await moved.nextEvent('signal');
    receiver.closeAllConnections();
    receiver.close();
  });
});

describe('a node whose Redis is unreachable at start', () => {
  it('says so in one line and exits with 1', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parlor-cluster-'));
    const url = `http://127.0.0.1:${await freeTcpPort()}`;
    try {
      const bin = fileURLToPath(new URL('../../bin/parlor.js', import.meta.url));
      const args = ['start', '--port', '0', '--media-port', '0', '--data-dir', dataDir];
      const result = spawnSync(
        process.execPath,
        [
          bin,
          ...args,
          '--redis-url',
          `redis://127.0.0.1:${await freeTcpPort()}`,
          '--database-url',
          databaseUrl,
          '--public-url',
          url,
          '--internal-url',
          url,
        ],
        {
          encoding: 'utf8',
          env: { PATH: process.env.PATH, PARLOR_TURN: 'off', PARLOR_LOG_LEVEL: 'warn' },
          timeout: 30_000,
        },
      );
      assert.equal(result.status, 1);
      assert.match(
        result.stderr,
        /^Parlor could not start: cannot reach Redis at 127\.0\.0\.1:\d+ \(--redis-url\): connect ECONNREFUSED/m,
      );
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
