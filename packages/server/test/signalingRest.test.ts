import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import OpenTok from 'opentok';
import { startTestServer, type SignalingTestClient, type TestServer } from '@parlor/server/testing';

// The REST counterparts of signaling (contracts/server-api.md §7): raw, with the exact status
// codes the Java and Python SDKs compare, and through the official `opentok` package.

let parlor: TestServer;
let opentok: OpenTok;

before(async () => {
  parlor = await startTestServer();
  opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
});
after(() => parlor.dispose());

function auth(): string {
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign({ iss: parlor.apiKey, ist: 'project', iat: now, exp: now + 300 }, parlor.apiSecret);
}

/** Calls the REST API under `/v2/project/{apiKey}/session/{sessionId}`. */
function rest(method: string, sessionId: string, path = '', body?: unknown): Promise<Response> {
  return fetch(`${parlor.url}/v2/project/${parlor.apiKey}/session/${sessionId}${path}`, {
    method,
    headers: {
      'X-OPENTOK-AUTH': auth(),
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function assertError(response: Response, status: number, message: RegExp): Promise<void> {
  assert.equal(response.status, status);
  const body = (await response.json()) as { code: number; message: string };
  assert.equal(body.code, status);
  assert.match(body.message, message);
}

async function assertEmpty(response: Response, status: number): Promise<void> {
  assert.equal(response.status, status, await response.clone().text());
  assert.equal(await response.text(), '');
}

const camera = { name: 'Camera', hasAudio: true, hasVideo: true } as const;

async function closeAll(...clients: SignalingTestClient[]): Promise<void> {
  await Promise.all(clients.map((client) => client.close()));
}

describe('REST signals', () => {
  it('POST /session/{sid}/signal answers 204 and reaches every client, from null', async () => {
    const { sessionId, alice, bob } = await parlor.liveSession();
    await assertEmpty(await rest('POST', sessionId, '/signal', { type: 'news', data: 'hello' }), 204);
    for (const client of [alice, bob]) {
      assert.deepEqual(await client.nextEvent('signal'), { from: null, type: 'news', data: 'hello' });
    }
    await closeAll(alice, bob);
  });

  it('POST /session/{sid}/connection/{cid}/signal answers 204 and reaches only that client', async () => {
    const { sessionId, alice, bob } = await parlor.liveSession();
    await assertEmpty(
      await rest('POST', sessionId, `/connection/${bob.connectionId}/signal`, { data: 'x' }),
      204,
    );
    assert.deepEqual(await bob.nextEvent('signal'), { from: null, type: '', data: 'x' });
    await alice.request('ping', {});
    assert.deepEqual(alice.untakenEvents, []);
    await closeAll(alice, bob);
  });

  it('answers 400 for a bad type or data, 413 for too large, 404 for an absent client or unknown session', async () => {
    const { sessionId, alice, bob } = await parlor.liveSession();
    await assertError(
      await rest('POST', sessionId, '/signal', { type: 'a b' }),
      400,
      /type may contain only/,
    );
    await assertError(await rest('POST', sessionId, '/signal', { data: 42 }), 400, /data must be a string/);
    await assertError(await rest('POST', sessionId, '/signal', ['x']), 400, /JSON object/);
    await assertError(await rest('POST', sessionId, '/signal', { type: 't'.repeat(129) }), 413, /128 bytes/);
    await assertError(
      await rest('POST', sessionId, '/signal', { data: 'd'.repeat(8193) }),
      413,
      /8192 bytes/,
    );
    await assertError(
      await rest('POST', sessionId, '/connection/gone/signal', { data: 'x' }),
      404,
      /Connection/,
    );
    const unknown = '1_MX4xMjM0NTY3OH5-MTcwMDAwMDAwMDAwMH5hYmN-fg';
    await assertError(await rest('POST', unknown, '/signal', { data: 'x' }), 404, /Session not found/);
    await bob.request('ping', {});
    assert.deepEqual(bob.untakenEvents, []);
    await closeAll(alice, bob);
  });

  it('answers 204 to a signal to all in a session nobody is connected to, and 404 to one client', async () => {
    const sessionId = await parlor.createSession();
    await assertEmpty(await rest('POST', sessionId, '/signal', { data: 'anyone?' }), 204);
    await assertError(
      await rest('POST', sessionId, '/connection/x/signal', { data: 'x' }),
      404,
      /Connection/,
    );
  });
});

describe('REST connections', () => {
  it('GET /session/{sid}/connection lists the connections as the Java SDK reads them', async () => {
    const { sessionId, alice, bob } = await parlor.liveSession();
    const response = await rest('GET', sessionId, '/connection');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json');
    const body = (await response.json()) as { items: { connectionId: string }[] };
    assert.deepEqual(body, {
      count: 2,
      projectId: parlor.apiKey,
      sessionId,
      items: [alice, bob].map((client) => ({
        connectionId: client.connectionId,
        connectionState: 'Connected',
        createdAt: client.session?.connection.creationTime,
      })),
    });
    await closeAll(alice, bob);
    const empty = await rest('GET', sessionId, '/connection');
    assert.deepEqual(await empty.json(), { count: 0, projectId: parlor.apiKey, sessionId, items: [] });
  });

  it('DELETE /session/{sid}/connection/{cid} answers 204 and disconnects the client; then 404', async () => {
    const { sessionId, alice, bob, streamId } = await parlor.liveSession();
    await assertEmpty(await rest('DELETE', sessionId, `/connection/${alice.connectionId}`), 204);
    assert.deepEqual(await alice.nextEvent('sessionDisconnected'), { reason: 'forceDisconnected' });
    assert.equal((await alice.closed).code, 1000);
    const ended = await bob.nextEvent('streamDestroyed');
    assert.deepEqual([ended.stream.streamId, ended.reason], [streamId, 'forceDisconnected']);
    assert.equal((await bob.nextEvent('connectionDestroyed')).reason, 'forceDisconnected');
    await assertError(
      await rest('DELETE', sessionId, `/connection/${alice.connectionId}`),
      404,
      /Connection/,
    );
    await bob.close();
  });
});

describe('REST streams', () => {
  it('GET /session/{sid}/stream lists the live streams with id, videoType, name and layout classes', async () => {
    const { sessionId, alice, bob, streamId } = await parlor.liveSession();
    const screen = (await bob.request('publish', { ...camera, name: 'Slides', videoType: 'screen' })).stream;
    const response = await rest('GET', sessionId, '/stream');
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      count: 2,
      items: [
        { id: streamId, videoType: 'camera', name: 'Camera', layoutClassList: ['focus'] },
        { id: screen.streamId, videoType: 'screen', name: 'Slides', layoutClassList: [] },
      ],
    });
    await closeAll(alice, bob);
  });

  it('GET /session/{sid}/stream/{streamId} answers the stream, or 404', async () => {
    const { sessionId, alice, bob, streamId } = await parlor.liveSession();
    const response = await rest('GET', sessionId, `/stream/${streamId}`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      id: streamId,
      videoType: 'camera',
      name: 'Camera',
      layoutClassList: ['focus'],
    });
    await assertError(await rest('GET', sessionId, '/stream/gone'), 404, /Stream not found/);
    await closeAll(alice, bob);
  });

  it('PUT /session/{sid}/stream sets the layout classes with 200, or changes nothing on an unknown stream (400)', async () => {
    const { sessionId, alice, bob, streamId } = await parlor.liveSession();
    const items = [{ id: streamId, layoutClassList: ['full', 'main'] }];
    assert.equal((await rest('PUT', sessionId, '/stream', { items })).status, 200);
    const stream = (await (await rest('GET', sessionId, `/stream/${streamId}`)).json()) as object;
    assert.deepEqual(stream, {
      id: streamId,
      videoType: 'camera',
      name: 'Camera',
      layoutClassList: ['full', 'main'],
    });

    const withUnknown = [
      { id: streamId, layoutClassList: ['x'] },
      { id: 'gone', layoutClassList: [] },
    ];
    await assertError(await rest('PUT', sessionId, '/stream', { items: withUnknown }), 400, /no stream gone/);
    await assertError(await rest('PUT', sessionId, '/stream', { items: [{ id: streamId }] }), 400, /items/);
    assert.deepEqual(parlor.server.rooms.get(sessionId)?.stream(streamId)?.layoutClassList, ['full', 'main']);
    await closeAll(alice, bob);
  });
});

describe('REST force mute', () => {
  it('POST /session/{sid}/stream/{streamId}/mute answers 200 and mutes the stream; 404 for an unknown one', async () => {
    const { sessionId, alice, bob, streamId } = await parlor.liveSession();
    const response = await rest('POST', sessionId, `/stream/${streamId}/mute`, {});
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { id: string }).id, parlor.apiKey);
    assert.deepEqual(await alice.nextEvent('muteForced'), { streamId });
    assert.equal((await bob.nextEvent('streamPropertyChanged')).newValue, false);
    await assertError(await rest('POST', sessionId, '/stream/gone/mute'), 404, /Stream not found/);
    await closeAll(alice, bob);
  });

  it('POST /session/{sid}/mute with active true mutes all but the excluded, and with false lifts it', async () => {
    const { sessionId, alice, bob, streamId } = await parlor.liveSession();
    const bobStream = (await bob.request('publish', camera)).stream.streamId;
    const mute = await rest('POST', sessionId, '/mute', { active: true, excludedStreamIds: [bobStream] });
    assert.equal(mute.status, 200);
    assert.deepEqual(await alice.nextEvent('muteForced'), { streamId });
    assert.deepEqual(await bob.nextEvent('forceMuteChanged'), { active: true });
    assert.equal(parlor.server.rooms.get(sessionId)?.stream(bobStream)?.info.hasAudio, true);
    assert.equal((await rest('POST', sessionId, '/mute', { active: false })).status, 200);
    assert.deepEqual(await alice.nextEvent('forceMuteChanged'), { active: true });
    assert.deepEqual(await alice.nextEvent('forceMuteChanged'), { active: false });
    await assertError(await rest('POST', sessionId, '/mute', {}), 400, /active/);
    await assertError(
      await rest('POST', sessionId, '/mute', { active: true, excludedStreamIds: 'x' }),
      400,
      /excluded/,
    );
    await closeAll(alice, bob);
  });
});

describe('REST force mute from the Ruby SDK', () => {
  /** POSTs this exact body to `/mute`, as opentok-ruby's `force_mute_session` does. */
  function rubyMute(sessionId: string, body: string): Promise<Response> {
    return fetch(`${parlor.url}/v2/project/${parlor.apiKey}/session/${sessionId}/mute`, {
      method: 'POST',
      headers: {
        'X-OPENTOK-AUTH': auth(),
        'Content-Type': 'application/json',
        'User-Agent': 'OpenTok-Ruby-SDK/4.9.0',
      },
      body,
    });
  }

  it('force_mute_all and disable_force_mute, which send "active" as the string "true" or "false", are not refused with 400', async () => {
    const { sessionId, alice, bob, streamId } = await parlor.liveSession();
    const bobStream = (await bob.request('publish', camera)).stream.streamId;
    // Exactly what opentok-ruby 4.x sends for force_mute_all(id, excluded_streams: [bobStream]).
    const mute = await rubyMute(sessionId, `{"excludedStreams":["${bobStream}"],"active":"true"}`);
    assert.equal(mute.status, 200, await mute.clone().text());
    assert.deepEqual(await alice.nextEvent('muteForced'), { streamId });
    assert.deepEqual(await bob.nextEvent('forceMuteChanged'), { active: true });
    assert.equal(parlor.server.rooms.get(sessionId)?.stream(bobStream)?.info.hasAudio, true, 'excluded');
    // disable_force_mute(id).
    assert.equal((await rubyMute(sessionId, '{"active":"false"}')).status, 200);
    assert.deepEqual(await bob.nextEvent('forceMuteChanged'), { active: false });
    for (const junk of ['{"active":"yes"}', '{"active":1}', '{"active":"TRUE "}', '{"active":null}']) {
      await assertError(await rubyMute(sessionId, junk), 400, /active/);
    }
    await assertError(await rubyMute(sessionId, '{"active":"true","excludedStreams":"x"}'), 400, /excluded/);
    await closeAll(alice, bob);
  });
});

describe('REST from browser pages', () => {
  it('answers CORS preflights and allows any origin', async () => {
    const sessionId = await parlor.createSession();
    const preflight = await fetch(`${parlor.url}/v2/project/${parlor.apiKey}/session/${sessionId}/signal`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'x-opentok-auth,content-type',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /x-opentok-auth/);
    const response = await rest('GET', sessionId, '/stream');
    assert.equal(response.headers.get('access-control-allow-origin'), '*');
  });
});

describe('the official opentok SDK', () => {
  it('signals all clients and one client, and gets a SignalError for an absent one', async () => {
    const { sessionId, alice, bob } = await parlor.liveSession();
    const signal = promisify(opentok.signal.bind(opentok));
    await signal(sessionId, null, { type: 'all', data: 'everyone' });
    assert.deepEqual(await alice.nextEvent('signal'), { from: null, type: 'all', data: 'everyone' });
    await signal(sessionId, bob.connectionId, { type: 'one', data: 'you' });
    assert.equal((await bob.nextEvent('signal', (event) => event.type === 'one')).data, 'you');
    await assert.rejects(signal(sessionId, 'gone', { data: 'x' }), /Session or Connection not found/);
    await closeAll(alice, bob);
  });

  it('force-disconnects a client, and gets a ForceDisconnectError for an absent one', async () => {
    const { sessionId, alice, bob } = await parlor.liveSession();
    const forceDisconnect = promisify(opentok.forceDisconnect.bind(opentok));
    await forceDisconnect(sessionId, bob.connectionId);
    assert.equal((await bob.closed).code, 1000);
    assert.equal((await alice.nextEvent('connectionDestroyed')).reason, 'forceDisconnected');
    await assert.rejects(forceDisconnect(sessionId, bob.connectionId), /Session or Connection not found/);
    await alice.close();
  });

  it('lists streams with their properties', async () => {
    const { sessionId, alice, bob, streamId } = await parlor.liveSession();
    const streams = await promisify(opentok.listStreams.bind(opentok))(sessionId);
    assert.deepEqual(JSON.parse(JSON.stringify(streams)), [
      { id: streamId, videoType: 'camera', name: 'Camera', layoutClassList: ['focus'] },
    ]);
    await closeAll(alice, bob);
  });

  it('fails to get a stream from a correct answer, as opentok 2.23.2 parses it twice (server-api.md §10.1)', async () => {
    const { sessionId, alice, bob, streamId } = await parlor.liveSession();
    await assert.rejects(
      promisify(opentok.getStream.bind(opentok))(sessionId, streamId),
      /is not valid JSON/,
    );
    await closeAll(alice, bob);
  });

  it('force-mutes a stream, mutes all, lifts it, and sets stream class lists', async () => {
    const { sessionId, alice, bob, streamId } = await parlor.liveSession();
    await promisify(opentok.forceMuteStream.bind(opentok))(sessionId, streamId);
    assert.deepEqual(await alice.nextEvent('muteForced'), { streamId });
    await promisify(opentok.forceMuteAll.bind(opentok))(sessionId, { excludedStreamIds: [] });
    assert.deepEqual(await bob.nextEvent('forceMuteChanged'), { active: true });
    await promisify(opentok.disableForceMute.bind(opentok))(sessionId);
    assert.deepEqual(await bob.nextEvent('forceMuteChanged'), { active: false });
    await promisify(opentok.setStreamClassLists.bind(opentok))(sessionId, [
      { id: streamId, layoutClassList: ['pip'] },
    ]);
    assert.deepEqual(parlor.server.rooms.get(sessionId)?.stream(streamId)?.layoutClassList, ['pip']);
    await closeAll(alice, bob);
  });
});
