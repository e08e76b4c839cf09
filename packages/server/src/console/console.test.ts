import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenTok from 'opentok';
import { main, type CliIo } from '../cli.js';
import type { InspectorRecord } from '../store/InspectorRepository.js';
import { parseSessionSettings } from '../sessions/sessionSettings.js';
import { Store } from '../store/Store.js';
import {
  archiveRecord,
  SignalingRequestError,
  SignalingTestClient,
  startTestServer,
  verifyCallback,
  waitFor,
  type TestServer,
} from '../testing.js';

/** A browser of the console: keeps its login cookie and CSRF token. */
class ConsoleClient {
  cookie = '';
  csrfToken = '';
  constructor(readonly url: string) {}

  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      redirect: 'manual',
      headers: {
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...(this.csrfToken ? { 'x-csrf-token': this.csrfToken } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const setCookie = response.headers.get('set-cookie');
    if (setCookie) this.cookie = setCookie.split(';')[0] ?? '';
    return response;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.request(method, `/console/api${path}`, body);
    const text = await response.text();
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
    return (text === '' ? null : JSON.parse(text)) as T;
  }

  async login(name: string, password: string): Promise<Response> {
    const response = await this.request('POST', '/console/api/login', { name, password });
    if (response.ok) this.csrfToken = ((await response.json()) as { csrfToken: string }).csrfToken;
    return response;
  }
}

const password = 'correct horse battery';

describe('the console login', () => {
  let parlor: TestServer;
  before(async () => {
    parlor = await startTestServer();
  });
  after(async () => {
    await parlor.dispose();
  });

  it('keeps its pages and API behind a login: a redirect and 401', async () => {
    const browser = new ConsoleClient(parlor.url);
    const page = await browser.request('GET', '/console');
    assert.equal(page.status, 302);
    assert.equal(page.headers.get('location'), '/console/login');
    assert.equal((await browser.request('GET', '/console/api/projects')).status, 401);
    assert.equal((await browser.request('GET', '/console/login')).status, 200);
  });

  it('makes the first operator once with the setup link, in an HttpOnly SameSite cookie', async () => {
    const link = parlor.server.consoleSetupUrl ?? '';
    assert.match(link, /\/console\/setup#[\w-]{20,}$/);
    const token = link.split('#')[1];
    const browser = new ConsoleClient(parlor.url);
    const wrong = await browser.request('POST', '/console/api/setup', {
      token: 'nope',
      name: 'ann',
      password,
    });
    assert.equal(wrong.status, 403);
    const short = await browser.request('POST', '/console/api/setup', {
      token,
      name: 'ann',
      password: 'short',
    });
    assert.equal(short.status, 400);
    const made = await browser.request('POST', '/console/api/setup', { token, name: 'ann', password });
    assert.equal(made.status, 200);
    const cookie = made.headers.get('set-cookie') ?? '';
    assert.match(
      cookie,
      /^parlor_console=[\w-]{40,}; Path=\/console; Max-Age=43200; HttpOnly; SameSite=Strict$/,
    );
    const again = await new ConsoleClient(parlor.url).request('POST', '/console/api/setup', {
      token,
      name: 'bob',
      password,
    });
    assert.equal(again.status, 403);
    assert.equal((await browser.request('GET', '/console')).status, 200);
  });

  it('refuses a wrong password, a form post, a change without the CSRF token, and a cookie after logout', async () => {
    const browser = new ConsoleClient(parlor.url);
    assert.equal((await browser.login('ann', 'wrong password!')).status, 401);
    assert.equal((await browser.login('nobody', password)).status, 401);
    const form = await fetch(`${parlor.url}/console/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `name=ann&password=${encodeURIComponent(password)}`,
    });
    assert.equal(form.status, 400);
    assert.equal((await browser.login('ann', password)).status, 200);
    const csrf = browser.csrfToken;
    browser.csrfToken = '';
    const unsigned = await browser.request('POST', '/console/api/projects', { name: 'X' });
    assert.equal(unsigned.status, 403);
    browser.csrfToken = 'x'.repeat(csrf.length);
    assert.equal((await browser.request('POST', '/console/api/projects', { name: 'X' })).status, 403);
    browser.csrfToken = csrf;
    assert.equal((await browser.request('POST', '/console/api/projects', { name: 'X' })).status, 200);
    const replayed = browser.cookie;
    assert.equal((await browser.request('POST', '/console/api/logout')).status, 204);
    browser.cookie = replayed;
    assert.equal((await browser.request('GET', '/console/api/me')).status, 401);
    assert.equal((await browser.request('GET', '/console')).status, 302);
  });

  it('limits login attempts per address: past five a minute, even the right password gets 429', async () => {
    const browser = new ConsoleClient(parlor.url);
    let refusedAt = 0;
    for (let attempt = 1; attempt <= 8 && refusedAt === 0; attempt++) {
      const response = await browser.login('ann', `guess number ${attempt}`);
      if (response.status === 429) {
        refusedAt = attempt;
        assert.match(response.headers.get('retry-after') ?? '', /^\d+$/);
      } else assert.equal(response.status, 401);
    }
    assert.ok(refusedAt > 0 && refusedAt <= 6, `refused at attempt ${refusedAt}`);
    assert.equal((await browser.login('ann', password)).status, 429);
  });
});

describe('parlor admin create', () => {
  it('adds an operator with the password read from standard input, who can then log in, and makes, lists and revokes their API token', async () => {
    const parlor = await startTestServer();
    try {
      let out = '';
      let err = '';
      const io: CliIo = {
        out: (text) => (out += text),
        err: (text) => (err += text),
        readLine: async () => password,
      };
      const code = await main(
        ['admin', 'create', '--name', 'carol', '--data-dir', parlor.dataDir],
        { PARLOR_TURN: 'off' },
        io,
      );
      assert.equal(code, 0, err);
      assert.match(out, /Operator carol can log in/);
      const tooShort: CliIo = { ...io, readLine: async () => 'short' };
      assert.equal(
        await main(['admin', 'create', '--name', 'dan', '--data-dir', parlor.dataDir], {}, tooShort),
        2,
      );
      assert.equal((await new ConsoleClient(parlor.url).login('carol', password)).status, 200);
      out = '';
      const tokenArgs = ['admin', 'token', '--name', 'carol', '--label', 'ci', '--data-dir', parlor.dataDir];
      assert.equal(await main(tokenArgs, {}, io), 0, err);
      const projects = await fetch(`${parlor.url}/console/api/projects`, {
        headers: { authorization: `Bearer ${out.trim()}` },
      });
      assert.equal(projects.status, 200);
      const apiToken = out.trim();
      const nobody = ['admin', 'token', '--name', 'nobody', '--label', 'ci', '--data-dir', parlor.dataDir];
      assert.equal(await main(nobody, {}, io), 2);
      out = '';
      assert.equal(await main(['admin', 'tokens', '--data-dir', parlor.dataDir], {}, io), 0, err);
      const tokenId =
        new RegExp(`^([0-9a-f]{16})\\s+carol\\s+\\S+Z\\s+\\S+Z\\s+ci$`, 'm').exec(out)?.[1] ?? '';
      assert.ok(tokenId, out);
      assert.match(out, /^TOKEN ID\s+OPERATOR\s+CREATED\s+LAST USED\s+LABEL$/m);
      assert.equal(
        await main(['admin', 'revoke-token', tokenId, '--data-dir', parlor.dataDir], {}, io),
        0,
        err,
      );
      const revoked = await fetch(`${parlor.url}/console/api/projects`, {
        headers: { authorization: `Bearer ${apiToken}` },
      });
      assert.equal(revoked.status, 401);
      assert.equal(await main(['admin', 'revoke-token', tokenId, '--data-dir', parlor.dataDir], {}, io), 2);
      assert.match(err, /Console API token not found/);
      out = '';
      assert.equal(await main(['admin', 'tokens', '--data-dir', parlor.dataDir], {}, io), 0);
      assert.equal(out, 'No API tokens.\n');
      // The setup link was printed while there was no operator; a restart prints none.
      const restarted = await parlor.restart();
      assert.equal(restarted.server.consoleSetupUrl, null);
      await restarted.close();
    } finally {
      await parlor.dispose();
    }
  });
});

interface ProjectJson {
  apiKey: string;
  name: string;
  isDefault: boolean;
  suspended: boolean;
}

describe('the console API', () => {
  let parlor: TestServer;
  let browser: ConsoleClient;
  before(async () => {
    parlor = await startTestServer();
    browser = new ConsoleClient(parlor.url);
    const token = (parlor.server.consoleSetupUrl ?? '').split('#')[1];
    const made = await browser.request('POST', '/console/api/setup', { token, name: 'ann', password });
    browser.csrfToken = ((await made.json()) as { csrfToken: string }).csrfToken;
  });
  after(async () => {
    await parlor.dispose();
  });

  it('lists, creates and renames projects, and reveals a secret only on a change request', async () => {
    const created = await browser.json<ProjectJson>('POST', '/projects', { name: 'Shop' });
    assert.deepEqual([created.name, created.isDefault, created.suspended], ['Shop', false, false]);
    assert.equal('apiSecret' in created, false);
    await browser.json('PATCH', `/projects/${created.apiKey}`, { name: 'Shop 2' });
    const listed = await browser.json<ProjectJson[]>('GET', '/projects');
    assert.deepEqual(
      listed.map((p) => p.name),
      ['Default project', 'Shop 2'],
    );
    const { apiSecret } = await browser.json<{ apiSecret: string }>(
      'POST',
      `/projects/${parlor.apiKey}/secret`,
    );
    assert.equal(apiSecret, parlor.apiSecret);
    assert.equal((await browser.request('POST', '/console/api/projects/999/secret')).status, 404);
    assert.equal((await browser.request('POST', '/console/api/projects', { name: '' })).status, 400);
  });

  it('creates an application whose private key is given once', async () => {
    const created = await browser.json<{ applicationId: string; privateKey: string }>(
      'POST',
      '/applications',
      {
        name: 'Vonage app',
      },
    );
    assert.match(created.privateKey, /^-----BEGIN PRIVATE KEY-----/);
    const listed = await browser.json<object[]>('GET', '/applications');
    assert.deepEqual(
      listed.map((a) => Object.keys(a).sort()),
      [['applicationId', 'createdAt', 'name']],
    );
  });

  it('creates a test session and a token that connects, and shows the session live', async () => {
    const session = await browser.json<{ sessionId: string; mediaMode: string }>(
      'POST',
      `/projects/${parlor.apiKey}/sessions`,
      { mediaMode: 'routed', archiveMode: 'manual', location: '10.1.2.3' },
    );
    assert.equal(session.mediaMode, 'routed');
    const refused = await browser.request('POST', `/console/api/projects/${parlor.apiKey}/sessions`, {
      mediaMode: 'relayed',
      archiveMode: 'always',
    });
    assert.equal(refused.status, 400);
    const { token } = await browser.json<{ token: string }>('POST', `/projects/${parlor.apiKey}/tokens`, {
      sessionId: session.sessionId,
      role: 'moderator',
      data: 'name=Ann',
      expireTime: Math.floor(Date.now() / 1000) + 3600,
    });
    const badRole = await browser.request('POST', `/console/api/projects/${parlor.apiKey}/tokens`, {
      sessionId: session.sessionId,
      role: 'king',
    });
    assert.equal(badRole.status, 400);
    const verified = await parlor.server.tokens.verify(token);
    assert.deepEqual([verified.role, verified.connectionData], ['moderator', 'name=Ann']);
    const client = await SignalingTestClient.connect(parlor.url, session.sessionId, token);
    try {
      const recent = await browser.json<{ sessionId: string; live: { connections: number } | null }[]>(
        'GET',
        `/projects/${parlor.apiKey}/sessions`,
      );
      const [latest] = recent;
      assert.ok(latest);
      assert.equal(latest.sessionId, session.sessionId);
      assert.deepEqual(latest.live, { connections: 1, streams: 0, nodeId: null });
    } finally {
      await client.close();
    }
    assert.deepEqual(await browser.json('GET', `/projects/${parlor.apiKey}/archives`), []);
    const gone = await browser.request('DELETE', `/console/api/projects/${parlor.apiKey}/archives/nope`);
    assert.equal(gone.status, 404);
  });

  it("opens the Inspector's data of the project's sessions to the operator, and to no one without the login", async () => {
    const { sessionId, alice, bob } = await parlor.liveSession();
    await Promise.all([alice.close(), bob.close()]);
    await parlor.server.inspector.idle();
    const base = `/projects/${parlor.apiKey}`;
    const recent = await browser.json<{ items: { sessionId: string }[] }>(
      'GET',
      `${base}/inspector/sessions`,
    );
    assert.ok(recent.items.some((item) => item.sessionId === sessionId));
    const timeline = await browser.json<{ connections: unknown[] }>(
      'GET',
      `${base}/sessions/${sessionId}/inspector`,
    );
    assert.equal(timeline.connections.length, 2);
    // `?samples` thins a long meeting's series as the REST route does.
    const start = Date.now();
    const scores = Array.from({ length: 40 }, (_, i): InspectorRecord => ({
      at: start + i * 2000,
      source: 'client',
      kind: 'score',
      type: 'subscriber',
      connectionId: null,
      streamId: null,
      data: { audio: i % 2 === 0 ? 1 : 5 },
    }));
    parlor.server.inspector.add(sessionId, parlor.apiKey, scores);
    await parlor.server.inspector.idle();
    type Scores = { scores: unknown[] };
    const whole = await browser.json<Scores>('GET', `${base}/sessions/${sessionId}/inspector`);
    const thinned = await browser.json<Scores>('GET', `${base}/sessions/${sessionId}/inspector?samples=8`);
    const viaRest = (await (
      await parlor.rest('GET', `/session/${sessionId}/inspector?samples=8`)
    ).json()) as Scores;
    assert.ok(whole.scores.length >= 40, `${whole.scores.length} score changes`);
    assert.ok(thinned.scores.length >= 1 && thinned.scores.length <= 8, `${thinned.scores.length} kept`);
    assert.deepEqual(thinned.scores, viaRest.scores);
    const zero = await browser.request(
      'GET',
      `/console/api${base}/sessions/${sessionId}/inspector?samples=0`,
    );
    assert.equal(zero.status, 400);
    const other = await browser.json<ProjectJson>('POST', '/projects', { name: 'Other' });
    const elsewhere = await browser.request(
      'GET',
      `/console/api/projects/${other.apiKey}/sessions/${sessionId}/inspector`,
    );
    assert.equal(elsewhere.status, 404);
    const stranger = await fetch(`${parlor.url}/console/api${base}/sessions/${sessionId}/inspector`);
    assert.equal(stranger.status, 401);
  });

  it('sets callback URLs, sends a signed test event and shows its delivery', async () => {
    const received: { body: string; headers: IncomingHttpHeaders }[] = [];
    let failing = true;
    const receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ body, headers: request.headers });
        response.statusCode = failing ? 500 : 200;
        response.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    try {
      const base = `/projects/${parlor.apiKey}/callbacks`;
      assert.deepEqual(await browser.json('PUT', `${base}/sip`, { url }), { url });
      assert.equal((await browser.request('PUT', `/console/api${base}/sip`, { url: 'ftp://x' })).status, 400);
      assert.equal((await browser.request('POST', `/console/api${base}/session/test`)).status, 400);
      assert.equal((await browser.request('POST', `/console/api${base}/sip/test`)).status, 202);
      const history = async (): Promise<
        { state: string; result: string; attempts: number; event: string }[]
      > => (await browser.json<{ deliveries: never[] }>('GET', base)).deliveries;
      await waitFor(
        async () => (await history())[0]?.state === 'retrying',
        'the test event to be retried',
        20_000,
      );
      assert.deepEqual(
        (await history()).map(({ event, result }) => [event, result]),
        [['test', 'HTTP 500']],
      );
      failing = false;
      await waitFor(
        async () => (await history())[0]?.state === 'delivered',
        'the test event to be delivered',
        20_000,
      );
      const [delivered] = await history();
      assert.ok(delivered);
      assert.equal(delivered.result, 'HTTP 200');
      assert.ok(delivered.attempts >= 2);
      const last = received.at(-1);
      const { signatureSecret } = (await (await parlor.rest('GET', '/signature-secret')).json()) as {
        signatureSecret: string;
      };
      verifyCallback(last?.headers.authorization ?? '', last?.body ?? '', signatureSecret);
      assert.deepEqual((await browser.json<{ urls: object }>('GET', base)).urls, {
        session: null,
        archive: null,
        sip: url,
      });
      assert.deepEqual(await browser.json('PUT', `${base}/sip`, { url: null }), { url: null });
    } finally {
      receiver.closeAllConnections();
      receiver.close();
    }
  });

  it('rotates a secret and suspends a project: the official SDK and clients are refused, then let in again', async () => {
    const { apiKey } = await browser.json<ProjectJson>('POST', '/projects', { name: 'Rotated' });
    const { apiSecret: first } = await browser.json<{ apiSecret: string }>(
      'POST',
      `/projects/${apiKey}/secret`,
    );
    const createSession = (secret: string): Promise<{ sessionId: string }> =>
      new Promise((resolve, reject) => {
        new OpenTok(apiKey, secret, { apiUrl: parlor.url }).createSession(
          { mediaMode: 'routed' },
          (error, made) => {
            if (error || !made) reject(error ?? new Error('no session'));
            else resolve(made);
          },
        );
      });
    const session = await createSession(first);
    const oldToken = new OpenTok(apiKey, first).generateToken(session.sessionId);
    const { apiSecret: second } = await browser.json<{ apiSecret: string }>(
      'POST',
      `/projects/${apiKey}/secret/rotate`,
    );
    assert.notEqual(second, first);
    await assert.rejects(createSession(first), /403|Authentication|Invalid/i);
    assert.equal(await parlor.tokenRefusal(oldToken), 'bad-signature');
    const newToken = new OpenTok(apiKey, second).generateToken(session.sessionId);
    assert.equal(await parlor.tokenRefusal(newToken), null);
    await createSession(second);

    const client = await SignalingTestClient.connect(parlor.url, session.sessionId, newToken);
    const suspended = await browser.json<ProjectJson>('PATCH', `/projects/${apiKey}`, { suspended: true });
    assert.equal(suspended.suspended, true);
    await client.closed;
    const rest = await fetch(`${parlor.url}/v2/project/${apiKey}/session/${session.sessionId}/connection`, {
      headers: { 'X-OPENTOK-AUTH': restJwt(apiKey, second) },
    });
    assert.equal(rest.status, 403);
    await assert.rejects(createSession(second), /403|Authentication|Invalid/i);
    await assert.rejects(
      SignalingTestClient.connect(parlor.url, session.sessionId, newToken),
      SignalingRequestError,
    );
    await browser.json('PATCH', `/projects/${apiKey}`, { suspended: false });
    await createSession(second);
    const back = await SignalingTestClient.connect(parlor.url, session.sessionId, newToken);
    await back.close();
  });

  it('parlor archive delete has the running server delete an available archive and its file, as REST does, and refuses what it cannot delete', async () => {
    const session = await parlor.server.sessions.create(
      parlor.apiKey,
      parseSessionSettings({ mediaMode: 'routed' }),
    );
    const record = archiveRecord({ apiKey: parlor.apiKey, sessionId: session.sessionId, size: 4 });
    const { archiveId } = record;
    const folder = join(parlor.dataDir, 'archives', archiveId);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'archive.mp4'), 'mp4!');
    const store = await Store.open({ engine: 'sqlite', file: join(parlor.dataDir, 'parlor.sqlite') });
    try {
      await store.archives.insert({ ...record, outputKey: `${archiveId}/archive.mp4` });
    } finally {
      await store.close();
    }
    const parlorCli = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
      let out = '';
      let err = '';
      const io: CliIo = { out: (text) => (out += text), err: (text) => (err += text) };
      const code = await main([...args, '--data-dir', parlor.dataDir], {}, io);
      return { code, out, err };
    };
    const deleted = await parlorCli('archive', 'delete', archiveId);
    assert.equal(deleted.code, 0, deleted.err);
    assert.equal(deleted.out, `Archive ${archiveId} deleted.\n`);
    assert.equal(existsSync(folder), false);
    const status = (await (await parlor.rest('GET', `/archive/${archiveId}`)).json()) as { status: string };
    assert.equal(status.status, 'deleted');
    const again = await parlorCli('archive', 'delete', archiveId);
    assert.equal(again.code, 1);
    assert.match(again.err, /the running server refused: Only an archive whose status is available/);
    const unknown = await parlorCli('archive', 'delete', 'nope');
    assert.deepEqual([unknown.code, unknown.err], [2, 'parlor archive delete: no archive nope\n']);
    assert.equal((await parlorCli('archive', 'delete')).code, 2);
  });

  it('gives API tokens shown once and kept hashed, that act without a cookie or CSRF token until revoked', async () => {
    const made = await browser.json<{ tokenId: string; token: string; name: string; label: string }>(
      'POST',
      '/tokens',
      { label: 'deploys' },
    );
    assert.match(made.token, /^parlor_op_[\w-]{43}$/);
    assert.deepEqual([made.name, made.label], ['ann', 'deploys']);
    const listed = await browser.json<Array<Record<string, unknown>>>('GET', '/tokens');
    const entry = listed.find((each) => each.tokenId === made.tokenId);
    assert.ok(entry);
    assert.equal(JSON.stringify(listed).includes(made.token), false);
    assert.equal(JSON.stringify(listed).includes('Hash'), false);
    const bearer = (method: string, path: string, body?: unknown, token = made.token): Promise<Response> =>
      fetch(`${parlor.url}/console/api${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const created = await bearer('POST', '/projects', { name: 'Automated' });
    assert.equal(created.status, 200);
    const { apiKey } = (await created.json()) as ProjectJson;
    const session = await bearer('POST', `/projects/${apiKey}/sessions`, { mediaMode: 'routed' });
    const { sessionId } = (await session.json()) as { sessionId: string };
    const token = await bearer('POST', `/projects/${apiKey}/tokens`, { sessionId, role: 'moderator' });
    assert.equal(await parlor.tokenRefusal(((await token.json()) as { token: string }).token), null);
    assert.equal((await bearer('GET', '/me')).status, 200);
    const wrong = await bearer('GET', '/projects', undefined, `${made.token.slice(0, -2)}xx`);
    assert.equal(wrong.status, 401);
    assert.equal((await bearer('GET', '/projects', undefined, 'parlor_op_')).status, 401);
    // A wrong token is refused even beside a good cookie.
    const mixed = await browser.request('GET', '/console/api/projects', undefined, {
      authorization: 'Bearer nope',
    });
    assert.equal(mixed.status, 401);
    const used = await browser.json<Array<{ tokenId: string; lastUsedAt: number | null }>>('GET', '/tokens');
    assert.ok((used.find((each) => each.tokenId === made.tokenId)?.lastUsedAt ?? 0) > 0);
    assert.equal((await bearer('DELETE', `/tokens/${made.tokenId}`)).status, 204);
    assert.equal((await bearer('GET', '/projects')).status, 401);
    assert.equal((await browser.request('DELETE', `/console/api/tokens/${made.tokenId}`)).status, 404);
    const unlabelled = await browser.request('POST', '/console/api/tokens', { label: '' });
    assert.equal(unlabelled.status, 400);
  });
});

function restJwt(apiKey: string, secret: string): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ iss: apiKey, ist: 'project', iat: now, exp: now + 300 })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}
