import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenTok from 'opentok';
import {
  fromCallback,
  SignalingTestClient,
  startPostgresServer,
  TestCluster,
  TestRedis,
  testClusterProject,
  type PostgresServer,
} from '@parlor/server/testing';
import { freeUdpPort } from './baresip.js';
import { Sipp } from './sipp.js';

// POST /dial sent to a node that does not host the session: two Parlor processes (us, eu), each
// with its SIP port, and a sipp endpoint that answers, then hangs up. The call must join the
// room of the session's host, never open a second one on the node asked.

/** An address the shipped GeoIP data places in Germany: the eu node's. */
const euHint = '46.4.0.1';

let redis: TestRedis;
let postgres: PostgresServer;
let cluster: TestCluster;
let viaUs: OpenTok;
const clients: SignalingTestClient[] = [];

before(async () => {
  const sipPorts: Record<string, number> = { us: await freeUdpPort(), eu: await freeUdpPort() };
  [redis, postgres] = await Promise.all([TestRedis.start(), startPostgresServer()]);
  cluster = await TestCluster.start({
    redis,
    databaseUrl: await postgres.createDatabase(),
    regions: ['us', 'eu'],
    envOf: (region) => ({ PARLOR_SIP_PORT: String(sipPorts[region]) }),
  });
  viaUs = new OpenTok(testClusterProject.apiKey, testClusterProject.apiSecret, {
    apiUrl: cluster.node('us-1').url,
  });
});
after(async () => {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
  await cluster.dispose();
  await redis.dispose();
  await postgres.stop();
});

async function createEuSession(): Promise<string> {
  const session = await fromCallback<{ sessionId: string }>((done) => {
    viaUs.createSession({ mediaMode: 'routed', location: euHint }, done);
  });
  return session.sessionId;
}

/** A client of the session, connected to the eu node. */
async function euClient(sessionId: string): Promise<SignalingTestClient> {
  const client = await SignalingTestClient.connect(
    cluster.node('eu-2').url,
    sessionId,
    viaUs.generateToken(sessionId),
  );
  clients.push(client);
  return client;
}

/** Dials sipp into the session through the us node; resolves to the call's connection and stream. */
async function dialViaUs(sessionId: string, sipp: Sipp): Promise<{ connectionId: string; streamId: string }> {
  const call = await fromCallback<{ connectionId: string; streamId: string }>((done) => {
    viaUs.dial(sessionId, viaUs.generateToken(sessionId, { data: 'phone' }), sipp.uri, {}, done);
  });
  return { connectionId: call.connectionId, streamId: call.streamId };
}

describe('SIP dial in a cluster', () => {
  it("dialled through a node that does not host the session, the call joins the host's room", async () => {
    const sessionId = await createEuSession();
    // The session's first client makes the eu node its host.
    const info = await fetch(`${cluster.node('us-1').url}/v2/session/${sessionId}/connection-info`, {
      headers: { 'X-TB-TOKEN-AUTH': viaUs.generateToken(sessionId) },
    });
    const text = await info.text();
    assert.equal((JSON.parse(text) as { nodeId: string }).nodeId, 'eu-2', `${info.status} ${text}`);
    const watcher = await euClient(sessionId);
    const sipp = await Sipp.start('hangsUp');
    try {
      const call = await dialViaUs(sessionId, sipp);
      const created = await watcher.nextEvent('connectionCreated');
      assert.equal(created.connection.connectionId, call.connectionId);
      assert.equal(created.connection.data, 'phone');
      assert.equal((await watcher.nextEvent('streamCreated')).stream.streamId, call.streamId);
      assert.equal(await cluster.node('eu-2').metric('parlor_sessions'), 1);
      assert.equal(await cluster.node('us-1').metric('parlor_sessions'), 0);
      // sipp hangs up: the call leaves the host's room.
      assert.equal((await watcher.nextEvent('streamDestroyed')).stream.streamId, call.streamId);
      assert.equal(await sipp.exited, 0, `sipp saw its scenario through:\n${sipp.log}`);
    } finally {
      await sipp.close();
    }
  });

  it('dialled into a session nobody hosts yet, the call is placed by its location hint, and clients find it there', async () => {
    const sessionId = await createEuSession();
    const before = await cluster.node('eu-2').metric('parlor_sessions');
    const sipp = await Sipp.start('hangsUp');
    try {
      const call = await dialViaUs(sessionId, sipp);
      assert.equal(await cluster.node('eu-2').metric('parlor_sessions'), before + 1);
      assert.equal(await cluster.node('us-1').metric('parlor_sessions'), 0);
      const info = await fetch(`${cluster.node('us-1').url}/v2/session/${sessionId}/connection-info`, {
        headers: { 'X-TB-TOKEN-AUTH': viaUs.generateToken(sessionId) },
      });
      assert.equal(((await info.json()) as { nodeId: string }).nodeId, 'eu-2');
      const watcher = await euClient(sessionId);
      assert.deepEqual(
        watcher.session?.streams.map((stream) => stream.streamId),
        [call.streamId],
      );
      assert.equal((await watcher.nextEvent('streamDestroyed')).stream.streamId, call.streamId);
      assert.equal(await sipp.exited, 0, `sipp saw its scenario through:\n${sipp.log}`);
    } finally {
      await sipp.close();
    }
  });
});
