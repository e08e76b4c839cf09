import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '@parlor/server/testing';
import OpenTok, { ArgumentError, NotFoundError, RequestError, type Stream } from '@parlor/server-sdk';

// Signals, streams and moderation through the server SDK, against clients connected over
// signaling to a listening Parlor.

let parlor: TestServer;
let opentok: OpenTok;

before(async () => {
  parlor = await startTestServer();
  opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
});
after(() => parlor.dispose());

describe('the server SDK', () => {
  it('signals every client or one, with a promise or a callback', async () => {
    const { sessionId, alice, bob } = await parlor.liveSession();
    await opentok.signal(sessionId, null, { type: 'greeting', data: 'hi all' });
    assert.deepEqual(await alice.nextEvent('signal'), { from: null, type: 'greeting', data: 'hi all' });
    assert.deepEqual(await bob.nextEvent('signal'), { from: null, type: 'greeting', data: 'hi all' });
    const error = await new Promise<Error | null>((resolve) => {
      opentok.signal(sessionId, bob.connectionId, { data: 'just you' }, resolve);
    });
    assert.equal(error, null);
    assert.equal((await bob.nextEvent('signal')).data, 'just you');
    await Promise.all([alice.close(), bob.close()]);
  });

  it('reports an absent client as NotFoundError and a too large signal as RequestError 413', async () => {
    const { sessionId, alice, bob } = await parlor.liveSession();
    await assert.rejects(opentok.signal(sessionId, 'gone', { data: 'x' }), NotFoundError);
    await assert.rejects(
      opentok.signal(sessionId, undefined, { data: 'x'.repeat(8193) }),
      (error) => error instanceof RequestError && error.status === 413,
    );
    await assert.rejects(opentok.signal('', null, {}), ArgumentError);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('force-disconnects a client', async () => {
    const { sessionId, alice, bob } = await parlor.liveSession();
    await opentok.forceDisconnect(sessionId, bob.connectionId);
    assert.equal((await bob.closed).code, 1000);
    assert.equal((await alice.nextEvent('connectionDestroyed')).reason, 'forceDisconnected');
    await assert.rejects(opentok.forceDisconnect(sessionId, bob.connectionId), NotFoundError);
    await alice.close();
  });

  it('lists and gets streams, and sets their layout classes', async () => {
    const { sessionId, alice, bob, streamId } = await parlor.liveSession();
    const expected: Stream = {
      id: streamId,
      videoType: 'camera',
      name: 'Camera',
      layoutClassList: ['focus'],
    };
    assert.deepEqual(await opentok.listStreams(sessionId), [expected]);
    assert.deepEqual(await opentok.getStream(sessionId, streamId), expected);
    await assert.rejects(opentok.getStream(sessionId, 'gone'), NotFoundError);

    await opentok.setStreamClassLists(sessionId, [{ id: streamId, layoutClassList: ['full'] }]);
    const listed = await new Promise<Stream[] | undefined>((resolve, reject) => {
      opentok.listStreams(sessionId, (error, result) => {
        if (error) reject(error);
        else resolve(result);
      });
    });
    assert.deepEqual(listed?.[0]?.layoutClassList, ['full']);
    await assert.rejects(
      opentok.setStreamClassLists(sessionId, [{ id: 'gone', layoutClassList: [] }]),
      (error) => error instanceof RequestError && error.status === 400,
    );
    await assert.rejects(
      opentok.setStreamClassLists(sessionId, [
        { id: streamId } as unknown as { id: string; layoutClassList: [] },
      ]),
      ArgumentError,
    );
    await Promise.all([alice.close(), bob.close()]);
  });

  it('force-mutes one stream, then all but the excluded, and lifts the session mute', async () => {
    const { sessionId, alice, bob, streamId } = await parlor.liveSession();
    await opentok.forceMuteStream(sessionId, streamId);
    assert.deepEqual(await alice.nextEvent('muteForced'), { streamId });

    const bobStream = (await bob.request('publish', { hasAudio: true, hasVideo: false })).stream.streamId;
    await opentok.forceMuteAll(sessionId, { excludedStreamIds: [streamId] });
    assert.deepEqual(await bob.nextEvent('muteForced'), { streamId: bobStream });
    assert.deepEqual(await alice.nextEvent('forceMuteChanged'), { active: true });

    const error = await new Promise<Error | null>((resolve) => {
      opentok.disableForceMute(sessionId, resolve);
    });
    assert.equal(error, null);
    assert.deepEqual(await alice.nextEvent('forceMuteChanged'), { active: false });
    await assert.rejects(opentok.forceMuteStream(sessionId, 'gone'), NotFoundError);
    await Promise.all([alice.close(), bob.close()]);
  });
});
