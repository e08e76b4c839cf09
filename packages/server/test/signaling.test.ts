import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { roles, signalingProtocolVersion, type UpdateSubscriptionParams } from '@parlor/protocol';
import {
  SignalingRequestError,
  SignalingTestClient,
  startTestServer,
  type TestServer,
} from '@parlor/server/testing';

// The signaling protocol over a real WebSocket: connecting, publishing, subscribing, signals
// and moderation, as clients of each role see them.

let parlor: TestServer;

before(async () => {
  parlor = await startTestServer({
    env: { PARLOR_ICE_SERVERS: 'stun:stun.example.test:3478,turn:turn.example.test:3478' },
  });
});
after(() => parlor.dispose());

/** Asserts that the promise is refused with this OpenTok code, and the message matches. */
async function refused(promise: Promise<unknown>, code: number, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof SignalingRequestError, String(error));
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

/** Connects with a raw token and asserts the refusal. */
async function refusedConnect(
  token: string,
  sessionId: string,
  code: number,
  message: RegExp,
): Promise<void> {
  const client = await SignalingTestClient.open(parlor.url);
  await refused(
    client.request('connect', { protocolVersion: signalingProtocolVersion, sessionId, token }),
    code,
    message,
  );
  await client.close();
}

const camera = { name: 'Camera', hasAudio: true, hasVideo: true, videoType: 'camera' } as const;

describe('connecting over signaling', () => {
  it('lets every role connect, with capabilities of 1s and 0s as OpenTok.js shows them', async () => {
    const sessionId = await parlor.createSession();
    const expected = {
      publisher: { publish: 1, subscribe: 1, forceDisconnect: 0, forceUnpublish: 0, forceMute: 0 },
      subscriber: { publish: 0, subscribe: 1, forceDisconnect: 0, forceUnpublish: 0, forceMute: 0 },
      publisheronly: { publish: 1, subscribe: 0, forceDisconnect: 0, forceUnpublish: 0, forceMute: 0 },
      moderator: { publish: 1, subscribe: 1, forceDisconnect: 1, forceUnpublish: 1, forceMute: 1 },
    };
    for (const role of roles) {
      const client = await parlor.connectClient(sessionId, { role, data: `role=${role}` });
      assert.deepEqual(client.session?.capabilities, expected[role], role);
      assert.equal(client.session.connection.data, `role=${role}`);
      await client.close();
    }
  });

  it('answers with a snapshot: own connection, every connection and stream, media mode and ICE servers', async () => {
    const sessionId = await parlor.createSession({ mediaMode: 'routed' });
    const alice = await parlor.connectClient(sessionId, { data: 'alice' });
    const { stream } = await alice.request('publish', camera);
    const bob = await parlor.connectClient(sessionId, { data: 'bob' });
    const snapshot = bob.session;
    assert.ok(snapshot);
    assert.equal(snapshot.sessionId, sessionId);
    assert.equal(snapshot.mediaMode, 'routed');
    assert.match(snapshot.connection.connectionId, /^[0-9a-f-]{36}$/);
    assert.ok(Math.abs(snapshot.connection.creationTime - Date.now()) < 5000);
    assert.deepEqual(
      snapshot.connections.map((connection) => connection.data),
      ['alice', 'bob'],
    );
    assert.deepEqual(snapshot.streams, [stream]);
    assert.deepEqual(snapshot.iceServers, [
      { urls: 'stun:stun.example.test:3478' },
      { urls: 'turn:turn.example.test:3478' },
    ]);
    assert.equal(snapshot.resume.graceMs, 20_000);
    assert.ok(snapshot.resume.secret.length >= 32);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('refuses a token with a wrong signature, expired, tampered or not a token at all with 1004', async () => {
    const sessionId = await parlor.createSession();
    const now = Math.floor(Date.now() / 1000);
    const valid = parlor.token(sessionId);
    const [header, , signature] = valid.split('.');
    const moderatorClaims = { ...(jwt.decode(valid) as object), role: 'moderator' };
    const tokens = {
      'wrong secret': jwt.sign(jwt.decode(valid) as object, 'f'.repeat(40)),
      expired: parlor.token(sessionId, { expireTime: now - 10 }),
      tampered: `${header}.${Buffer.from(JSON.stringify(moderatorClaims)).toString('base64url')}.${signature}`,
      garbage: 'not-a-token',
    };
    for (const [what, token] of Object.entries(tokens)) {
      await refusedConnect(token, sessionId, 1004, /Invalid token/).catch((error: unknown) => {
        throw new Error(`${what}: ${String(error)}`);
      });
    }
  });

  it('a client token issued five years in the future is refused with 1004, JWT and T1 alike', async () => {
    const sessionId = await parlor.createSession();
    const issued = Math.floor(Date.now() / 1000) + 5 * 365 * 86400;
    const claims = { iss: parlor.apiKey, ist: 'project', iat: issued, exp: issued + 29 * 86400 };
    const futureJwt = jwt.sign(
      { ...claims, session_id: sessionId, nonce: 1, role: 'moderator', scope: 'session.connect' },
      parlor.apiSecret,
    );
    const data = `session_id=${sessionId}&create_time=${issued}&nonce=0.5&role=moderator`;
    const sig = createHmac('sha1', parlor.apiSecret).update(data).digest('hex');
    const futureT1 = `T1==${Buffer.from(`partner_id=${parlor.apiKey}&sig=${sig}:${data}`).toString('base64')}`;
    for (const token of [futureJwt, futureT1]) {
      await refusedConnect(token, sessionId, 1004, /issued in the future/);
    }
    assert.equal(parlor.server.rooms.get(sessionId), undefined, 'nobody joined the session');
  });

  it("refuses a token signed by the project for another project's session with 1004", async () => {
    const other = await parlor.server.projects.create('Other');
    const foreign = (
      await parlor.server.sessions.create(other.apiKey, {
        mediaMode: 'relayed',
        archiveMode: 'manual',
        location: null,
        e2ee: false,
        archiveName: null,
        archiveResolution: null,
      })
    ).sessionId;
    await refusedConnect(parlor.token(foreign), foreign, 1004, /another project/);
  });

  it("refuses a session ID that is not the token's, unknown or malformed with 1005", async () => {
    const sessionId = await parlor.createSession();
    const otherSession = await parlor.createSession();
    await refusedConnect(parlor.token(sessionId), otherSession, 1005, /another session/);
    const unknown = '1_MX4xMjM0NTY3OH5-MTcwMDAwMDAwMDAwMH5hYmN-fg';
    await refusedConnect(parlor.token(unknown), unknown, 1005, /Session not found/);
    await refusedConnect(parlor.token(sessionId), 'nonsense', 1005, /not a session ID/);
  });

  it('refuses another protocol version, and a second connect on the same socket, with 1006', async () => {
    const sessionId = await parlor.createSession();
    const client = await SignalingTestClient.open(parlor.url);
    const token = parlor.token(sessionId);
    await refused(client.request('connect', { protocolVersion: 99, sessionId, token }), 1006, /version 99/);
    await client.request('connect', { protocolVersion: signalingProtocolVersion, sessionId, token });
    await refused(
      client.request('connect', { protocolVersion: signalingProtocolVersion, sessionId, token }),
      1006,
      /already connected/,
    );
    await client.close();
  });

  it("refuses an API key that is not the token's with 1004", async () => {
    const sessionId = await parlor.createSession();
    const client = await SignalingTestClient.open(parlor.url);
    const params = { protocolVersion: signalingProtocolVersion, sessionId, token: parlor.token(sessionId) };
    await refused(client.request('connect', { ...params, apiKey: '999' }), 1004, /another API key/);
    await client.request('connect', { ...params, apiKey: parlor.apiKey });
    await client.close();
  });

  it('tells each of three clients of the other two, and of the streams they publish', async () => {
    const sessionId = await parlor.createSession();
    const clients = [];
    for (const name of ['a', 'b', 'c']) clients.push(await parlor.connectClient(sessionId, { data: name }));
    for (const client of clients)
      await client.request('publish', { ...camera, name: client.session?.connection.data });
    for (const [index, client] of clients.entries()) {
      // Broadcasts reach their recipients in slices; an answer comes after the frames before it.
      await client.request('ping', {});
      const joined = client.untakenEvents.filter((frame) => frame.event === 'connectionCreated');
      const published = client.untakenEvents.filter((frame) => frame.event === 'streamCreated');
      assert.equal(joined.length, 2 - index, `client ${index} saw ${joined.length} joins`);
      assert.equal(published.length, 2, `client ${index} saw ${published.length} streams`);
      const names = published.map((frame) => frame.data.stream.name);
      assert.ok(
        !names.includes(client.session?.connection.data ?? ''),
        'a client is not told of its own stream',
      );
    }
    await Promise.all(clients.map((client) => client.close()));
  });

  it('shows a client that disconnects leaving with clientDisconnected, and its streams ending so', async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    const bob = await parlor.connectClient(sessionId);
    const { stream } = await bob.request('publish', camera);
    await bob.request('disconnect', {});
    assert.equal((await bob.closed).code, 1000);
    assert.deepEqual(await alice.nextEvent('streamDestroyed'), { stream, reason: 'clientDisconnected' });
    const left = await alice.nextEvent('connectionDestroyed');
    assert.equal(left.connection.connectionId, bob.connectionId);
    assert.equal(left.reason, 'clientDisconnected');
    await alice.close();
  });

  it('counts a socket closed with 1000 or 1001 (a page unloading) as a client disconnecting', async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    for (const code of [1000, 1001]) {
      const bob = await parlor.connectClient(sessionId);
      await bob.close(code);
      const left = await alice.nextEvent('connectionDestroyed');
      assert.deepEqual([left.connection.connectionId, left.reason], [bob.connectionId, 'clientDisconnected']);
    }
    await alice.close();
  });

  it('opens a room with the first client and closes it when the last one leaves', async () => {
    const sessionId = await parlor.createSession();
    const opened: string[] = [];
    const onNewRoom = (room: { sessionId: string }): void => {
      opened.push(room.sessionId);
    };
    parlor.server.rooms.observer.on('newRoom', onNewRoom);
    assert.equal(parlor.server.rooms.get(sessionId), undefined);
    const alice = await parlor.connectClient(sessionId);
    const bob = await parlor.connectClient(sessionId);
    parlor.server.rooms.observer.off('newRoom', onNewRoom);
    const room = parlor.server.rooms.get(sessionId);
    assert.ok(room);
    assert.deepEqual(opened, [sessionId]);
    assert.equal(room.connections.length, 2);
    const closed = new Promise((resolve) => {
      room.observer.once('close', () => {
        resolve(true);
      });
    });
    await alice.request('disconnect', {});
    assert.equal(room.closed, false);
    await bob.request('disconnect', {});
    assert.equal(await closed, true);
    assert.equal(parlor.server.rooms.get(sessionId), undefined);
  });

  it('accepts sockets from pages of any origin: the token is the authentication', async () => {
    const sessionId = await parlor.createSession();
    const client = await SignalingTestClient.connect(parlor.url, sessionId, parlor.token(sessionId), {
      origin: 'https://somewhere-else.example',
    });
    assert.equal(client.session?.sessionId, sessionId);
    await client.close();
  });

  it('answers ping at any time, before connecting too', async () => {
    const client = await SignalingTestClient.open(parlor.url);
    assert.deepEqual(await client.request('ping', {}), {});
    await client.close();
  });
});

describe('publishing', () => {
  it('creates a stream with the properties given, shown to the others with streamCreated', async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    const bob = await parlor.connectClient(sessionId);
    const published = await alice.request('publish', {
      name: 'Screen',
      hasAudio: false,
      hasVideo: true,
      videoType: 'screen',
      videoDimensions: { width: 1280, height: 720 },
      frameRate: 15,
    });
    assert.equal(published.muteForced, false);
    const { stream } = published;
    assert.match(stream.streamId, /^[0-9a-f-]{36}$/);
    assert.equal(stream.connectionId, alice.connectionId);
    assert.deepEqual(
      { ...stream, streamId: undefined, connectionId: undefined, creationTime: undefined },
      {
        streamId: undefined,
        connectionId: undefined,
        creationTime: undefined,
        name: 'Screen',
        hasAudio: false,
        hasVideo: true,
        videoType: 'screen',
        videoDimensions: { width: 1280, height: 720 },
        frameRate: 15,
      },
    );
    assert.deepEqual(await bob.nextEvent('streamCreated'), { stream });
    await Promise.all([alice.close(), bob.close()]);
  });

  it('ends a stream on unpublish with clientDisconnected, or mediaStopped when the media went away', async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    const bob = await parlor.connectClient(sessionId);
    const first = (await alice.request('publish', camera)).stream;
    const second = (await alice.request('publish', { ...camera, videoType: 'screen' })).stream;
    await alice.request('unpublish', { streamId: first.streamId });
    await alice.request('unpublish', { streamId: second.streamId, reason: 'mediaStopped' });
    assert.deepEqual(await bob.nextEvent('streamDestroyed'), { stream: first, reason: 'clientDisconnected' });
    assert.deepEqual(await bob.nextEvent('streamDestroyed'), { stream: second, reason: 'mediaStopped' });
    assert.equal(alice.untakenEvents.length, 1, 'the publisher hears only of bob joining');
    await refused(alice.request('unpublish', { streamId: first.streamId }), 404, /Stream not found/);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('sends one streamPropertyChanged per change to the others, and none for a value that did not change', async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    const bob = await parlor.connectClient(sessionId);
    const { stream } = await alice.request('publish', {
      ...camera,
      videoDimensions: { width: 640, height: 480 },
    });
    const { streamId } = stream;
    await alice.request('updateStream', { streamId, hasAudio: false, hasVideo: true });
    await alice.request('updateStream', { streamId, videoDimensions: { width: 320, height: 240 } });
    await alice.request('updateStream', { streamId, videoDimensions: { height: 240, width: 320 } });
    await bob.request('ping', {});
    await bob.nextEvent('streamCreated');
    const changes = bob.untakenEvents.map((frame) => frame.data);
    assert.deepEqual(changes, [
      { streamId, changedProperty: 'hasAudio', oldValue: true, newValue: false },
      {
        streamId,
        changedProperty: 'videoDimensions',
        oldValue: { width: 640, height: 480 },
        newValue: { width: 320, height: 240 },
      },
    ]);
    const listed = parlor.server.rooms.get(sessionId)?.stream(streamId)?.info;
    assert.equal(listed?.hasAudio, false);
    await Promise.all([alice.close(), bob.close()]);
  });

  it("passes a quality reason with hasVideo on to the others, and keeps the stream's last quality change", async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    const bob = await parlor.connectClient(sessionId);
    const { streamId } = (await alice.request('publish', camera)).stream;
    await bob.nextEvent('streamCreated');
    const room = parlor.server.rooms.get(sessionId);
    assert.ok(room);
    const lastChange = () => room.stream(streamId)?.lastVideoQualityChange;
    assert.equal(lastChange(), null);
    const before = Date.now();
    await alice.request('updateStream', { streamId, hasVideo: false, videoReason: 'quality' });
    assert.deepEqual(await bob.nextEvent('streamPropertyChanged'), {
      streamId,
      changedProperty: 'hasVideo',
      oldValue: true,
      newValue: false,
      reason: 'quality',
    });
    const change = lastChange();
    assert.equal(change?.hasVideo, false);
    assert.ok(change.atMs >= before);
    await alice.request('updateStream', { streamId, hasVideo: true });
    assert.deepEqual(await bob.nextEvent('streamPropertyChanged'), {
      streamId,
      changedProperty: 'hasVideo',
      oldValue: false,
      newValue: true,
    });
    assert.equal(lastChange(), change, 'the user turning video on is no quality change');
    await Promise.all([alice.close(), bob.close()]);
  });

  it('refuses to publish for a subscriber token with 1500', async () => {
    const sessionId = await parlor.createSession();
    const viewer = await parlor.connectClient(sessionId, { role: 'subscriber' });
    await refused(viewer.request('publish', camera), 1500, /subscriber token cannot publish/);
    assert.equal(parlor.server.rooms.get(sessionId)?.streams.length, 0);
    await viewer.close();
  });

  it("refuses to unpublish or update another client's stream with 404", async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    const mallory = await parlor.connectClient(sessionId);
    const { stream } = await alice.request('publish', camera);
    await refused(mallory.request('unpublish', { streamId: stream.streamId }), 404);
    await refused(mallory.request('updateStream', { streamId: stream.streamId, hasAudio: false }), 404);
    assert.equal(parlor.server.rooms.get(sessionId)?.stream(stream.streamId)?.info.hasAudio, true);
    await Promise.all([alice.close(), mallory.close()]);
  });
});

describe('subscribing in a relayed session', () => {
  it('pairs subscriber and publisher and relays offer, answer and ICE candidates verbatim', async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    const bob = await parlor.connectClient(sessionId);
    const { stream } = await alice.request('publish', camera);
    const { streamId } = stream;
    const { subscriptionId } = await bob.request('subscribe', { streamId });
    assert.deepEqual(await alice.nextEvent('subscriptionCreated'), {
      subscriptionId,
      streamId,
      subscriber: bob.connectionId,
    });

    const offer = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n';
    await alice.request('offer', { subscriptionId, sdp: offer });
    assert.deepEqual(await bob.nextEvent('offer'), {
      subscriptionId,
      streamId,
      from: alice.connectionId,
      sdp: offer,
    });
    await bob.request('answer', { subscriptionId, sdp: 'answer sdp' });
    assert.deepEqual(await alice.nextEvent('answer'), {
      subscriptionId,
      streamId,
      from: bob.connectionId,
      sdp: 'answer sdp',
    });
    const candidate = {
      candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host',
      sdpMid: '0',
      sdpMLineIndex: 0,
      usernameFragment: 'abcd',
    };
    await bob.request('iceCandidate', { subscriptionId, candidate });
    assert.deepEqual(await alice.nextEvent('iceCandidate'), {
      subscriptionId,
      streamId,
      from: bob.connectionId,
      candidate,
    });
    await Promise.all([alice.close(), bob.close()]);
  });

  it('tells the publisher of an unsubscribe, and the subscriber of an unpublish', async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    const bob = await parlor.connectClient(sessionId);
    const { streamId } = (await alice.request('publish', camera)).stream;
    const first = await bob.request('subscribe', { streamId });
    await bob.request('unsubscribe', first);
    assert.deepEqual(await alice.nextEvent('subscriptionDestroyed'), { ...first, streamId });
    const second = await bob.request('subscribe', { streamId });
    await alice.request('unpublish', { streamId });
    assert.deepEqual(await bob.nextEvent('subscriptionDestroyed'), { ...second, streamId });
    await refused(bob.request('offer', { ...second, sdp: 'late' }), 404, /Subscription not found/);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('refuses a publisheronly token, an unknown stream and an own stream with 1501', async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    const broadcaster = await parlor.connectClient(sessionId, { role: 'publisheronly' });
    const { streamId } = (await alice.request('publish', camera)).stream;
    await refused(
      broadcaster.request('subscribe', { streamId }),
      1501,
      /publisheronly token cannot subscribe/,
    );
    await refused(alice.request('subscribe', { streamId: 'no-such-stream' }), 1501, /no stream/);
    await refused(alice.request('subscribe', { streamId }), 1501, /its own stream/);
    await Promise.all([alice.close(), broadcaster.close()]);
  });

  it('refuses to relay for a client that is not an end of the subscription, with 404', async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    const bob = await parlor.connectClient(sessionId);
    const eve = await parlor.connectClient(sessionId);
    const { streamId } = (await alice.request('publish', camera)).stream;
    const { subscriptionId } = await bob.request('subscribe', { streamId });
    await refused(eve.request('offer', { subscriptionId, sdp: 'evil' }), 404);
    await refused(eve.request('unsubscribe', { subscriptionId }), 404);
    await bob.request('ping', {});
    assert.equal(
      bob.untakenEvents.some((frame) => frame.event === 'offer'),
      false,
    );
    await Promise.all([alice.close(), bob.close(), eve.close()]);
  });
});

describe('video preferences of a subscription', () => {
  it('are given with subscribe and changed with updateSubscription, in routed and relayed sessions alike', async () => {
    for (const mediaMode of ['routed', 'relayed'] as const) {
      const sessionId = await parlor.createSession({ mediaMode });
      const alice = await parlor.connectClient(sessionId);
      const bob = await parlor.connectClient(sessionId);
      const { streamId } = (await alice.request('publish', camera)).stream;
      const { subscriptionId } = await bob.request('subscribe', {
        streamId,
        preferredResolution: { width: 320, height: 240 },
        preferredFrameRate: 15,
      });
      await bob.request('updateSubscription', { subscriptionId, preferredFrameRate: null });
      await bob.request('updateSubscription', {
        subscriptionId,
        preferredResolution: null,
        preferredFrameRate: 7,
      });
      await bob.request('updateSubscription', { subscriptionId });
      await Promise.all([alice.close(), bob.close()]);
    }
  });

  it('refuse malformed preferences with 1011, naming the field', async () => {
    const sessionId = await parlor.createSession({ mediaMode: 'routed' });
    const alice = await parlor.connectClient(sessionId);
    const bob = await parlor.connectClient(sessionId);
    const { streamId } = (await alice.request('publish', camera)).stream;
    await refused(
      bob.request('subscribe', { streamId, preferredFrameRate: 'fast' as unknown as number }),
      1011,
      /\/preferredFrameRate/,
    );
    const { subscriptionId } = await bob.request('subscribe', { streamId });
    for (const [bad, field] of [
      [{ preferredFrameRate: 0 }, /\/preferredFrameRate/],
      [{ preferredResolution: { width: -1, height: 240 } }, /\/preferredResolution/],
      [{ preferredResolution: 'auto' }, /\/preferredResolution/],
      [{ preferredResolution: { width: 320 } }, /\/preferredResolution/],
      [{ preferredBitrate: 1 }, /\/preferredBitrate/],
    ] as const) {
      await refused(
        bob.request('updateSubscription', { subscriptionId, ...bad } as UpdateSubscriptionParams),
        1011,
        field,
      );
    }
    await refused(bob.request('updateSubscription', {} as UpdateSubscriptionParams), 1011, /subscriptionId/);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('can be changed by the subscriber only: for anyone else, the publisher too, the subscription is not found (404)', async () => {
    for (const mediaMode of ['routed', 'relayed'] as const) {
      const sessionId = await parlor.createSession({ mediaMode });
      const alice = await parlor.connectClient(sessionId);
      const bob = await parlor.connectClient(sessionId);
      const eve = await parlor.connectClient(sessionId);
      const { streamId } = (await alice.request('publish', camera)).stream;
      const { subscriptionId } = await bob.request('subscribe', { streamId });
      const change = { subscriptionId, preferredFrameRate: 1 };
      await refused(eve.request('updateSubscription', change), 404, /Subscription not found/);
      await refused(alice.request('updateSubscription', change), 404, /Subscription not found/);
      await refused(
        bob.request('updateSubscription', { ...change, subscriptionId: 'no-such-subscription' }),
        404,
      );
      if (mediaMode === 'routed') {
        // Alice's own subscription toward the router is not one whose video she receives.
        const upstream = await alice.nextEvent('subscriptionCreated');
        await refused(
          alice.request('updateSubscription', { ...change, subscriptionId: upstream.subscriptionId }),
          404,
        );
      }
      await Promise.all([alice.close(), bob.close(), eve.close()]);
    }
  });
});

describe('signals', () => {
  it('reach every connection, the sender included, when they name no recipient', async () => {
    const sessionId = await parlor.createSession();
    const clients = [
      await parlor.connectClient(sessionId),
      await parlor.connectClient(sessionId),
      await parlor.connectClient(sessionId, { role: 'publisheronly' }),
    ];
    const [alice] = clients;
    assert.ok(alice);
    await alice.request('signal', { type: 'chat', data: 'hello' });
    for (const client of clients) {
      assert.deepEqual(await client.nextEvent('signal'), {
        from: alice.connectionId,
        type: 'chat',
        data: 'hello',
      });
    }
    await Promise.all(clients.map((client) => client.close()));
  });

  it('reach only the recipient when they name one, with an empty type and data by default', async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    const bob = await parlor.connectClient(sessionId);
    const carol = await parlor.connectClient(sessionId);
    await alice.request('signal', { to: bob.connectionId });
    assert.deepEqual(await bob.nextEvent('signal'), { from: alice.connectionId, type: '', data: '' });
    await Promise.all([alice.request('ping', {}), carol.request('ping', {})]);
    assert.equal(
      alice.untakenEvents.some((frame) => frame.event === 'signal'),
      false,
    );
    assert.equal(
      carol.untakenEvents.some((frame) => frame.event === 'signal'),
      false,
    );
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });

  it('arrive in the order each sender sent them', async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    const bob = await parlor.connectClient(sessionId);
    const sent = Array.from({ length: 60 }, (_, index) => String(index));
    await Promise.all(
      sent.map((data, index) => (index % 2 ? alice : bob).request('signal', { type: 'n', data })),
    );
    const received = [];
    for (let index = 0; index < sent.length; index += 1) received.push(await bob.nextEvent('signal'));
    const fromAlice = received
      .filter((signal) => signal.from === alice.connectionId)
      .map((signal) => signal.data);
    const fromBob = received
      .filter((signal) => signal.from === bob.connectionId)
      .map((signal) => signal.data);
    assert.deepEqual(
      fromAlice,
      sent.filter((_, index) => index % 2),
    );
    assert.deepEqual(
      fromBob,
      sent.filter((_, index) => !(index % 2)),
    );
    await Promise.all([alice.close(), bob.close()]);
  });

  it('take a type of 128 bytes and data of 8 kB, and refuse more with 413', async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    await alice.request('signal', { type: 'a'.repeat(128), data: 'é'.repeat(4096) });
    assert.equal((await alice.nextEvent('signal')).data.length, 4096);
    await refused(alice.request('signal', { type: 'a'.repeat(129) }), 413, /type exceeds 128 bytes/);
    await refused(alice.request('signal', { data: 'é'.repeat(4096) + 'x' }), 413, /data exceeds 8192 bytes/);
    await alice.close();
  });

  it('refuse a type with other characters than letters, digits, -, _ and ~ with 400', async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    await alice.request('signal', { type: 'Az09-_~' });
    await refused(alice.request('signal', { type: 'chat message' }), 400, /type may contain only/);
    await alice.close();
  });

  it('refuse a recipient that is not connected with 404', async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    await refused(alice.request('signal', { to: 'gone', data: 'x' }), 404, /Connection not found/);
    await alice.close();
  });

  it('refuse a publisheronly sender with 403', async () => {
    const sessionId = await parlor.createSession();
    const broadcaster = await parlor.connectClient(sessionId, { role: 'publisheronly' });
    await refused(broadcaster.request('signal', { data: 'x' }), 403, /publisheronly token cannot signal/);
    await broadcaster.close();
  });
});

describe('moderation from a client', () => {
  it('force-disconnects a client: it is told and its socket closes, the others see forceDisconnected', async () => {
    const sessionId = await parlor.createSession();
    const moderator = await parlor.connectClient(sessionId, { role: 'moderator' });
    const bob = await parlor.connectClient(sessionId);
    const { stream } = await bob.request('publish', camera);
    await moderator.request('forceDisconnect', { connectionId: bob.connectionId });
    assert.deepEqual(await bob.nextEvent('sessionDisconnected'), { reason: 'forceDisconnected' });
    assert.equal((await bob.closed).code, 1000);
    assert.deepEqual(await moderator.nextEvent('streamDestroyed'), { stream, reason: 'forceDisconnected' });
    const left = await moderator.nextEvent('connectionDestroyed');
    assert.deepEqual([left.connection.connectionId, left.reason], [bob.connectionId, 'forceDisconnected']);
    await refused(moderator.request('forceDisconnect', { connectionId: bob.connectionId }), 404);
    await moderator.close();
  });

  it('force-unpublishes a stream: everyone sees forceUnpublished, its publisher included', async () => {
    const sessionId = await parlor.createSession();
    const moderator = await parlor.connectClient(sessionId, { role: 'moderator' });
    const bob = await parlor.connectClient(sessionId);
    const { stream } = await bob.request('publish', camera);
    await moderator.request('forceUnpublish', { streamId: stream.streamId });
    for (const client of [moderator, bob]) {
      assert.deepEqual(await client.nextEvent('streamDestroyed'), { stream, reason: 'forceUnpublished' });
    }
    await refused(moderator.request('forceUnpublish', { streamId: stream.streamId }), 1535);
    await Promise.all([moderator.close(), bob.close()]);
  });

  it('force-mutes a stream: its publisher gets muteForced, the others see hasAudio turn false', async () => {
    const sessionId = await parlor.createSession();
    const moderator = await parlor.connectClient(sessionId, { role: 'moderator' });
    const bob = await parlor.connectClient(sessionId);
    const { streamId } = (await bob.request('publish', camera)).stream;
    await moderator.request('forceMuteStream', { streamId });
    assert.deepEqual(await bob.nextEvent('muteForced'), { streamId });
    assert.deepEqual(await moderator.nextEvent('streamPropertyChanged'), {
      streamId,
      changedProperty: 'hasAudio',
      oldValue: true,
      newValue: false,
    });
    await refused(moderator.request('forceMuteStream', { streamId: 'gone' }), 404);
    await Promise.all([moderator.close(), bob.close()]);
  });

  it('force-mutes all streams but the excluded, and new streams until it is disabled', async () => {
    const sessionId = await parlor.createSession();
    const moderator = await parlor.connectClient(sessionId, { role: 'moderator' });
    const bob = await parlor.connectClient(sessionId);
    const carol = await parlor.connectClient(sessionId);
    const bobStream = (await bob.request('publish', camera)).stream.streamId;
    const carolStream = (await carol.request('publish', camera)).stream.streamId;
    await moderator.request('forceMuteAll', { excludedStreamIds: [carolStream] });
    assert.deepEqual(await bob.nextEvent('muteForced'), { streamId: bobStream });
    for (const client of [moderator, bob, carol]) {
      assert.deepEqual(await client.nextEvent('forceMuteChanged'), { active: true });
    }
    const late = await carol.request('publish', camera);
    assert.equal(late.muteForced, true);
    assert.equal(late.stream.hasAudio, false);
    await moderator.request('disableForceMute', {});
    assert.deepEqual(await carol.nextEvent('forceMuteChanged'), { active: false });
    const later = await carol.request('publish', camera);
    assert.deepEqual([later.muteForced, later.stream.hasAudio], [false, true]);
    const room = parlor.server.rooms.get(sessionId);
    assert.ok(room);
    assert.equal(room.stream(bobStream)?.info.hasAudio, false, 'muted streams stay muted');
    assert.equal(room.stream(carolStream)?.info.hasAudio, true, 'the excluded stream was not muted');
    await Promise.all([moderator.close(), bob.close(), carol.close()]);
  });

  it('refuses every force for a non-moderator: 1520, 1530 and 1540', async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    const bob = await parlor.connectClient(sessionId);
    const { streamId } = (await bob.request('publish', camera)).stream;
    await refused(alice.request('forceDisconnect', { connectionId: bob.connectionId }), 1520);
    await refused(alice.request('forceUnpublish', { streamId }), 1530);
    await refused(alice.request('forceMuteStream', { streamId }), 1540);
    await refused(alice.request('forceMuteAll', {}), 1540);
    await refused(alice.request('disableForceMute', {}), 1540);
    const room = parlor.server.rooms.get(sessionId);
    assert.ok(room);
    assert.equal(room.connections.length, 2);
    assert.equal(room.stream(streamId)?.info.hasAudio, true);
    await Promise.all([alice.close(), bob.close()]);
  });
});
