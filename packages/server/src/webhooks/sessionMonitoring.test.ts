import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sessionMonitoringCallback } from '../projects/CallbackService.js';
import { startTestServer, type TestServer } from '../testing.js';
import { verifyCallback } from './callbackSignature.js';

/** A callback as the receiver got it. */
interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly raw: string;
  readonly body: { sessionId: string; event: string; [field: string]: unknown };
}

/** An HTTP server that records the callbacks POSTed to it; `refuse` decides which get a 503. */
class Receiver {
  readonly received: Received[] = [];
  refuse: (body: Received['body']) => boolean = () => false;
  readonly #server: Server;
  #waiters: (() => void)[] = [];

  private constructor() {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const body = JSON.parse(raw) as Received['body'];
        if (this.refuse(body)) {
          response.writeHead(503).end();
          return;
        }
        this.received.push({ headers: request.headers, raw, body });
        response.writeHead(204).end();
        for (const wake of this.#waiters) wake();
        this.#waiters = [];
      });
    });
  }

  static async start(): Promise<Receiver> {
    const receiver = new Receiver();
    await new Promise<void>((resolve) => receiver.#server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/events`;
  }

  /** The events received for the session, once there are `count` of them. */
  async events(sessionId: string, count: number, timeoutMs = 15_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const events = this.received.filter((each) => each.body.sessionId === sessionId);
      if (events.length >= count) return events;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`${events.length} of ${count} events: ${events.map((e) => e.body.event).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
  }
}

/** Two clients join, publish, unpublish and leave; resolves to what OpenTok would send, in order. */
async function call(parlor: TestServer, sessionId: string): Promise<Record<string, unknown>[]> {
  const alice = await parlor.connectClient(sessionId, { data: 'name=alice' });
  const bob = await parlor.connectClient(sessionId, { data: 'name=bob' });
  const a = (
    await alice.request('publish', { name: 'Alice', hasAudio: true, hasVideo: true, videoType: 'camera' })
  ).stream;
  const b = (await bob.request('publish', { name: 'Bob', hasAudio: true, hasVideo: false })).stream;
  await alice.request('unpublish', { streamId: a.streamId });
  await bob.request('unpublish', { streamId: b.streamId });
  await alice.request('disconnect', {});
  await alice.closed;
  await bob.nextEvent('connectionDestroyed');
  await bob.request('disconnect', {});
  await bob.closed;
  const connection = (client: typeof alice, data: string) => ({
    id: client.connectionId,
    createdAt: client.session?.connection.creationTime,
    data,
  });
  const aliceJson = connection(alice, 'name=alice');
  const bobJson = connection(bob, 'name=bob');
  const aliceStream = {
    id: a.streamId,
    connection: aliceJson,
    createdAt: a.creationTime,
    name: 'Alice',
    videoType: 'camera',
  };
  const bobStream = { id: b.streamId, connection: bobJson, createdAt: b.creationTime, name: 'Bob' };
  return [
    { event: 'sessionCreated' },
    { event: 'connectionCreated', connection: aliceJson },
    { event: 'connectionCreated', connection: bobJson },
    { event: 'streamCreated', stream: aliceStream },
    { event: 'streamCreated', stream: bobStream },
    { event: 'streamDestroyed', stream: aliceStream, reason: 'clientDisconnected' },
    { event: 'streamDestroyed', stream: bobStream, reason: 'clientDisconnected' },
    { event: 'connectionDestroyed', connection: aliceJson, reason: 'clientDisconnected' },
    { event: 'connectionDestroyed', connection: bobJson, reason: 'clientDisconnected' },
    { event: 'sessionDestroyed', reason: 'clientDisconnected' },
  ].map((fields) => ({ sessionId, projectId: parlor.apiKey, ...fields }));
}

/** The received bodies without their timestamps, after checking that those are ordered. */
function withoutTimestamps(events: readonly Received[]): Record<string, unknown>[] {
  let last = 0;
  return events.map(({ body }) => {
    const { timestamp, ...rest } = body;
    assert.equal(typeof timestamp, 'number');
    assert.ok((timestamp as number) >= last, 'timestamps in order');
    last = timestamp as number;
    return rest;
  });
}

describe('session monitoring callbacks', () => {
  let parlor: TestServer;
  let receiver: Receiver;
  let secret: string;

  before(async () => {
    receiver = await Receiver.start();
    parlor = await startTestServer({ parts: { webhookRetry: { retryBaseMs: 100, retryMaxMs: 400 } } });
    const registered = await parlor.rest('POST', '/callback', {
      group: 'session',
      event: 'monitoring',
      url: receiver.url,
    });
    assert.equal(registered.status, 200);
    const response = await parlor.rest('GET', '/signature-secret');
    assert.equal(response.status, 200);
    secret = ((await response.json()) as { signatureSecret: string }).signatureSecret;
    assert.match(secret, /^[\w-]{43}$/);
  });

  after(async () => {
    await parlor.dispose();
    await receiver.close();
  });

  it('sends, for a call of two clients, exactly the events OpenTok sends, in order, signed over their bodies', async () => {
    const sessionId = await parlor.createSession();
    const expected = await call(parlor, sessionId);
    const events = await receiver.events(sessionId, expected.length);
    assert.deepEqual(withoutTimestamps(events), expected);
    for (const { headers, raw } of events) {
      assert.equal(headers['content-type'], 'application/json');
      const claims = verifyCallback(headers.authorization, raw, secret);
      assert.equal(claims.iss, 'Parlor');
      assert.equal(claims.projectId, parlor.apiKey);
      assert.equal(claims.exp - claims.iat, 300);
    }
  });

  it('a tampered body, another secret or a missing header fails verification', () => {
    const event = receiver.received[0];
    assert.ok(event);
    const tampered = event.raw.replace('"sessionCreated"', '"sessionDestroyed"');
    assert.throws(() => verifyCallback(event.headers.authorization, tampered, secret), /does not match/);
    assert.throws(
      () => verifyCallback(event.headers.authorization, event.raw, `${secret}x`),
      /invalid signature/,
    );
    assert.throws(() => verifyCallback(undefined, event.raw, secret), /no Bearer token/);
  });

  it('a receiver that fails three times for a session gets its events later, in order, while another session’s go on', async () => {
    const stalled = await parlor.createSession();
    const other = await parlor.createSession();
    let refusals = 0;
    // The stalled session's first callback is refused three times, and until every one of the
    // other session's has arrived: those cannot be waiting behind it.
    receiver.refuse = (body) => {
      if (body.sessionId !== stalled) return false;
      const othersDone = receiver.received.filter((each) => each.body.sessionId === other).length === 10;
      if (refusals >= 3 && othersDone) return false;
      refusals += 1;
      return true;
    };
    const expectedStalled = call(parlor, stalled);
    const expectedOther = await call(parlor, other);
    assert.deepEqual(withoutTimestamps(await receiver.events(other, expectedOther.length)), expectedOther);
    const stalledEvents = await receiver.events(stalled, 10);
    assert.ok(refusals >= 3, `${refusals} refusals`);
    assert.deepEqual(withoutTimestamps(stalledEvents), await expectedStalled);
    receiver.refuse = () => false;
  });

  it('registers by REST as group session, event monitoring, and refuses groups Parlor does not send', async () => {
    const listed = (await (await parlor.rest('GET', '/callback')).json()) as { group: string; url: string }[];
    assert.deepEqual(
      listed.map(({ group, url }) => [group, url]),
      [['session', receiver.url]],
    );
    const refused = await parlor.rest('POST', '/callback', {
      group: 'connection',
      event: 'created',
      url: receiver.url,
    });
    assert.equal(refused.status, 400);
    assert.match(((await refused.json()) as { message: string }).message, /"session"\/"monitoring"/);
    // Test servers allow loopback callbacks (see testing.ts), and no other address that is not public.
    for (const url of [
      'http://169.254.169.254/latest/meta-data',
      'http://[fd00::1]/hook',
      'http://localhost/hook',
    ]) {
      const internal = await parlor.rest('POST', '/callback', { group: 'session', event: 'monitoring', url });
      assert.equal(internal.status, 400, url);
      assert.match(((await internal.json()) as { message: string }).message, /--callback-allowed-ip/);
    }
  });

  it('rotating the secret signs the next callbacks with the new one', async () => {
    const rotated = await parlor.rest('POST', '/signature-secret');
    assert.equal(rotated.status, 200);
    const newSecret = ((await rotated.json()) as { signatureSecret: string }).signatureSecret;
    assert.notEqual(newSecret, secret);
    const sessionId = await parlor.createSession();
    const client = await parlor.connectClient(sessionId);
    const [created] = await receiver.events(sessionId, 1);
    assert.ok(created);
    verifyCallback(created.headers.authorization, created.raw, newSecret);
    assert.throws(() => verifyCallback(created.headers.authorization, created.raw, secret));
    await client.close();
    await receiver.events(sessionId, 4);
  });
});

describe('session monitoring across a stop', () => {
  it('ends the sessions of a stopping server with serverRotation, and delivers what waited at the next start', async () => {
    const receiver = await Receiver.start();
    receiver.refuse = () => true;
    let parlor = await startTestServer({ parts: { webhookRetry: { retryBaseMs: 100, retryMaxMs: 400 } } });
    try {
      await parlor.server.callbacks.setUrl(parlor.apiKey, sessionMonitoringCallback, receiver.url);
      const sessionId = await parlor.createSession();
      const client = await parlor.connectClient(sessionId, { data: 'x' });
      const { stream: publishedStream } = await client.request('publish', {
        hasAudio: true,
        hasVideo: false,
      });
      // The three callbacks so far wait, refused, in the queue: the metrics say so.
      const scrape = async (): Promise<string> => (await fetch(`${parlor.url}/metrics`)).text();
      const deadline = Date.now() + 5000;
      while (!/^parlor_callbacks_queued 3$/m.test(await scrape()) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      const metrics = await scrape();
      assert.match(metrics, /^parlor_callbacks_queued 3$/m);
      assert.match(metrics, /^parlor_callbacks_dropped 0$/m);
      await parlor.close();
      receiver.refuse = () => false;
      parlor = await parlor.restart();
      const events = await receiver.events(sessionId, 6);
      assert.deepEqual(
        events.map(({ body }) => [body.event, body.reason]),
        [
          ['sessionCreated', undefined],
          ['connectionCreated', undefined],
          ['streamCreated', undefined],
          ['streamDestroyed', 'networkDisconnected'],
          ['connectionDestroyed', 'networkDisconnected'],
          ['sessionDestroyed', 'serverRotation'],
        ],
      );
      assert.equal((events[3]?.body.stream as { id: string }).id, publishedStream.streamId);
      assert.equal((events[4]?.body.connection as { id: string }).id, client.connectionId);
    } finally {
      await parlor.dispose();
      await receiver.close();
    }
  });
});
