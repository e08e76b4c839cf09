import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenTok from 'opentok';
import { TestCluster, testClusterProject, type TestClusterNode } from '../cluster/TestCluster.js';
import { TestRedis } from '../cluster/TestRedis.js';
import { fromCallback, SignalingTestClient, startPostgresServer, type PostgresServer } from '../testing.js';

// The console of a two-node cluster (us-1, eu-2 on one Redis and one PostgreSQL): setup links
// work on either node, once; an operator on one node sees a session live on the other and,
// suspending its project, disconnects its clients there.

/** An address the shipped GeoIP data places in Germany: the eu node's. */
const euHint = '46.4.0.1';
const password = 'correct horse battery';

let redis: TestRedis;
let postgres: PostgresServer;
let cluster: TestCluster;
const clients: SignalingTestClient[] = [];

before(async () => {
  [redis, postgres] = await Promise.all([TestRedis.start(), startPostgresServer()]);
  cluster = await TestCluster.start({
    redis,
    databaseUrl: await postgres.createDatabase(),
    regions: ['us', 'eu'],
  });
});
after(async () => {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
  await cluster.dispose();
  await redis.dispose();
  await postgres.stop();
});

function setupTokenOf(node: TestClusterNode): string {
  const token = /\/console\/setup#([\w-]+)/.exec(node.parlor.banner)?.[1];
  assert.ok(token, `no setup link in the banner of ${node.nodeId}`);
  return token;
}

function post(
  node: TestClusterNode,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${node.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/**
 * The node a session is placed on, asked as a client does; asked again (for up to 30 s) while
 * no node takes sessions, as a loaded machine's nodes may say in their first seconds.
 */
async function hostOf(sessionId: string, token: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const info = await fetch(`${cluster.node('us-1').url}/v2/session/${sessionId}/connection-info`, {
      headers: { 'X-TB-TOKEN-AUTH': token },
    });
    const answer = (await info.json()) as { nodeId?: string };
    if (info.ok && answer.nodeId) return answer.nodeId;
    assert.ok(Date.now() < deadline, `connection-info: ${info.status} ${JSON.stringify(answer)}`);
    await sleep(500);
  }
}

describe('the console in a cluster', () => {
  let cookie = '';
  let csrfToken = '';

  /** A console API call as the operator, to one node. */
  async function api<T>(node: TestClusterNode, method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${node.url}/console/api${path}`, {
      method,
      headers: {
        cookie,
        'x-csrf-token': csrfToken,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    assert.ok(response.ok, `${method} ${path} on ${node.nodeId}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  }

  it("takes a node's setup link on the other node, once; the other node's link then works nowhere", async () => {
    const [us, eu] = [cluster.node('us-1'), cluster.node('eu-2')];
    const usToken = setupTokenOf(us);
    const euToken = setupTokenOf(eu);
    const made = await post(eu, '/console/api/setup', { token: usToken, name: 'ann', password });
    assert.equal(made.status, 200, await made.clone().text());
    cookie = (made.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    csrfToken = ((await made.json()) as { csrfToken: string }).csrfToken;
    for (const [node, token] of [
      [us, usToken],
      [eu, usToken],
      [us, euToken],
    ] as const) {
      const again = await post(node, '/console/api/setup', { token, name: 'bob', password });
      assert.equal(again.status, 403);
    }
    // The login made on eu-2 is one of the cluster: us-1 takes it.
    assert.equal((await api<{ name: string }>(us, 'GET', '/me')).name, 'ann');
  });

  it('shows on one node a session live on the other, and a suspension there disconnects its clients', async () => {
    const { apiKey, apiSecret } = testClusterProject;
    const opentok = new OpenTok(apiKey, apiSecret, { apiUrl: cluster.node('us-1').url });
    const { sessionId } = await fromCallback<{ sessionId: string }>((done) => {
      opentok.createSession({ mediaMode: 'routed', location: euHint }, done);
    });
    // Placed (by its location hint, on eu-2 once that node takes sessions) when a client first
    // asks where it is; the operator then looks from the other node.
    const host = cluster.node(await hostOf(sessionId, opentok.generateToken(sessionId)));
    const other = cluster.nodes.find((node) => node !== host);
    assert.ok(other);
    for (let i = 0; i < 2; i++)
      clients.push(await SignalingTestClient.connect(host.url, sessionId, opentok.generateToken(sessionId)));
    const [alice, bob] = clients as [SignalingTestClient, SignalingTestClient];
    await alice.request('publish', { name: 'Camera', hasAudio: true, hasVideo: true });
    await bob.nextEvent('streamCreated');

    type Listed = {
      sessionId: string;
      live: { connections: number; streams: number; nodeId: string } | null;
    };
    const seen = (await api<Listed[]>(other, 'GET', `/projects/${apiKey}/sessions`)).find(
      (each) => each.sessionId === sessionId,
    );
    assert.deepEqual(seen?.live, { connections: 2, streams: 1, nodeId: host.nodeId });

    // A node's console route takes only signed calls of the cluster.
    const unsigned = await post(host, '/console/node/disconnect', { apiKey });
    assert.equal(unsigned.status, 403);

    await api(other, 'PATCH', `/projects/${apiKey}`, { suspended: true });
    // The PATCH answers once every node has disconnected the project's clients.
    await Promise.all([alice.closed, bob.closed]);
    const after = (await api<Listed[]>(other, 'GET', `/projects/${apiKey}/sessions`)).find(
      (each) => each.sessionId === sessionId,
    );
    assert.equal(after?.live, null);
    await api(other, 'PATCH', `/projects/${apiKey}`, { suspended: false });
  });
});
