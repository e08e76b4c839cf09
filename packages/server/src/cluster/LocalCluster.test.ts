import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import OpenTok from 'opentok';
import type { SessionConnectionInfo } from '@parlor/protocol';
import { main } from '../cli.js';
import { SignalingTestClient } from '../testing.js';
import { startLocalCluster, type LocalCluster } from './LocalCluster.js';

// What `npm run cluster` runs: its own Redis and PostgreSQL, then nodes sharing them.
let cluster: LocalCluster;
let opentok: OpenTok;
let sessionId: string;
const clients: SignalingTestClient[] = [];

before(async () => {
  cluster = await startLocalCluster({ nodes: 2, port: 0 });
  opentok = new OpenTok(cluster.project.apiKey, cluster.project.apiSecret, { apiUrl: cluster.nodes[0]?.url });
});
after(async () => {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
  await cluster.close();
});

it('starts two nodes, in two regions, serving the demo and sharing their sessions', async () => {
  const [first, second] = cluster.nodes;
  assert.ok(first && second);
  assert.deepEqual(
    cluster.nodes.map((node) => node.region),
    ['us', 'eu'],
  );
  for (const node of cluster.nodes) {
    assert.equal((await fetch(`${node.url}/health`)).status, 200);
    assert.match(await (await fetch(`${node.url}/`)).text(), /<html/i, 'the demo is served');
  }
  sessionId = await new Promise<string>((resolve, reject) => {
    opentok.createSession({ mediaMode: 'routed' }, (error, session) => {
      if (error || !session) reject(error ?? new Error('no session'));
      else resolve(session.sessionId);
    });
  });
  const info = await fetch(`${second.url}/v2/session/${sessionId}/connection-info`, {
    headers: { 'X-TB-TOKEN-AUTH': opentok.generateToken(sessionId) },
  });
  assert.equal(info.status, 200, await info.clone().text());
  const nodes = await fetch(`${second.url}/v2/cluster/nodes`, {
    headers: { Authorization: `Bearer ${cluster.clusterSecret}` },
  });
  const records = ((await nodes.json()) as { nodes: { nodeId: string }[] }).nodes;
  assert.deepEqual(records.map((record) => record.nodeId).sort(), ['eu-2', 'us-1']);
});

it("parlor project suspend, run with a node's settings, disconnects the project's clients on every node", async () => {
  const [first, second] = cluster.nodes;
  assert.ok(first && second);
  const token = opentok.generateToken(sessionId);
  const info = await fetch(`${first.url}/v2/session/${sessionId}/connection-info`, {
    headers: { 'X-TB-TOKEN-AUTH': token },
  });
  const host = ((await info.json()) as SessionConnectionInfo).apiUrl ?? first.url;
  const client = await SignalingTestClient.connect(host, sessionId, token);
  clients.push(client);
  // The node the CLI asks is not necessarily the host.
  const asked = host === first.url ? second : first;
  const out: string[] = [];
  const code = await main(
    [
      'project',
      'suspend',
      '--api-key',
      cluster.project.apiKey,
      '--data-dir',
      join(cluster.dir, asked.nodeId),
      '--public-url',
      asked.url,
      '--internal-url',
      asked.url,
    ],
    {
      PARLOR_REDIS_URL: cluster.redisUrl,
      PARLOR_DATABASE_URL: cluster.databaseUrl,
      PARLOR_CLUSTER_SECRET: cluster.clusterSecret,
      PARLOR_LOG_LEVEL: 'silent',
    },
    { out: (text) => out.push(text), err: (text) => out.push(text) },
  );
  assert.equal(code, 0, out.join(''));
  assert.match(out.join(''), /1 connected client disconnected/);
  await client.closed;
});

it('stops everything it started and deletes its files', async () => {
  await cluster.close();
  assert.equal(existsSync(cluster.dir), false);
  const urls = [...cluster.nodes.map((node) => node.url), cluster.redisUrl, cluster.databaseUrl];
  for (const url of urls) assert.equal(await accepts(url), false, `${url} still answers`);
});

/** Whether something listens at a URL's host and port. */
function accepts(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}
