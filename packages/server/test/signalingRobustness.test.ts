import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signalingLimits } from '@parlor/protocol';
import {
  SignalingRequestError,
  SignalingTestClient,
  startTestServer,
  type TestServer,
} from '@parlor/server/testing';

// Clients that misbehave, send too fast, lose their link or come back: the server answers with
// errors, keeps the others undisturbed, and keeps a dropped client's place for a while.

let parlor: TestServer;

before(async () => {
  parlor = await startTestServer();
});
after(() => parlor.dispose());

async function refused(promise: Promise<unknown>, code: number, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof SignalingRequestError, String(error));
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

const camera = { name: 'Camera', hasAudio: true, hasVideo: true } as const;

describe('a client that sends what it should not', () => {
  it('gets an error answer for each bad frame, and the other clients of the session see nothing', async () => {
    const sessionId = await parlor.createSession();
    const bystander = await parlor.connectClient(sessionId);
    const eve = await parlor.connectClient(sessionId);
    await bystander.nextEvent('connectionCreated');

    eve.sendRaw('{"id":1,"method":');
    assert.deepEqual(await eve.nextError(), {
      code: 1011,
      message: 'Invalid request: the message is not JSON',
    });
    eve.sendRaw('[1,2,3]');
    assert.equal((await eve.nextError()).code, 1011);
    eve.sendRaw(Buffer.from([1, 2, 3]), { binary: true });
    assert.match((await eve.nextError()).message, /binary frames are not supported/);
    eve.sendRaw('x'.repeat(signalingLimits.maxMessageBytes + 1));
    assert.deepEqual(await eve.nextError(), {
      code: 413,
      message: `Message too large: ${signalingLimits.maxMessageBytes + 1} bytes, the limit is ${signalingLimits.maxMessageBytes}`,
    });
    await refused(eve.request('teleport' as 'ping', {}), 1011, /unknown method "teleport"/);
    await refused(
      eve.request('publish', { hasAudio: 'yes', hasVideo: true } as unknown as typeof camera),
      1011,
      /invalid params at \/hasAudio/,
    );
    await refused(eve.request('signal', { data: 'x', extra: 1 } as { data: string }), 1011, /\/extra/);

    // Eve's socket still works, and the bystander saw none of it.
    await eve.request('signal', { to: eve.connectionId, data: 'still here' });
    assert.equal((await eve.nextEvent('signal')).data, 'still here');
    await bystander.request('ping', {});
    assert.deepEqual(bystander.untakenEvents, []);
    assert.equal(parlor.server.rooms.get(sessionId)?.connections.length, 2);
    await Promise.all([bystander.close(), eve.close()]);
  });

  it('closes the socket with 1009 for a frame past the transport limit of 1 MiB', async () => {
    const client = await SignalingTestClient.open(parlor.url);
    client.sendRaw('x'.repeat(1024 * 1024 + 1));
    assert.equal((await client.closed).code, 1009);
  });

  it('gets 1010 for requests that need a connection before it connects', async () => {
    const client = await SignalingTestClient.open(parlor.url);
    await refused(client.request('publish', camera), 1010, /connect before publish/);
    await refused(client.request('signal', { data: 'x' }), 1010);
    await refused(client.request('disconnect', {}), 1010);
    await client.close();
  });

  it('gets 429 for the requests past its rate, which are not carried out', async () => {
    const limited = await startTestServer({ env: { PARLOR_SIGNALING_RATE: '1' } });
    try {
      const sessionId = await limited.createSession();
      const alice = await limited.connectClient(sessionId);
      // A burst of two: the connect took one token, and the next comes a second later.
      const attempts = Array.from({ length: 4 }, (_, index) =>
        alice.request('signal', { to: alice.connectionId, data: String(index) }).then(
          () => 'sent',
          (error: unknown) => (error instanceof SignalingRequestError ? error.code : error),
        ),
      );
      assert.deepEqual(await Promise.all(attempts), ['sent', 429, 429, 429]);
      assert.equal((await alice.nextEvent('signal')).data, '0');
      await alice.close();
    } finally {
      await limited.dispose();
    }
  });
});

describe('a client that keeps misbehaving', () => {
  it('repeated invalid frames close the socket with 1008 after their error answers, the others undisturbed', async () => {
    const sessionId = await parlor.createSession();
    const bystander = await parlor.connectClient(sessionId);
    const eve = await parlor.connectClient(sessionId);
    await bystander.nextEvent('connectionCreated');
    const garbage = ['{"id":1,"method":', '[1,2,3]', '{"method":"teleport"}', 'x'.repeat(70_000)];
    const codes: number[] = [];
    for (let index = 0; index < signalingLimits.maxInvalidFrames; index++) {
      eve.sendRaw(garbage[index % garbage.length] as string);
      codes.push((await eve.nextError()).code);
    }
    assert.deepEqual(codes, [1011, 1011, 1011, 413, 1011, 1011, 1011, 413, 1011, 1011]);
    for (let index = 0; index < 1000; index++) eve.sendRaw('not json');
    assert.deepEqual(await eve.closed, { code: 1008, reason: 'too many invalid frames' });
    await bystander.request('ping', {});
    assert.deepEqual(bystander.untakenEvents, []);
    await bystander.close();
  });

  it('a token cannot hold more connections to its session than the limit: the next connect gets 1027', async () => {
    const limited = await startTestServer({ env: { PARLOR_SIGNALING_CONNECTIONS_PER_TOKEN: '2' } });
    try {
      const sessionId = await limited.createSession();
      const token = limited.token(sessionId);
      const first = await SignalingTestClient.connect(limited.url, sessionId, token);
      const second = await SignalingTestClient.connect(limited.url, sessionId, token);
      await refused(SignalingTestClient.connect(limited.url, sessionId, token), 1027, /2 connections/);
      // A dropped connection still counts while it may resume; one that left does not.
      await second.drop();
      await refused(SignalingTestClient.connect(limited.url, sessionId, token), 1027);
      await first.close();
      const again = await SignalingTestClient.connect(limited.url, sessionId, token);
      await again.close();
    } finally {
      await limited.dispose();
    }
  });

  it('a broadcast is charged for every copy: past the fan-out budget signals to all get 429 until it refills', async () => {
    // 64 KiB/s: an 8 kB signal to three connections costs about 25 kB.
    const limited = await startTestServer({ env: { PARLOR_SIGNALING_FAN_OUT_RATE: '65536' } });
    try {
      const sessionId = await limited.createSession();
      const alice = await limited.connectClient(sessionId);
      const others = [await limited.connectClient(sessionId), await limited.connectClient(sessionId)];
      const data = 'x'.repeat(8 * 1024);
      // Sent at once: the debt of the third refills in under 200 ms, which one round trip after
      // another can take on a loaded machine.
      const outcomes = await Promise.all(
        Array.from({ length: 6 }, () =>
          alice.request('signal', { data }).then(
            () => 'sent',
            (error: unknown) => (error instanceof SignalingRequestError ? error.code : String(error)),
          ),
        ),
      );
      assert.deepEqual(outcomes, ['sent', 'sent', 'sent', 429, 429, 429]);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await alice.request('signal', { data });
      await Promise.all([alice.close(), ...others.map((other) => other.close())]);
    } finally {
      await limited.dispose();
    }
  });
});

describe('reconnection', () => {
  it('lets a client whose socket dropped resume with its connection ID and streams, and replays what it missed', async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    const bob = await parlor.connectClient(sessionId);
    await alice.nextEvent('connectionCreated');
    const { stream } = await bob.request('publish', camera);
    await alice.nextEvent('streamCreated');
    const resume = bob.resumeParams;

    const state = new Promise((resolve) => {
      parlor.server.rooms.get(sessionId)?.connection(bob.connectionId)?.observer.once('stateChange', resolve);
    });
    await bob.drop();
    assert.equal(await state, 'away');
    await alice.request('signal', { data: 'while you were away' });
    await alice.request('signal', { to: bob.connectionId, type: 'private', data: 'psst' });

    const back = await SignalingTestClient.open(parlor.url);
    const resumed = await back.request('resume', resume);
    assert.equal(resumed.connection.connectionId, bob.connectionId);
    assert.equal((await back.nextEvent('signal')).data, 'while you were away');
    assert.equal((await back.nextEvent('signal')).data, 'psst');
    assert.equal(back.lastSeq, resume.lastSeq + 2);

    // Nobody saw bob leave; his stream is still there, and he can still act on it.
    await alice.nextEvent('signal');
    await alice.request('ping', {});
    assert.deepEqual(alice.untakenEvents, []);
    assert.deepEqual(
      parlor.server.rooms.get(sessionId)?.streams.map((each) => each.info),
      [stream],
    );
    await back.request('updateStream', { streamId: stream.streamId, hasVideo: false });
    assert.equal((await alice.nextEvent('streamPropertyChanged')).changedProperty, 'hasVideo');
    await Promise.all([alice.close(), back.close()]);
  });

  it('moves a connection whose old socket is still open onto the new one, closing the old with 4001', async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    const back = await SignalingTestClient.open(parlor.url);
    await back.request('resume', alice.resumeParams);
    assert.deepEqual(await alice.closed, { code: 4001, reason: 'resumed on another socket' });
    await back.request('signal', { data: 'on the new socket' });
    assert.equal((await back.nextEvent('signal')).from, alice.connectionId);
    assert.equal(parlor.server.rooms.get(sessionId)?.connections.length, 1);
    await back.close();
  });

  it('refuses a resume with a wrong secret with 1004, and one that claims events never sent with 1006', async () => {
    const sessionId = await parlor.createSession();
    const alice = await parlor.connectClient(sessionId);
    const other = await SignalingTestClient.open(parlor.url);
    await refused(
      other.request('resume', { ...alice.resumeParams, resumeSecret: 'guess' }),
      1004,
      /wrong resume secret/,
    );
    await refused(other.request('resume', { ...alice.resumeParams, lastSeq: 99 }), 1006, /ahead/);
    await refused(
      other.request('resume', { ...alice.resumeParams, connectionId: 'gone' }),
      1006,
      /has ended/,
    );
    await alice.request('ping', {});
    await Promise.all([alice.close(), other.close()]);
  });

  it('ends a client that stays away past the grace period: streams and connection with networkDisconnected', async () => {
    const brief = await startTestServer({ env: { PARLOR_RECONNECT_GRACE_SECONDS: '0.2' } });
    try {
      const sessionId = await brief.createSession();
      const alice = await brief.connectClient(sessionId);
      const bob = await brief.connectClient(sessionId);
      assert.equal(bob.session?.resume.graceMs, 200);
      const { stream } = await bob.request('publish', camera);
      const resume = bob.resumeParams;
      const droppedAt = Date.now();
      await bob.drop();
      assert.deepEqual(await alice.nextEvent('streamDestroyed'), { stream, reason: 'networkDisconnected' });
      const left = await alice.nextEvent('connectionDestroyed');
      assert.deepEqual(
        [left.connection.connectionId, left.reason],
        [bob.connectionId, 'networkDisconnected'],
      );
      assert.ok(Date.now() - droppedAt >= 150, 'the connection was kept for the grace period');

      const late = await SignalingTestClient.open(brief.url);
      await refused(late.request('resume', resume), 1006, /has ended/);
      await Promise.all([alice.close(), late.close()]);
    } finally {
      await brief.dispose();
    }
  });
});

describe('server shutdown', () => {
  it('closes every socket with 1001', async () => {
    const stopping = await startTestServer();
    const sessionId = await stopping.createSession();
    const alice = await stopping.connectClient(sessionId);
    const idle = await SignalingTestClient.open(stopping.url);
    await stopping.dispose();
    assert.equal((await alice.closed).code, 1001);
    assert.equal((await idle.closed).code, 1001);
    assert.equal(stopping.server.rooms.get(sessionId), undefined);
  });

  it('shuts down within a second when a client never answers the closing handshake', async () => {
    const stopping = await startTestServer();
    const deaf = await stopping.connectClient(await stopping.createSession());
    deaf.socket.pause();
    const started = Date.now();
    await stopping.dispose();
    assert.ok(Date.now() - started < 2000, `shutdown took ${Date.now() - started} ms`);
    await deaf.drop();
  });
});
