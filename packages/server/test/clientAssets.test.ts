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
