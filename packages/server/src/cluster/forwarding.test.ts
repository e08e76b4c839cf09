import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import OpenTok from 'opentok';
import { fromCallback, type SignalingTestClient } from '../testing.js';
import { testClusterProject, type TestClusterNode } from './TestCluster.js';
import { ThreeNodeCluster } from './threeNodeCluster.js';

// REST calls on a live session sent to nodes that do not host it: three real Parlor processes
// (us, eu, ap) on one Redis and one PostgreSQL, the official SDK pointed at a non-host node,
// the session's clients connected to its host.

/** An address the shipped GeoIP data places in Germany: the eu node's. */
const euHint = '46.4.0.1';

let nodes: ThreeNodeCluster;

before(async () => {
  nodes = await ThreeNodeCluster.start();
});
after(async () => {
  await nodes.dispose();
});

function sdkVia(node: TestClusterNode): OpenTok {
  return new OpenTok(testClusterProject.apiKey, testClusterProject.apiSecret, { apiUrl: node.url });
}

/** A routed session hosted by the eu node, with two clients connected there and alice publishing. */
async function liveEuSession(): Promise<{
  sessionId: string;
  alice: SignalingTestClient;
  bob: SignalingTestClient;
  streamId: string;
}> {
  const opentok = sdkVia(nodes.cluster.node('us-1'));
  const session = await fromCallback<{ sessionId: string }>((done) => {
    opentok.createSession({ mediaMode: 'routed', location: euHint }, done);
  });
  const { sessionId } = session;
  const info = await fetch(`${nodes.cluster.node('ap-3').url}/v2/session/${sessionId}/connection-info`, {
    headers: { 'X-TB-TOKEN-AUTH': opentok.generateToken(sessionId) },
  });
  assert.equal(((await info.json()) as { nodeId: string }).nodeId, 'eu-2');
  const connect = (): Promise<SignalingTestClient> =>
    nodes.connect(nodes.cluster.node('eu-2').url, sessionId, opentok.generateToken(sessionId));
  const alice = await connect();
  const bob = await connect();
  const { stream } = await alice.request('publish', { name: 'Camera', hasAudio: true, hasVideo: true });
  await bob.nextEvent('streamCreated');
  await alice.nextEvent('connectionCreated');
  return { sessionId, alice, bob, streamId: stream.streamId };
}

/** A REST call as a project, to one node. */
function rest(
  node: TestClusterNode,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const now = Math.floor(Date.now() / 1000);
  const auth = jwt.sign(
    { iss: testClusterProject.apiKey, ist: 'project', iat: now, exp: now + 300 },
    testClusterProject.apiSecret,
  );
  return fetch(`${node.url}/v2/project/${testClusterProject.apiKey}${path}`, {
    method,
    headers: { 'X-OPENTOK-AUTH': auth, ...headers },
  });
}

describe('REST calls on a session hosted by another node', () => {
  it('signal, list streams and connections, layout classes, force mute and force disconnect sent to non-hosts reach the session', async () => {
    const { sessionId, alice, bob, streamId } = await liveEuSession();
    const viaUs = sdkVia(nodes.cluster.node('us-1'));
    const viaAp = sdkVia(nodes.cluster.node('ap-3'));

    await fromCallback((done) => {
      viaUs.signal(sessionId, null, { type: 'news', data: 'from us' }, done);
    });
    for (const client of [alice, bob])
      assert.deepEqual(await client.nextEvent('signal'), { from: null, type: 'news', data: 'from us' });
    await fromCallback((done) => {
      viaAp.signal(sessionId, bob.connectionId, { type: 'dm', data: 'to bob' }, done);
    });
    assert.deepEqual(await bob.nextEvent('signal'), { from: null, type: 'dm', data: 'to bob' });

    const streams = await fromCallback<unknown[]>((done) => {
      viaAp.listStreams(sessionId, done);
    });
    assert.deepEqual(
      streams.map((stream) => (stream as { id: string }).id),
      [streamId],
    );
    await fromCallback((done) => {
      viaAp.setStreamClassLists(sessionId, [{ id: streamId, layoutClassList: ['focus'] }], done);
    });
    // Read back with listStreams: the SDK's getStream parses its already parsed answer again.
    const classed = await fromCallback<unknown[]>((done) => {
      viaUs.listStreams(sessionId, done);
    });
    assert.deepEqual(
      classed.map((stream) => (stream as { layoutClassList: string[] }).layoutClassList),
      [['focus']],
    );
    const connections = await rest(nodes.cluster.node('us-1'), 'GET', `/session/${sessionId}/connection`);
    assert.equal(connections.status, 200);
    assert.equal(connections.headers.get('content-type'), 'application/json');
    assert.deepEqual(
      ((await connections.json()) as { items: { connectionId: string }[] }).items
        .map((item) => item.connectionId)
        .sort(),
      [alice.connectionId, bob.connectionId].sort(),
    );

    await fromCallback((done) => {
      viaUs.forceMuteStream(sessionId, streamId, done);
    });
    assert.deepEqual(await alice.nextEvent('muteForced'), { streamId });
    await fromCallback((done) => {
      viaAp.forceMuteAll(sessionId, { excludedStreamIds: [] }, done);
    });
    assert.deepEqual(await bob.nextEvent('forceMuteChanged'), { active: true });

    // The host's own error answers come back as they are.
    const unknown = await rest(nodes.cluster.node('us-1'), 'POST', `/session/${sessionId}/stream/nope/mute`);
    assert.equal(unknown.status, 404);
    assert.match(((await unknown.json()) as { message: string }).message, /Stream not found/);

    await fromCallback((done) => {
      viaUs.forceDisconnect(sessionId, alice.connectionId, done);
    });
    assert.deepEqual(await alice.nextEvent('sessionDisconnected'), { reason: 'forceDisconnected' });
    assert.equal((await bob.nextEvent('connectionDestroyed')).reason, 'forceDisconnected');
  });

  it('answers a session nobody hosts on the node asked, as before', async () => {
    const opentok = sdkVia(nodes.cluster.node('ap-3'));
    const { sessionId } = await fromCallback<{ sessionId: string }>((done) => {
      opentok.createSession({ mediaMode: 'routed', location: euHint }, done);
    });
    const streams = await rest(nodes.cluster.node('ap-3'), 'GET', `/session/${sessionId}/stream`);
    assert.deepEqual(await streams.json(), { count: 0, items: [] });
    const gone = await rest(nodes.cluster.node('ap-3'), 'DELETE', `/session/${sessionId}/connection/c1`);
    assert.equal(gone.status, 404);
  });

  it('refuses a call that claims to come from another node without the cluster signature', async () => {
    const { sessionId, bob } = await liveEuSession();
    const path = `/v2/project/${testClusterProject.apiKey}/session/${sessionId}/signal`;
    const forged = {
      'x-parlor-forwarded-by': 'us-1',
      'x-parlor-forwarded-at': String(Date.now()),
      'x-parlor-forwarded-project': testClusterProject.apiKey,
      'x-parlor-forwarded-body': 'x',
      'x-parlor-forwarded-signature': 'forged',
      'content-type': 'application/json',
    };
    for (const node of [nodes.cluster.node('eu-2'), nodes.cluster.node('us-1')]) {
      const refused = await fetch(`${node.url}${path}`, {
        method: 'POST',
        headers: forged,
        body: '{"type":"forged","data":"x"}',
      });
      assert.equal(refused.status, 403);
    }
    // A client's valid request that also names a node is refused as well: it is no call between nodes.
    const claimed = await rest(nodes.cluster.node('us-1'), 'GET', `/session/${sessionId}/stream`, {
      'x-parlor-forwarded-by': 'eu-2',
    });
    assert.equal(claimed.status, 403);
    await bob.request('signal', { type: 'probe', data: 'only' });
    const next = await bob.nextEvent('signal');
    assert.equal(next.type, 'probe');
  });
});
