import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '@parlor/server/testing';

let parlor: TestServer;

before(async () => {
  parlor = await startTestServer();
});
after(() => parlor.dispose());

describe('GET /v2/js/opentok.js', () => {
  for (const name of ['opentok.js', 'opentok.min.js', 'opentok.esm.js']) {
    it(`serves ${name} as JavaScript to any origin, cached five minutes, revalidated by ETag`, async () => {
      const response = await fetch(`${parlor.url}/v2/js/${name}`, {
        headers: { Origin: 'http://app.example' },
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'text/javascript; charset=utf-8');
      assert.equal(response.headers.get('cache-control'), 'public, max-age=300');
      assert.equal(response.headers.get('access-control-allow-origin'), '*');
      const etag = response.headers.get('etag');
      assert.match(etag ?? '', /^"[A-Za-z0-9_-]+"$/);
      const body = await response.text();
      if (name === 'opentok.esm.js') assert.match(body, /export\s*\{/);
      else assert.match(body, /\.OT\s*=/);

      const again = await fetch(`${parlor.url}/v2/js/${name}`, { headers: { 'If-None-Match': etag ?? '' } });
      assert.equal(again.status, 304);
      assert.equal(await again.text(), '');
    });
  }
});

describe('the demo', () => {
  it('serves its page at / with the SDK from /v2/js/opentok.js', async () => {
    const response = await fetch(`${parlor.url}/`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(await response.text(), /<script src="\/v2\/js\/opentok.js"><\/script>/);
    for (const path of ['/demo/demo.js', '/demo/demo.css']) {
      assert.equal((await fetch(`${parlor.url}${path}`)).status, 200, path);
    }
  });

  it('creates a relayed session of the default project with a publisher token for it', async () => {
    const response = await fetch(`${parlor.url}/demo/credentials`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const { apiKey, sessionId, token } = (await response.json()) as Record<string, string>;
    assert.equal(apiKey, parlor.apiKey);
    assert.equal(parlor.server.sessions.get(parlor.apiKey, sessionId ?? '').mediaMode, 'relayed');
    const verified = parlor.server.tokens.verify(token ?? '');
    assert.deepEqual(
      { format: verified.format, sessionId: verified.sessionId, role: verified.role },
      { format: 'jwt', sessionId, role: 'publisher' },
    );
  });

  it('reuses the relayed session it is given, and makes a new one for an unknown or routed session', async () => {
    const first = (await (await fetch(`${parlor.url}/demo/credentials`)).json()) as { sessionId: string };
    const same = (await (
      await fetch(`${parlor.url}/demo/credentials?session=${first.sessionId}`)
    ).json()) as {
      sessionId: string;
    };
    assert.equal(same.sessionId, first.sessionId);

    const routed = parlor.server.sessions.create(parlor.apiKey, {
      mediaMode: 'routed',
      archiveMode: 'manual',
      location: null,
      e2ee: false,
      archiveName: null,
      archiveResolution: null,
    });
    for (const given of ['1_unknown', routed.sessionId]) {
      const answer = (await (await fetch(`${parlor.url}/demo/credentials?session=${given}`)).json()) as {
        sessionId: string;
      };
      assert.notEqual(answer.sessionId, given);
      assert.equal(parlor.server.sessions.get(parlor.apiKey, answer.sessionId).mediaMode, 'relayed');
    }
  });
});
