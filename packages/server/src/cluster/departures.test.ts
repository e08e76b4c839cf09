import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenTok from 'opentok';
import pg from 'pg';
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

/** The node that hosts the session now, as the us node tells a client; null when it cannot say. */
async function hostOf(sessionId: string): Promise<string | null> {
  const response = await fetch(`${nodes.cluster.node('us-1').url}/v2/session/${sessionId}/connection-info`, {
    headers: { 'X-TB-TOKEN-AUTH': opentok.generateToken(sessionId) },
  });
  return response.ok ? ((await response.json()) as SessionConnectionInfo).nodeId : null;
}

/** The delivered callbacks of one session, or of its archives. */
function deliveredOf(sessionId: string): Record<string, unknown>[] {
  return receiver.received
    .filter(({ body, delivered }) => delivered && body.sessionId === sessionId)
    .map(({ body }) => body);
}

/** The statuses of an archive's delivered callbacks, in order. */
function deliveredStatusesOf(archive: OpenTok.Archive): unknown[] {
  return deliveredOf(archive.sessionId)
    .filter((body) => body.id === archive.id)
    .map((body) => body.status);
}

function listArchives(sessionId: string): Promise<OpenTok.Archive[]> {
  return fromCallback<OpenTok.Archive[]>((done) => {
    opentok.listArchives({ sessionId }, done);
  });
}

/** Waits until the archive is failed; resolves to it. */
async function failedArchive(archiveId: string): Promise<OpenTok.Archive> {
  let archive: OpenTok.Archive | undefined;
  await waitFor(
    async () => {
      archive = await fromCallback<OpenTok.Archive>((done) => {
        opentok.getArchive(archiveId, done);
      });
      return archive.status === 'failed';
    },
    'the archive failed',
    20_000,
  );
  assert.ok(archive);
  return archive;
}

/**
 * A fault point in the shared PostgreSQL: from `hold` until `release`, the write of any archive
 * `started` callback waits (a trigger takes an advisory lock this connection holds), so that a
 * node can be caught between an archive's start and the storing of its callback, if there is
 * such a moment.
 */
class StartedCallbackHold {
  static readonly #lock = 7_140_001;
  readonly #client: pg.Client;
  #released: Promise<void> | null = null;

  private constructor(client: pg.Client) {
    this.#client = client;
  }

  static async hold(databaseUrl: string): Promise<StartedCallbackHold> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query('SELECT pg_advisory_lock($1)', [StartedCallbackHold.#lock]);
    await client.query(`
      CREATE FUNCTION test_hold_started_callback() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.body LIKE '%"event":"archive"%' AND NEW.body LIKE '%"status":"started"%' THEN
          PERFORM pg_advisory_xact_lock_shared(${StartedCallbackHold.#lock});
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_hold_started_callback BEFORE INSERT ON webhook_deliveries
        FOR EACH ROW EXECUTE FUNCTION test_hold_started_callback();`);
    return new StartedCallbackHold(client);
  }

  /** Whether a callback's write waits on the hold. */
  async holding(): Promise<boolean> {
    const { rows } = await this.#client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted",
      [StartedCallbackHold.#lock],
    );
    return (rows[0]?.n ?? 0) > 0;
  }

  /** Lets the writes go on, and the next ones through at once; idempotent. */
  release(): Promise<void> {
    this.#released ??= (async () => {
      // Unlocked first: the trigger cannot be dropped while a transaction that wrote to its
      // table waits on the lock.
      await this.#client.query('SELECT pg_advisory_unlock($1)', [StartedCallbackHold.#lock]);
      await this.#client.query(`
        DROP TRIGGER test_hold_started_callback ON webhook_deliveries;
        DROP FUNCTION test_hold_started_callback();`);
      await this.#client.end();
    })();
    return this.#released;
  }
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
    await waitFor(async () => (await listArchives(sessionId)).length === 1, 'the automatic archive', 10_000);
    const recording = (await listArchives(sessionId))[0];
    assert.ok(recording);
    assert.equal(recording.status, 'started');

    // Killed right after the archive started, its started callback out or not.
    const killedAt = Date.now();
    await killed.parlor.stop('SIGKILL');
    const failed = await failedArchive(recording.id);
    assert.match(failed.reason, /^system failure: the node recording it \(eu-2\) was lost$/);
    const failedAfterMs = Date.now() - killedAt;

    // The session's clients come back on the node placement gives it now and publish again.
    await waitFor(
      async () => ![null, killed.nodeId].includes(await hostOf(sessionId)),
      'the lease to lapse',
      15_000,
    );
    const again = await connectVia(nodes.cluster.node('us-1'), sessionId);
    await again.request('publish', { name: 'Camera', hasAudio: true, hasVideo: true });
    await waitFor(async () => (await listArchives(sessionId)).length === 2, 'a new archive', 10_000);
    const next = (await listArchives(sessionId)).find((archive) => archive.id !== recording.id);
    assert.equal(next?.status, 'started');

    // The archive's callbacks: started, then failed once (told by one node). The started one
    // comes again when the node was killed between its POST's answer and its removal from the
    // queue (delivery is at least once across a kill).
    await sleep(4000);
    const statuses = deliveredStatusesOf(recording);
    assert.deepEqual(
      statuses.filter((status, index) => status !== statuses[index - 1]),
      ['started', 'failed'],
    );
    assert.equal(statuses.filter((status) => status === 'failed').length, 1);
    assert.ok(failedAfterMs < 20_000, `failed ${failedAfterMs} ms after the kill`);
  });

  it('killed as its archive starts: the archive is listed only once its started callback is stored, which another node delivers before the failure', async () => {
    // ap-3 stopped in the first case: it comes back, to be killed here. The receiver refuses
    // everything until then, so that nothing of the archive is delivered before the kill.
    const killed = await nodes.cluster.restart('ap-3');
    const hold = await StartedCallbackHold.hold(nodes.databaseUrl);
    try {
      receiver.up = false;
      const sessionId = await createSession({ location: hintOf.ap, archiveMode: 'always' });
      const alice = await connectVia(nodes.cluster.node('us-1'), sessionId);
      assert.equal(await hostOf(sessionId), killed.nodeId);
      await alice.request('publish', { name: 'Camera', hasAudio: true, hasVideo: true });
      await waitFor(() => hold.holding(), "the write of the archive's started callback", 10_000);
      // The archive and its started callback are stored together: while the callback's write
      // waits, the archive is not listed.
      assert.deepEqual(await listArchives(sessionId), []);

      await hold.release();
      await waitFor(async () => (await listArchives(sessionId)).length === 1, 'the archive', 10_000);
      await killed.parlor.stop('SIGKILL');
      const [recording] = await listArchives(sessionId);
      assert.ok(recording);
      receiver.up = true;
      await failedArchive(recording.id);
      await waitFor(() => deliveredStatusesOf(recording).length >= 2, 'two callbacks of the archive', 10_000);
      // A few more rounds of every node: nothing is sent again.
      await sleep(4000);
      assert.deepEqual(deliveredStatusesOf(recording), ['started', 'failed']);
    } finally {
      await hold.release();
      receiver.up = true;
    }
  });
});
