import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectionInfoPath } from '@parlor/protocol';
import { startTestServer, type TestServer } from '@parlor/server/testing';

// GET /v2/session/{id}/connection-info on a node on its own: it hosts every session.

let parlor: TestServer;
before(async () => {
  parlor = await startTestServer();
});
after(async () => {
  await parlor.dispose();
});

function ask(sessionId: string, token?: string): Promise<Response> {
  return fetch(`${parlor.url}${connectionInfoPath(sessionId)}`, {
    headers: token === undefined ? {} : { 'X-TB-TOKEN-AUTH': token, Origin: 'http://app.example' },
  });
}

describe('connection info on a single node', () => {
  it('answers the client with its token that the node asked hosts the session', async () => {
    const sessionId = await parlor.createSession();
    const response = await ask(sessionId, parlor.token(sessionId));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('access-control-allow-origin'), '*');
    assert.deepEqual(await response.json(), {
      sessionId,
      nodeId: null,
      region: null,
      apiUrl: null,
      signalingUrl: null,
      iceServers: [],
    });
  });

  it('refuses a missing or invalid token with 403, another session with 400, an unknown session with 404', async () => {
    const sessionId = await parlor.createSession();
    const other = await parlor.createSession();
    assert.equal((await ask(sessionId)).status, 403);
    assert.equal((await ask(sessionId, 'T1==nonsense')).status, 403);
    assert.equal((await ask(sessionId, parlor.token(other))).status, 400);
    const unknown = `1_${'A'.repeat(60)}`;
    const answer = await ask(unknown, parlor.token(unknown));
    assert.equal(answer.status, 404);
    assert.deepEqual(Object.keys((await answer.json()) as object), ['code', 'message']);
  });
});
