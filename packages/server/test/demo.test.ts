import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import OpenTok from 'opentok';
import { SignalingTestClient, startTestServer, type TestServer } from '@parlor/server/testing';

// The demo at `/` and `/demo/credentials`: off unless the operator turns it on, and when on,
// limited to sessions it created itself, rate-limited per client address, short-lived.

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A GET from a chosen loopback address (the socket's, which the demo counts requests by). */
function get(
  baseUrl: string,
  path: string,
  from = '127.0.0.1',
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const sent = request(`${baseUrl}${path}`, { localAddress: from, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
      });
    });
    sent.on('error', reject);
    sent.end();
  });
}

interface Credentials {
  readonly apiKey: string;
  readonly sessionId: string;
  readonly token: string;
}

/** `/demo/credentials` from this address, which must answer 200. */
async function credentials(parlor: TestServer, from: string, session?: string): Promise<Credentials> {
  const answer = await get(parlor.url, `/demo/credentials${session ? `?session=${session}` : ''}`, from);
  assert.equal(answer.status, 200, answer.body);
  return JSON.parse(answer.body) as Credentials;
}

/** Asserts a 429 with a JSON message and a Retry-After of this many seconds. */
function assertRateLimited(answer: Answer, retryAfter: number, message: RegExp): void {
  assert.equal(answer.status, 429, answer.body);
  assert.equal(answer.headers['retry-after'], String(retryAfter));
  const body = JSON.parse(answer.body) as { code: number; message: string };
  assert.equal(body.code, 429);
  assert.match(body.message, message);
}

/** Sets sessions' creation time this many hours back, through a connection of the test's own. */
function age(parlor: TestServer, sessionIds: readonly string[], hours: number): void {
  const db = new Database(join(parlor.dataDir, 'parlor.sqlite'));
  try {
    const update = db.prepare('UPDATE sessions SET created_at = created_at - ? WHERE session_id = ?');
    for (const id of sessionIds) assert.equal(update.run(hours * 3_600_000, id).changes, 1);
  } finally {
    db.close();
  }
}

function createApplicationSession(parlor: TestServer): Promise<string> {
  const opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
  return new Promise((resolve, reject) => {
    opentok.createSession({ mediaMode: 'relayed' }, (error, session) => {
      if (error || !session) reject(error ?? new Error('no session'));
      else resolve(session.sessionId);
    });
  });
}

describe('the demo, off by default', () => {
  let parlor: TestServer;
  before(async () => {
    parlor = await startTestServer();
  });
  after(() => parlor.dispose());

  it('the demo is off by default: /demo/credentials is 404 and / hands out no token', async () => {
    const answer = await get(parlor.url, '/demo/credentials');
    assert.equal(answer.status, 404);
    assert.deepEqual(JSON.parse(answer.body), { code: 404, message: 'Not found: GET /demo/credentials' });
    assert.equal((await get(parlor.url, '/demo/demo.js')).status, 404);

    const home = await get(parlor.url, '/');
    assert.equal(home.status, 200);
    assert.equal(home.headers['content-type'], 'text/plain; charset=utf-8');
    assert.match(home.body, /Parlor is running/);
    assert.match(home.body, /\/v2\/js\/opentok\.js/);
    assert.match(home.body, /npm start -- --demo/);
    for (const secret of [parlor.apiKey, parlor.apiSecret, 'eyJ', 'T1=='])
      assert.ok(!home.body.includes(secret), secret);
    assert.equal(await parlor.server.sessions.count(parlor.apiKey, 'demo'), 0, 'no demo session was made');
  });
});

describe('the demo, on', () => {
  let parlor: TestServer;
  before(async () => {
    parlor = await startTestServer({
      env: {
        PARLOR_DEMO: 'true',
        PARLOR_TURN: 'external',
        PARLOR_TURN_URLS: 'turn:turn.example.test:3478',
        PARLOR_TURN_SECRET: 'a-shared-turn-secret',
      },
    });
  });
  after(() => parlor.dispose());

  it('serves its page at / with the SDK from /v2/js/opentok.js', async () => {
    const response = await fetch(`${parlor.url}/`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(await response.text(), /<script src="\/v2\/js\/opentok.js"><\/script>/);
    for (const path of ['/demo/demo.js', '/demo/demo.css']) {
      assert.equal((await fetch(`${parlor.url}${path}`)).status, 200, path);
    }
  });

  it("mints a one-hour publisher token for a new relayed session marked demo, not counted as the application's", async () => {
    const before = await parlor.server.sessions.count(parlor.apiKey);
    const answer = await get(parlor.url, '/demo/credentials', '127.0.0.11');
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['cache-control'], 'no-store');
    const { apiKey, sessionId, token } = JSON.parse(answer.body) as Credentials;
    assert.equal(apiKey, parlor.apiKey);
    const session = await parlor.server.sessions.get(parlor.apiKey, sessionId);
    assert.deepEqual([session.mediaMode, session.origin], ['relayed', 'demo']);
    const verified = await parlor.server.tokens.verify(token);
    assert.deepEqual([verified.sessionId, verified.role], [sessionId, 'publisher']);
    const lifetime = verified.expiresAt - Math.floor(Date.now() / 1000);
    assert.ok(lifetime > 3590 && lifetime <= 3600, `the token lives ${lifetime} s`);

    const applicationSession = await createApplicationSession(parlor);
    assert.equal((await parlor.server.sessions.get(parlor.apiKey, applicationSession)).origin, 'api');
    assert.equal(
      await parlor.server.sessions.count(parlor.apiKey),
      before + 1,
      'only the application session counts',
    );
    assert.ok((await parlor.server.sessions.count(parlor.apiKey, 'demo')) >= 1);
  });

  it('serves the network test page and mints its tokens for a new routed demo session; other media modes are 400', async () => {
    const page = await fetch(`${parlor.url}/network-test`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script src="\/v2\/js\/network-test.js"><\/script>/);
    assert.equal((await fetch(`${parlor.url}/demo/network-test.js`)).status, 200);
    const answer = await get(parlor.url, '/demo/credentials?mediaMode=routed', '127.0.0.17');
    assert.equal(answer.status, 200);
    const { sessionId } = JSON.parse(answer.body) as Credentials;
    const session = await parlor.server.sessions.get(parlor.apiKey, sessionId);
    assert.deepEqual([session.mediaMode, session.origin], ['routed', 'demo']);
    assert.equal((await get(parlor.url, '/demo/credentials?mediaMode=peer', '127.0.0.17')).status, 400);
  });

  it('a demo token is never minted for a session the demo did not create', async () => {
    const from = '127.0.0.12';
    const own = await credentials(parlor, from);
    assert.equal(
      (await credentials(parlor, from, own.sessionId)).sessionId,
      own.sessionId,
      'its own is reused',
    );

    const applicationSession = await createApplicationSession(parlor);
    const routed = await parlor.createSession({ mediaMode: 'routed' });
    for (const given of [applicationSession, routed, '1_unknown']) {
      const answer = await credentials(parlor, from, encodeURIComponent(given));
      assert.notEqual(answer.sessionId, given);
      const verified = await parlor.server.tokens.verify(answer.token);
      assert.equal(verified.sessionId, answer.sessionId);
      assert.equal((await parlor.server.sessions.get(parlor.apiKey, answer.sessionId)).origin, 'demo', given);
    }
    assert.equal(parlor.server.rooms.get(applicationSession), undefined);
  });

  it('an address past its demo token limit gets 429 with Retry-After, whatever X-Forwarded-For says; others are served', async () => {
    const from = '127.0.0.13';
    const { sessionId } = await credentials(parlor, from);
    for (let i = 1; i < 10; i++) {
      const spoofed = { 'X-Forwarded-For': `198.51.100.${i}` };
      assert.equal(
        (await get(parlor.url, `/demo/credentials?session=${sessionId}`, from, spoofed)).status,
        200,
      );
    }
    const over = await get(parlor.url, `/demo/credentials?session=${sessionId}`, from, {
      'X-Forwarded-For': '198.51.100.99',
    });
    assertRateLimited(over, 6, /too many demo tokens from your address; try again in 6 s/);
    assert.equal(over.headers['cache-control'], 'no-store');
    assert.equal((await credentials(parlor, '127.0.0.14', sessionId)).sessionId, sessionId);
  });

  it('an address past its new demo session limit gets 429, and may still join its sessions', async () => {
    const from = '127.0.0.15';
    const made = [];
    for (let i = 0; i < 5; i++) made.push((await credentials(parlor, from)).sessionId);
    assertRateLimited(
      await get(parlor.url, '/demo/credentials', from),
      30,
      /too many new demo sessions from your address/,
    );
    assert.equal((await credentials(parlor, from, made[0])).sessionId, made[0]);
  });

  it('a demo connection gets TURN credentials valid for an hour, an application connection for the configured day', async () => {
    const demo = await credentials(parlor, '127.0.0.16');
    const visitor = await SignalingTestClient.connect(parlor.url, demo.sessionId, demo.token);
    const member = await parlor.connectClient(await createApplicationSession(parlor));
    const now = Math.floor(Date.now() / 1000);
    const lifetimeOf = (client: SignalingTestClient): number => {
      const turn = client.session?.iceServers.find((server) => server.username !== undefined);
      const [expiry, connectionId] = (turn?.username ?? '').split(':');
      assert.equal(connectionId, client.connectionId);
      return Number(expiry) - now;
    };
    const demoLifetime = lifetimeOf(visitor);
    assert.ok(demoLifetime > 3590 && demoLifetime <= 3600, `demo: ${demoLifetime} s`);
    const memberLifetime = lifetimeOf(member);
    assert.ok(memberLifetime > 86_390 && memberLifetime <= 86_400, `application: ${memberLifetime} s`);
    await Promise.all([visitor.close(), member.close()]);
  });
});

describe('the demo, on, under a flood of new sessions', () => {
  let parlor: TestServer;
  before(async () => {
    parlor = await startTestServer({ env: { PARLOR_DEMO: 'true' } });
  });
  after(() => parlor.dispose());

  it('makes at most 30 new demo sessions a minute from all addresses together, then answers 429', async () => {
    const started = performance.now();
    const statuses: number[] = [];
    let refused: Answer | undefined;
    for (let host = 20; host < 27; host++) {
      for (let i = 0; i < 5; i++) {
        const answer = await get(parlor.url, '/demo/credentials', `127.0.0.${host}`);
        statuses.push(answer.status);
        if (answer.status === 429) refused ??= answer;
      }
    }
    assert.ok(refused, 'some were refused');
    assertRateLimited(refused, 2, /too many new demo sessions on this server/);
    const seconds = (performance.now() - started) / 1000;
    const made = await parlor.server.sessions.count(parlor.apiKey, 'demo');
    assert.equal(made, statuses.filter((status) => status === 200).length);
    assert.ok(made <= 30 + Math.ceil(seconds / 2), `${made} sessions in ${seconds} s`);
  });
});

describe('old demo sessions', () => {
  let parlor: TestServer;
  before(async () => {
    parlor = await startTestServer({ env: { PARLOR_DEMO: 'true' } });
  });
  after(() => parlor.dispose());

  it('demo sessions older than a day with nobody in them are deleted at start and periodically; the application sessions and live ones stay', async () => {
    const old = await credentials(parlor, '127.0.0.30');
    const application = await createApplicationSession(parlor);
    const recent = await credentials(parlor, '127.0.0.30');
    age(parlor, [old.sessionId, application], 25);

    parlor = await parlor.restart();
    const { sessions } = parlor.server;
    assert.equal(await sessions.find(old.sessionId), undefined, 'the old demo session was deleted at start');
    assert.equal((await sessions.find(application))?.origin, 'api', 'the application session stays');
    assert.equal((await sessions.find(recent.sessionId))?.origin, 'demo', 'the recent demo session stays');

    const live = await SignalingTestClient.connect(parlor.url, recent.sessionId, recent.token);
    const idle = await credentials(parlor, '127.0.0.30');
    age(parlor, [recent.sessionId, idle.sessionId], 25);
    assert.equal(await parlor.server.demo.purge(), 1);
    assert.equal(await sessions.find(idle.sessionId), undefined, 'the idle one was deleted');
    assert.equal((await sessions.find(recent.sessionId))?.origin, 'demo', 'the one someone is in stays');
    await live.close();
  });
});
