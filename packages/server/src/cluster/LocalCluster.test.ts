import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { it } from 'node:test';
import OpenTok from 'opentok';
import { startLocalCluster } from './LocalCluster.js';

// What `npm run cluster` runs: its own Redis and PostgreSQL, then nodes sharing them.
it('starts two nodes sharing their sessions, and stops everything it started', async () => {
  const cluster = await startLocalCluster({ nodes: 2, port: 0 });
  try {
    const [first, second] = cluster.nodes;
    assert.ok(first && second);
    assert.deepEqual(
      cluster.nodes.map((node) => node.region),
      ['us', 'eu'],
    );
    for (const node of cluster.nodes) assert.equal((await fetch(`${node.url}/health`)).status, 200);

    const opentok = new OpenTok(cluster.project.apiKey, cluster.project.apiSecret, { apiUrl: first.url });
    const sessionId = await new Promise<string>((resolve, reject) => {
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
  } finally {
    await cluster.close();
  }
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
