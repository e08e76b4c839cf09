import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { startTestServer, type TestServer } from '@parlor/server/testing';

let parlor: TestServer;
let other: { apiKey: string; apiSecret: string };

before(async () => {
  parlor = await startTestServer();
  other = await parlor.server.projects.create('Other');
});
after(() => parlor.dispose());

function auth(apiKey = parlor.apiKey, apiSecret = parlor.apiSecret): string {
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign({ iss: apiKey, ist: 'project', iat: now, exp: now + 300 }, apiSecret, {
    algorithm: 'HS256',
  });
}

async function createSession(
  form: Record<string, string>,
  headers: Record<string, string> = { 'X-OPENTOK-AUTH': auth(), Accept: 'application/json' },
): Promise<Response> {
  return fetch(`${parlor.url}/session/create`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

async function assertError(response: Response, status: number, message: RegExp): Promise<void> {
  assert.equal(response.status, status);
  assert.equal(response.headers.get('content-type'), 'application/json');
  const body = (await response.json()) as { code: unknown; message: unknown };
  assert.deepEqual(Object.keys(body).sort(), ['code', 'message']);
  assert.equal(body.code, status);
  assert.match(String(body.message), message);
}

describe('GET /health', () => {
  it('answers 200 {"status":"ok"}', async () => {
    const response = await fetch(`${parlor.url}/health`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
  });
});

describe('POST /session/create', () => {
  it('answers JSON with Content-Type exactly application/json when JSON is accepted', async () => {
    const response = await createSession({
      'p2p.preference': 'disabled',
      archiveMode: 'always',
      location: '10.1.1.1',
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json');
    const body = (await response.json()) as Record<string, string>[];
    assert.equal(body.length, 1);
    const [created] = body;
    assert.ok(created);
    assert.match(created.session_id ?? '', /^1_[A-Za-z0-9_-]+$/);
    assert.equal(created.project_id, parlor.apiKey);
    assert.equal(created.partner_id, parlor.apiKey);
    assert.match(created.create_dt ?? '', /^[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d UTC \d{4}$/);
    assert.equal(created.media_server_url, '');
    const stored = await parlor.server.sessions.get(parlor.apiKey, created.session_id ?? '');
    assert.equal(stored.mediaMode, 'routed');
    assert.equal(stored.archiveMode, 'always');
    assert.equal(stored.location, '10.1.1.1');
  });

  it('answers the XML form when the request accepts no JSON, as PHP and Ruby expect', async () => {
    const response = await createSession(
      { 'p2p.preference': 'enabled', api_key: parlor.apiKey },
      { 'X-OPENTOK-AUTH': auth() },
    );
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/xml');
    const xml = await response.text();
    const match =
      /^<\?xml version="1.0" encoding="UTF-8" standalone="yes"\?><sessions><Session><session_id>(1_[A-Za-z0-9_-]+)<\/session_id><partner_id>(\d+)<\/partner_id><create_dt>[^<]+<\/create_dt><\/Session><\/sessions>$/.exec(
        xml,
      );
    assert.ok(match, xml);
    assert.equal(match[2], parlor.apiKey);
    assert.equal((await parlor.server.sessions.get(parlor.apiKey, match[1] ?? '')).mediaMode, 'relayed');
  });

  it('stores every setting: e2ee, archive name and resolution, no location for "" and "null"', async () => {
    for (const location of ['', 'null']) {
      const response = await createSession({
        'p2p.preference': 'disabled',
        archiveMode: 'always',
        archiveName: 'Weekly',
        archiveResolution: '1280x720',
        location,
      });
      const [created] = (await response.json()) as { session_id: string }[];
      const stored = await parlor.server.sessions.get(parlor.apiKey, created?.session_id ?? '');
      assert.deepEqual(
        { ...stored, sessionId: undefined, createdAt: undefined },
        {
          sessionId: undefined,
          createdAt: undefined,
          apiKey: parlor.apiKey,
          origin: 'api',
          mediaMode: 'routed',
          archiveMode: 'always',
          location: null,
          e2ee: false,
          archiveName: 'Weekly',
          archiveResolution: '1280x720',
        },
      );
    }
    const response = await createSession({ 'p2p.preference': 'disabled', e2ee: 'true' });
    const [created] = (await response.json()) as { session_id: string }[];
    assert.equal((await parlor.server.sessions.get(parlor.apiKey, created?.session_id ?? '')).e2ee, true);
  });

  it('takes a JSON body, and an empty JSON body as no options (routed, manual)', async () => {
    for (const body of ['', '{"p2p.preference":"disabled","archiveMode":"manual"}']) {
      const response = await fetch(`${parlor.url}/session/create`, {
        method: 'POST',
        headers: { 'X-OPENTOK-AUTH': auth(), Accept: 'application/json', 'Content-Type': 'application/json' },
        body,
      });
      assert.equal(response.status, 200);
      const [created] = (await response.json()) as { session_id: string }[];
      const stored = await parlor.server.sessions.get(parlor.apiKey, created?.session_id ?? '');
      assert.equal(stored.mediaMode, 'routed');
      assert.equal(stored.archiveMode, 'manual');
    }
  });

  const invalid: [string, Record<string, string>, RegExp][] = [
    [
      'archiveMode always with the relayed media mode',
      { 'p2p.preference': 'enabled', archiveMode: 'always' },
      /routed/,
    ],
    ['a location that is not IPv4', { 'p2p.preference': 'disabled', location: 'example.com' }, /IPv4/],
    ['an IPv6 location', { 'p2p.preference': 'disabled', location: '::1' }, /IPv4/],
    ['e2ee with the relayed media mode', { 'p2p.preference': 'enabled', e2ee: 'true' }, /routed/],
    [
      'e2ee with archiveMode always',
      { 'p2p.preference': 'disabled', archiveMode: 'always', e2ee: 'true' },
      /archived/,
    ],
    ['an unknown p2p.preference', { 'p2p.preference': 'maybe' }, /p2p.preference/],
    ['an unknown archiveMode', { 'p2p.preference': 'disabled', archiveMode: 'sometimes' }, /archiveMode/],
    ['an e2ee that is not a boolean', { 'p2p.preference': 'disabled', e2ee: 'yes' }, /e2ee/],
    [
      'an unknown archiveResolution',
      { 'p2p.preference': 'disabled', archiveResolution: '800x600' },
      /archiveResolution/,
    ],
    [
      'an archiveName over 80 characters',
      { 'p2p.preference': 'disabled', archiveName: 'n'.repeat(81) },
      /archiveName/,
    ],
  ];
  for (const [what, form, message] of invalid) {
    it(`with ${what} is rejected with 400`, async () => {
      await assertError(await createSession(form), 400, message);
    });
  }

  const unauthorised: [string, () => Record<string, string>, RegExp][] = [
    ['no X-OPENTOK-AUTH header', () => ({}), /missing X-OPENTOK-AUTH/],
    [
      'a JWT signed with the wrong secret',
      () => ({ 'X-OPENTOK-AUTH': auth(parlor.apiKey, 'a'.repeat(40)) }),
      /Invalid API key or secret/,
    ],
    [
      'a JWT without exp',
      () => ({ 'X-OPENTOK-AUTH': jwt.sign({ iss: parlor.apiKey, ist: 'project' }, parlor.apiSecret) }),
      /no exp/,
    ],
    [
      'alg none',
      () => ({
        'X-OPENTOK-AUTH': jwt.sign({ iss: parlor.apiKey, exp: Math.floor(Date.now() / 1000) + 60 }, '', {
          algorithm: 'none',
        }),
      }),
      /algorithm none/,
    ],
  ];
  for (const [what, headers, message] of unauthorised) {
    it(`with ${what} is refused with 403`, async () => {
      await assertError(
        await createSession({ 'p2p.preference': 'enabled' }, { Accept: 'application/json', ...headers() }),
        403,
        message,
      );
    });
  }
});

describe('GET /v2/project/{apiKey}/session/{sessionId}/stream', () => {
  async function sessionOf(apiKey: string, apiSecret: string): Promise<string> {
    const response = await createSession(
      { 'p2p.preference': 'disabled' },
      { 'X-OPENTOK-AUTH': auth(apiKey, apiSecret), Accept: 'application/json' },
    );
    const [created] = (await response.json()) as { session_id: string }[];
    return created?.session_id ?? '';
  }

  it('lists no streams for a known session of the project', async () => {
    const sessionId = await sessionOf(parlor.apiKey, parlor.apiSecret);
    const response = await fetch(`${parlor.url}/v2/project/${parlor.apiKey}/session/${sessionId}/stream`, {
      headers: { 'X-OPENTOK-AUTH': auth() },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json');
    assert.deepEqual(await response.json(), { count: 0, items: [] });
  });

  it('answers 404 for an unknown session and for a session of another project', async () => {
    const foreign = await sessionOf(other.apiKey, other.apiSecret);
    for (const sessionId of ['1_MX4xMjM0NTY3OH5-MTcwMDAwMDAwMDAwMH5hYmN-fg', foreign]) {
      const response = await fetch(`${parlor.url}/v2/project/${parlor.apiKey}/session/${sessionId}/stream`, {
        headers: { 'X-OPENTOK-AUTH': auth() },
      });
      await assertError(response, 404, /Session not found/);
    }
  });

  it("answers 403 when the credentials are not that project's", async () => {
    const sessionId = await sessionOf(parlor.apiKey, parlor.apiSecret);
    const response = await fetch(`${parlor.url}/v2/project/${parlor.apiKey}/session/${sessionId}/stream`, {
      headers: { 'X-OPENTOK-AUTH': auth(other.apiKey, other.apiSecret) },
    });
    await assertError(response, 403, /not those of this project/);
  });
});

describe('GET /v2/project/{apiKey}/session/{sessionId}/media', () => {
  it("shows a session's media mode with no router counters while nobody is connected, and 404 for an unknown one", async () => {
    const created = await createSession({ 'p2p.preference': 'disabled' });
    const [session] = (await created.json()) as { session_id: string }[];
    const response = await fetch(
      `${parlor.url}/v2/project/${parlor.apiKey}/session/${session?.session_id ?? ''}/media`,
      {
        headers: { 'X-OPENTOK-AUTH': auth() },
      },
    );
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      sessionId: session?.session_id,
      mediaMode: 'routed',
      streams: [],
      publications: [],
      subscriptions: [],
    });
    const unknown = await fetch(
      `${parlor.url}/v2/project/${parlor.apiKey}/session/1_MX4xMjM0NTY3OH5-MTcwMDAwMDAwMDAwMH5hYmN-fg/media`,
      {
        headers: { 'X-OPENTOK-AUTH': auth() },
      },
    );
    await assertError(unknown, 404, /Session not found/);
  });
});

describe('the REST API', () => {
  it('answers unknown routes with a 404 error body', async () => {
    await assertError(await fetch(`${parlor.url}/v2/nothing`), 404, /Not found/);
  });

  it('answers an unparsable JSON body with 400', async () => {
    const response = await fetch(`${parlor.url}/session/create`, {
      method: 'POST',
      headers: { 'X-OPENTOK-AUTH': auth(), 'Content-Type': 'application/json' },
      body: '{"p2p.preference":',
    });
    await assertError(response, 400, /JSON/);
  });

  it('keeps sessions across a restart', async () => {
    const response = await createSession({ 'p2p.preference': 'disabled', location: '192.0.2.7' });
    const [created] = (await response.json()) as { session_id: string }[];
    const sessionId = created?.session_id ?? '';
    parlor = await parlor.restart();
    const stored = await parlor.server.sessions.get(parlor.apiKey, sessionId);
    assert.equal(stored.location, '192.0.2.7');
    assert.equal(stored.mediaMode, 'routed');
    const listed = await fetch(`${parlor.url}/v2/project/${parlor.apiKey}/session/${sessionId}/stream`, {
      headers: { 'X-OPENTOK-AUTH': auth() },
    });
    assert.equal(listed.status, 200);
  });
});
