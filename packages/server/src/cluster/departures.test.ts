import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenTok from 'opentok';
import type { SessionConnectionInfo } from '@parlor/protocol';
import { fromCallback, waitFor, type SignalingTestClient } from '../testing.js';
import { testClusterProject, type TestClusterNode } from './TestCluster.js';
import { ThreeNodeCluster } from './threeNodeCluster.js';

// What a node leaves when it goes, taken over by the others: three real Parlor processes (us,
// eu, ap) on one Redis and one PostgreSQL, the official SDK talking to the us node.

/** Addresses the shipped GeoIP data places in Germany and Japan. */
const hintOf = { eu: '46.4.0.1', ap: '133.242.0.1' } as const;

/** A callback receiver that answers 503 until it is up, keeping every body it was sent. */
interface Receiver {
  readonly url: string;
  up: boolean;
  /** Every POST's body, and when it came, in order. */
  readonly received: { body: Record<string, unknown>; delivered: boolean; at: number }[];
}

let nodes: ThreeNodeCluster;
let opentok: OpenTok;
let receiver: Receiver;
let server: Server;

before(async () => {
  nodes = await ThreeNodeCluster.start();
  opentok = new OpenTok(testClusterProject.apiKey, testClusterProject.apiSecret, {
    apiUrl: nodes.cluster.node('us-1').url,
  });
  const received: Receiver['received'] = [];
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      received.push({ body, delivered: receiver.up, at: Date.now() });
      response.writeHead(receiver.up ? 204 : 503).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, up: true, received };
  for (const [group, event] of [
    ['session', 'monitoring'],
    ['archive', 'status'],
  ] as const)
    await fromCallback((done) => {
      opentok.registerCallback({ group, event, url: receiver.url }, done);
    });
});
after(async () => {
  await nodes.dispose();
  server.closeAllConnections();
  server.close();
});

async function createSession(options: OpenTok.SessionOptions): Promise<string> {
  const session = await fromCallback<{ sessionId: string }>((done) => {
    opentok.createSession({ mediaMode: 'routed', ...options }, done);
  });
  return session.sessionId;
}

/** Connects a client where the node asked says the session is hosted. */
async function connectVia(node: TestClusterNode, sessionId: string): Promise<SignalingTestClient> {
  const response = await fetch(`${node.url}/v2/session/${sessionId}/connection-info`, {
    headers: { 'X-TB-TOKEN-AUTH': opentok.generateToken(sessionId) },
  });
  assert.equal(response.status, 200, await response.clone().text());
  const info = (await response.json()) as SessionConnectionInfo;
  return nodes.connect(info.apiUrl ?? '', sessionId, opentok.generateToken(sessionId));
}

/** The delivered callbacks of one session, or of its archives. */
function deliveredOf(sessionId: string): Record<string, unknown>[] {
  return receiver.received
    .filter(({ body, delivered }) => delivered && body.sessionId === sessionId)
    .map(({ body }) => body);
}

describe('a node that leaves the cluster', () => {
  it('stopped with callbacks its receiver refused: another node delivers each of them once, in order', async () => {
    const stopping = nodes.cluster.node('ap-3');
    receiver.up = false;
    const sessionId = await createSession({ location: hintOf.ap });
    const client = await connectVia(nodes.cluster.node('us-1'), sessionId);
    await client.close();
    // Tried and refused on the ap node: the session's four events wait in its queue.
    await waitFor(
      () => receiver.received.filter(({ body }) => body.sessionId === sessionId).length >= 2,
      'the ap node to try its callbacks',
      10_000,
    );
    assert.equal((await stopping.parlor.stop('SIGTERM')).code, 0);
    // From now on only another node can deliver them.
    receiver.up = true;
    const events = ['sessionCreated', 'connectionCreated', 'connectionDestroyed', 'sessionDestroyed'];
    await waitFor(() => deliveredOf(sessionId).length >= events.length, 'every event delivered', 30_000);
    // A few more rounds of every node: nothing is sent again.
    await sleep(5000);
    assert.deepEqual(
      deliveredOf(sessionId).map((body) => body.event),
      events,
    );
  });

  it('killed while recording: its archive fails once, seen from another node, and an always-archived session goes on in a new archive on its new host', async () => {
    const killed = nodes.cluster.node('eu-2');
    const sessionId = await createSession({ location: hintOf.eu, archiveMode: 'always' });
    const alice = await connectVia(nodes.cluster.node('us-1'), sessionId);
    await alice.request('publish', { name: 'Camera', hasAudio: true, hasVideo: true });
    const listArchives = (): Promise<OpenTok.Archive[]> =>
      fromCallback<OpenTok.Archive[]>((done) => {
        opentok.listArchives({ sessionId }, done);
      });
    await waitFor(async () => (await listArchives()).length === 1, 'the automatic archive', 10_000);
    const recording = (await listArchives())[0];
    assert.ok(recording);
    assert.equal(recording.status, 'started');
    // Its started callback is out before the kill: the failure is what this case is about.
    await waitFor(
      () => deliveredOf(sessionId).some((body) => body.id === recording.id && body.status === 'started'),
      'the archive started callback',
      10_000,
    );

    const killedAt = Date.now();
    await killed.parlor.stop('SIGKILL');
    let failed: OpenTok.Archive | undefined;
    await waitFor(
      async () => {
        failed = await fromCallback<OpenTok.Archive>((done) => {
          opentok.getArchive(recording.id, done);
        });
        return failed.status === 'failed';
      },
      'the archive failed',
      20_000,
    );
    assert.match(failed?.reason ?? '', /^system failure: the node recording it \(eu-2\) was lost$/);
    const failedAfterMs = Date.now() - killedAt;

    // The session's clients come back on the node placement gives it now and publish again.
    await waitFor(
      async () => {
        const response = await fetch(
          `${nodes.cluster.node('us-1').url}/v2/session/${sessionId}/connection-info`,
          {
            headers: { 'X-TB-TOKEN-AUTH': opentok.generateToken(sessionId) },
          },
        );
        return response.ok && ((await response.json()) as SessionConnectionInfo).nodeId !== killed.nodeId;
      },
      'the lease to lapse',
      15_000,
    );
    const again = await connectVia(nodes.cluster.node('us-1'), sessionId);
    await again.request('publish', { name: 'Camera', hasAudio: true, hasVideo: true });
    await waitFor(async () => (await listArchives()).length === 2, 'a new archive', 10_000);
    const next = (await listArchives()).find((archive) => archive.id !== recording.id);
    assert.equal(next?.status, 'started');

    // The archive's callbacks: started, then failed once (told by one node), then the new one.
    await sleep(4000);
    const statuses = deliveredOf(sessionId)
      .filter((body) => body.id === recording.id)
      .map((body) => body.status);
    assert.deepEqual(statuses, ['started', 'failed']);
    assert.ok(failedAfterMs < 20_000, `failed ${failedAfterMs} ms after the kill`);
  });
});
