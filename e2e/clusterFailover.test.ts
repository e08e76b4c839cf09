import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenTok from 'opentok';
import type { Browser } from 'playwright-core';
import {
  startPostgresServer,
  TestCluster,
  TestRedis,
  testClusterProject,
  testClusterSecret,
  type PostgresServer,
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
// in order.

let redis: TestRedis;
let postgres: PostgresServer;
let databaseUrl: string;
let cluster: TestCluster;
let app: AppOrigin;
let browser: Browser;
let opentok: OpenTok;
let sessionId: string;
let peers: BrowserPeer[];

before(async () => {
  [redis, postgres] = await Promise.all([TestRedis.start(), startPostgresServer()]);
  databaseUrl = await postgres.createDatabase();
  cluster = await TestCluster.start({ redis, databaseUrl, regions: ['us', 'eu', 'ap'] });
  app = await startAppOrigin(cluster.node('ap-3').url);
  browser = await launchChromium();
  opentok = new OpenTok(testClusterProject.apiKey, testClusterProject.apiSecret, {
    apiUrl: cluster.node('ap-3').url,
  });
  sessionId = await new Promise<string>((resolve, reject) => {
    opentok.createSession({ mediaMode: 'routed', location: '46.4.0.1' }, (error, session) => {
      if (error || !session) reject(error ?? new Error('no session'));
      else resolve(session.sessionId);
    });
  });
  peers = await Promise.all(
    [0, 1].map(() => openBrowserPeer(browser, app.url, testClusterProject.apiKey, sessionId)),
  );
  for (const peer of peers) {
    assert.equal(await peer.connect(opentok.generateToken(sessionId)), null);
    assert.equal(await peer.publish(lightVideo), null);
  }
});
after(async () => {
  await browser.close();
  await app.close();
  await cluster.dispose();
  await redis.dispose();
  await postgres.stop();
});

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

/** Each page decodes the other's stream, whatever it is now. */
async function expectBothDecoding(): Promise<void> {
  const [first, second] = peers as [BrowserPeer, BrowserPeer];
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
    for (let index = 1; index <= 8; index++) {
      if (index === 2) {
        await redis.stop();
        await redis.start();
      }
      await sleep(1500);
      samples.push(await framesDecoded());
    }
    for (let index = 1; index < samples.length; index++) {
      for (const page of [0, 1])
        assert.ok(
          (samples[index]?.[page] ?? 0) > (samples[index - 1]?.[page] ?? 0),
          `page ${page} decoded no frame in 1.5 s: ${JSON.stringify(samples)}\n${moves()}`,
        );
    }
    for (const peer of peers) assert.equal(await peer.count('sessionReconnecting'), 0);
    assert.deepEqual(await connectionsByNode(), { 'us-1': 0, 'eu-2': 2, 'ap-3': 0 });
  });

  it('drains a node with `parlor node drain`: both pages join the session on another node and decode again', async () => {
    const before = await Promise.all(peers.map((peer) => peer.connectionId()));
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
    await expectBothDecoding();
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

  it("fails over when the session's node is killed: both pages are connected again on another node and decoding", async () => {
    const killedAt = Date.now();
    await cluster.node('us-1').parlor.stop('SIGKILL');
    await waitForReconnected(2, 30_000);
    const reconnectedMs = Date.now() - killedAt;
    await expectBothDecoding();
    const decodingMs = Date.now() - killedAt;
    console.log(
      `failover: pages reconnected ${reconnectedMs} ms and decoding ${decodingMs} ms after SIGKILL`,
    );
    assert.deepEqual(await connectionsByNode(), { 'ap-3': 2 });
    assert.ok(decodingMs < 40_000, `decoding again ${decodingMs} ms after the kill`);
    for (const peer of peers) assert.equal(await peer.count('sessionDisconnected'), 0);
  });
});
