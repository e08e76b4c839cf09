import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenTok from 'opentok';
import type { Browser } from 'playwright-core';
import {
  fromCallback,
  startPostgresServer,
  TestCluster,
  TestRedis,
  testClusterProject,
  testClusterSecret,
  type PostgresServer,
  waitFor,
  type TestClusterNode,
} from '@parlor/server/testing';
import {
  launchChromium,
  lightVideo,
  openBrowserPeer,
  startAppOrigin,
  type AppOrigin,
  type BrowserPeer,
} from './helpers.js';

// A call between two Chromium pages in a cluster of three nodes (us, eu, ap) sharing a Redis and
// a PostgreSQL, the pages loading the SDK from the ap node, which stays up: the session, hinted
// to Germany, starts on eu. Its Redis restarts; eu drains (`parlor node drain`), and the pages
// move to us; us is killed (SIGKILL), and they come back on ap. One call goes through all three,
// in order. The pages' tokens have expired before the first move. Every session made before the kill, its archive and its callbacks are found in
// PostgreSQL after it.

let redis: TestRedis;
let postgres: PostgresServer;
let databaseUrl: string;
let cluster: TestCluster;
let app: AppOrigin;
let browser: Browser;
let opentok: OpenTok;
let sessionId: string;
let peers: BrowserPeer[];
/** When the pages' tokens expire, Unix seconds. */
let tokenExpiresAt: number;
/** Archive status callbacks as they came, in order. */
const callbacks: { id: string; status: string }[] = [];
let receiver: Server;

before(async () => {
  [redis, postgres] = await Promise.all([TestRedis.start(), startPostgresServer()]);
  databaseUrl = await postgres.createDatabase();
  cluster = await TestCluster.start({ redis, databaseUrl, regions: ['us', 'eu', 'ap'] });
  app = await startAppOrigin(cluster.node('ap-3').url);
  browser = await launchChromium();
  opentok = new OpenTok(testClusterProject.apiKey, testClusterProject.apiSecret, {
    apiUrl: cluster.node('ap-3').url,
  });
  sessionId = await createSession(opentok);
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const { id, status } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as (typeof callbacks)[number];
      callbacks.push({ id, status });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  await fromCallback((done) => {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
    opentok.registerCallback({ group: 'archive', event: 'status', url }, done);
  });
  peers = await Promise.all(
    [0, 1].map(() => openBrowserPeer(browser, app.url, testClusterProject.apiKey, sessionId)),
  );
  // Tokens that expire early in the call: each later move joins with a token its node renewed.
  tokenExpiresAt = Math.floor(Date.now() / 1000) + 20;
  for (const peer of peers) {
    assert.equal(await peer.connect(opentok.generateToken(sessionId, { expireTime: tokenExpiresAt })), null);
    assert.equal(await peer.publish(lightVideo), null);
  }
});
after(async () => {
  await browser.close();
  await app.close();
  await cluster.dispose();
  receiver.closeAllConnections();
  receiver.close();
  await redis.dispose();
  await postgres.stop();
});

/** A routed session hinted to Germany, made through the node `client` talks to. */
function createSession(client: OpenTok): Promise<string> {
  return fromCallback<{ sessionId: string }>((done) => {
    client.createSession({ mediaMode: 'routed', location: '46.4.0.1' }, done);
  }).then((session) => session.sessionId);
}

/** What the nodes logged of sessions they lost or moved: a page that moved unexpectedly was moved by one of these. */
function moves(): string {
  return cluster.nodes
    .flatMap((node) =>
      node.parlor
        .log()
        .split('\n')
        .filter((line) => /lost a session|moving a session/.test(line))
        .map((line) => `${node.nodeId}: ${line}`),
    )
    .join('\n');
}

/** The streams the pages publish now. */
function streamIds(): Promise<string[]> {
  return Promise.all(peers.map((peer) => peer.streamId()));
}

/**
 * Each page decodes the other's stream. After a move, `previous` are the streams before it: a
 * page's stream is replaced once its publisher is republished on the new node, which may come a
 * moment after `sessionReconnected`, so the new ones are waited for first.
 */
async function expectBothDecoding(previous: readonly string[] = []): Promise<void> {
  const [first, second] = peers as [BrowserPeer, BrowserPeer];
  await waitFor(
    async () => (await streamIds()).every((streamId) => streamId !== '' && !previous.includes(streamId)),
    'both pages to publish their streams again on the new node',
    20_000,
  );
  const [firstStream, secondStream] = await Promise.all([first.streamId(), second.streamId()]);
  await Promise.all([first.expectMediaFlowing(secondStream), second.expectMediaFlowing(firstStream)]).catch(
    (error: unknown) => {
      throw new Error(`${(error as Error).message}\n${moves()}`);
    },
  );
}

/** Frames decoded by each page of the other's stream. */
async function framesDecoded(): Promise<number[]> {
  const [first, second] = peers as [BrowserPeer, BrowserPeer];
  const [firstStream, secondStream] = await Promise.all([first.streamId(), second.streamId()]);
  return Promise.all([
    first.mediaCounters(secondStream).then((counters) => counters.framesDecoded),
    second.mediaCounters(firstStream).then((counters) => counters.framesDecoded),
  ]);
}

/** How many connections each node has, by node ID. */
async function connectionsByNode(): Promise<Record<string, number>> {
  const live = cluster.nodes.filter(
    (node) => node.parlor.child.exitCode === null && node.parlor.child.signalCode === null,
  );
  const counts = await Promise.all(live.map((node) => node.metric('parlor_connections')));
  return Object.fromEntries(live.map((node, index) => [node.nodeId, counts[index] ?? 0]));
}

/** Waits until both pages have been told `sessionReconnected` `count` times in all. */
async function waitForReconnected(count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const peer of peers) {
    while ((await peer.count('sessionReconnected')) < count) {
      assert.ok(
        Date.now() < deadline,
        `not reconnected within ${timeoutMs} ms: ${JSON.stringify(await peer.events())}`,
      );
      await sleep(100);
    }
  }
}

/** Runs `parlor node drain` with a node's own settings, as an operator on its machine would. */
function drainCommand(node: TestClusterNode): Promise<{ code: number | null; output: string }> {
  const bin = fileURLToPath(new URL('../packages/server/bin/parlor.js', import.meta.url));
  const child = spawn(process.execPath, [bin, 'node', 'drain', '--url', node.url], {
    env: {
      PATH: process.env.PATH,
      PARLOR_TURN: 'off',
      PARLOR_REDIS_URL: redis.url,
      PARLOR_DATABASE_URL: databaseUrl,
      PARLOR_CLUSTER_SECRET: testClusterSecret,
      PARLOR_PUBLIC_URL: node.url,
      PARLOR_INTERNAL_URL: node.url,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      resolve({ code, output });
    });
  });
}

describe('a call in a cluster whose nodes come and go', () => {
  it('keeps decoding video through a Redis restart, frames rising throughout', async () => {
    await expectBothDecoding();
    assert.deepEqual(await connectionsByNode(), { 'us-1': 0, 'eu-2': 2, 'ap-3': 0 });
    const samples = [await framesDecoded()];
    let outageMs = 0;
    for (let index = 1; index <= 8; index++) {
      if (index === 2) {
        const down = Date.now();
        await redis.stop();
        await redis.start();
        outageMs = Date.now() - down;
      }
      await sleep(1500);
      samples.push(await framesDecoded());
    }
    for (let index = 1; index < samples.length; index++) {
      for (const page of [0, 1])
        assert.ok(
          (samples[index]?.[page] ?? 0) > (samples[index - 1]?.[page] ?? 0),
          `page ${page} decoded no frame in 1.5 s (Redis was down ${outageMs} ms): ${JSON.stringify(samples)}\n${moves()}`,
        );
    }
    for (const peer of peers) assert.equal(await peer.count('sessionReconnecting'), 0);
    assert.deepEqual(await connectionsByNode(), { 'us-1': 0, 'eu-2': 2, 'ap-3': 0 });
  });

  it('drains a node with `parlor node drain`: both pages join the session on another node and decode again', async () => {
    const expiresInMs = tokenExpiresAt * 1000 + 1000 - Date.now();
    if (expiresInMs > 0) await sleep(expiresInMs);
    const before = await Promise.all(peers.map((peer) => peer.connectionId()));
    const streamsBefore = await streamIds();
    // The first page watches its own stream too, which it must move itself.
    await peers[0]?.subscribeToSelf();
    await peers[0]?.expectMediaFlowing('self', 30_000);
    // A page that does not migrate is told the server rotated, and ends.
    const staying = await openBrowserPeer(browser, app.url, testClusterProject.apiKey, sessionId, {
      sessionMigration: false,
    });
    assert.equal(await staying.connect(opentok.generateToken(sessionId)), null);
    const drained = await drainCommand(cluster.node('eu-2'));
    assert.equal(drained.code, 0, drained.output);
    assert.match(drained.output, /Node eu-2 at .* is draining/);
    await waitForReconnected(1, 20_000);
    await staying.waitForEvent({ type: 'sessionDisconnected', reason: 'serverRotation' });
    await staying.page.close();
    await expectBothDecoding(streamsBefore);
    await peers[0]?.expectMediaFlowing('self', 30_000);
    // New connections, on us (eu's first fallback), as new streams.
    const after = await Promise.all(peers.map((peer) => peer.connectionId()));
    for (const [index, connectionId] of after.entries()) assert.notEqual(connectionId, before[index]);
    assert.deepEqual(await connectionsByNode(), { 'us-1': 2, 'eu-2': 0, 'ap-3': 0 });
    for (const peer of peers) {
      assert.ok((await peer.count('streamDestroyed')) >= 1);
      assert.equal(await peer.count('sessionDisconnected'), 0);
    }
    const response = await fetch(`${cluster.node('ap-3').url}/v2/cluster/nodes`, {
      headers: { Authorization: `Bearer ${testClusterSecret}` },
    });
    const { nodes } = (await response.json()) as { nodes: { nodeId: string; state: string }[] };
    assert.equal(nodes.find((node) => node.nodeId === 'eu-2')?.state, 'draining');
    // Drained, it stops at once on SIGTERM.
    assert.equal((await cluster.node('eu-2').parlor.stop('SIGTERM')).code, 0);
  });

  it("fails over when the session's node is killed: both pages are connected again on another node and decoding, nothing lost from PostgreSQL", async () => {
    // Made through the node about to die: sessions, and an archive of the call it records.
    const killed = new OpenTok(testClusterProject.apiKey, testClusterProject.apiSecret, {
      apiUrl: cluster.node('us-1').url,
    });
    const sessionIds = [sessionId];
    for (let index = 0; index < 5; index++) sessionIds.push(await createSession(killed));
    const archive = await fromCallback<OpenTok.Archive>((done) => {
      killed.startArchive(sessionId, { name: 'before the kill' }, (error, started) => {
        done(error, started as OpenTok.Archive);
      });
    });
    // Its `started` delivered and so recorded: one in flight at the kill is sent again, by design.
    const queuedOnKilled = async (): Promise<unknown> =>
      (
        await postgres.query(
          databaseUrl,
          'SELECT count(*)::int AS n FROM webhook_deliveries WHERE node_id = $1',
          ['us-1'],
        )
      )[0]?.n;
    await waitFor(
      async () => callbacks.some(({ id }) => id === archive.id) && (await queuedOnKilled()) === 0,
      'the archive to start',
      15_000,
    );
    const streamsBefore = await streamIds();
    const killedAt = Date.now();
    await cluster.node('us-1').parlor.stop('SIGKILL');
    await waitForReconnected(2, 30_000);
    const reconnectedMs = Date.now() - killedAt;
    await expectBothDecoding(streamsBefore);
    const decodingMs = Date.now() - killedAt;
    console.log(
      `failover: pages reconnected ${reconnectedMs} ms and decoding ${decodingMs} ms after SIGKILL`,
    );
    assert.deepEqual(await connectionsByNode(), { 'ap-3': 2 });
    assert.ok(decodingMs < 40_000, `decoding again ${decodingMs} ms after the kill`);
    for (const peer of peers) assert.equal(await peer.count('sessionDisconnected'), 0);
    await peers[0]?.expectMediaFlowing('self', 30_000);

    const stored = await postgres.query(
      databaseUrl,
      'SELECT session_id FROM sessions WHERE session_id = ANY($1)',
      [sessionIds],
    );
    assert.deepEqual(stored.map((row) => row.session_id).sort(), [...sessionIds].sort());
    // The node that recorded it is gone: another one fails the archive, and tells once.
    const archiveRow = async (): Promise<Record<string, unknown> | undefined> =>
      (
        await postgres.query(databaseUrl, 'SELECT status, reason FROM archives WHERE archive_id = $1', [
          archive.id,
        ])
      )[0];
    await waitFor(async () => (await archiveRow())?.status === 'failed', 'the archive to fail', 20_000);
    assert.match(String((await archiveRow())?.reason), /the node recording it \(us-1\) was lost/);
    await waitFor(() => callbacks.some(({ status }) => status === 'failed'), 'its failed callback', 15_000);
    assert.deepEqual(
      callbacks.filter(({ id }) => id === archive.id).map(({ status }) => status),
      ['started', 'failed'],
    );
    const registered = await postgres.query(databaseUrl, 'SELECT grp, event FROM callbacks');
    assert.deepEqual(registered, [{ grp: 'archive', event: 'status' }]);
    assert.equal(await queuedOnKilled(), 0, 'deliveries still queued for the killed node');
  });
});
