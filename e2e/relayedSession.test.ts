import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHmac } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { OpenTok } from '@parlor/server-sdk';
import { type TestServer } from '@parlor/server/testing';
import {
  openBrowserPeer,
  type AppOrigin,
  type BrowserPeer,
  lightVideo,
  startBrowserTestBed,
  type BrowserTestBed,
} from './helpers.js';
import { attempts, inspectorWhen, num } from './inspectorTimeline.js';

// Pages of another origin load /v2/js/opentok.js by script tag and meet in relayed sessions.

let parlor: TestServer;
let app: AppOrigin;
let browser: Browser;
let opentok: OpenTok;

let bed: BrowserTestBed;

before(async () => {
  bed = await startBrowserTestBed();
  ({ parlor, app, browser } = bed);
  opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
});
after(() => bed.close());

/** An HS256 JWT. */
function hs256Jwt(claims: object, secret: string): string {
  const encode = (part: object): string => Buffer.from(JSON.stringify(part)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

/** A small, cheap video: three peers encode two copies and decode two streams each on two cores. */

describe('a relayed session of three', () => {
  let sessionId: string;
  let alice: BrowserPeer;
  let bob: BrowserPeer;
  let carol: BrowserPeer;
  const ids = new Map<BrowserPeer, { connectionId: string; streamId: string }>();
  /** When (Unix ms) each page called connect and publish, and when each call completed. */
  const called = new Map<BrowserPeer, { connect: [number, number]; publish: [number, number] }>();

  before(async () => {
    ({ sessionId } = await opentok.createSession({ mediaMode: 'relayed' }));
    const tokens = {
      alice: opentok.generateToken(sessionId, { role: 'moderator', data: 'alice' }),
      bob: opentok.generateToken(sessionId, { data: 'bob' }),
      carol: opentok.generateToken(sessionId, { data: 'carol' }),
    };
    const open = () => openBrowserPeer(browser, app.url, parlor.apiKey, sessionId);
    [alice, bob, carol] = await Promise.all([open(), open(), open()]);
    for (const [peer, token] of [
      [alice, tokens.alice],
      [bob, tokens.bob],
      [carol, tokens.carol],
    ] as const) {
      const connectAt = Date.now();
      assert.equal(await peer.connect(token), null);
      const publishAt = Date.now();
      assert.equal(await peer.publish(lightVideo), null);
      called.set(peer, { connect: [connectAt, publishAt], publish: [publishAt, Date.now()] });
      ids.set(peer, { connectionId: await peer.connectionId(), streamId: await peer.streamId() });
    }
  });

  const idsOf = (peer: BrowserPeer) => {
    const found = ids.get(peer);
    assert.ok(found);
    return found;
  };

  it('each participant is told of the two others and their streams, and decodes and hears both', async () => {
    for (const [peer, others] of [
      [alice, [bob, carol]],
      [bob, [alice, carol]],
      [carol, [alice, bob]],
    ] as const) {
      for (const other of others) {
        await peer.waitForEvent({ type: 'connectionCreated', connectionId: idsOf(other).connectionId });
        await peer.waitForEvent({ type: 'streamCreated', streamId: idsOf(other).streamId });
      }
      assert.equal(await peer.count('connectionCreated'), 2);
      assert.equal(await peer.count('streamCreated'), 2);
      assert.equal(await peer.count('streamCreated', 'publisher'), 1);
    }
    await Promise.all(
      [
        [alice, [bob, carol]],
        [bob, [alice, carol]],
        [carol, [alice, bob]],
      ].flatMap(([peer, others]) =>
        (others as BrowserPeer[]).map((other) =>
          (peer as BrowserPeer).expectMediaFlowing(idsOf(other).streamId),
        ),
      ),
    );
  });

  it('delivers a signal to all to every connection, the sender included, and a signal to one to it only', async () => {
    const aliceId = idsOf(alice).connectionId;
    await alice.page.evaluate(() => {
      window.participant.session.signal({ type: 'greeting', data: 'hello all' });
    });
    for (const peer of [alice, bob, carol]) {
      const generic = await peer.waitForEvent({ type: 'signal', data: 'hello all' });
      assert.deepEqual(
        { signalType: generic.signalType, from: generic.from },
        { signalType: 'signal:greeting', from: aliceId },
      );
      await peer.waitForEvent({ type: 'signal:greeting', data: 'hello all', from: aliceId });
    }

    const bobId = idsOf(bob).connectionId;
    const failure = await carol.page.evaluate(
      (bobId) =>
        new Promise<string | null>((resolve) => {
          const { session, connections } = window.participant;
          const to = connections.get(bobId);
          session.signal({ data: 'just you', to }, (error) => {
            resolve(error ? `${error.name} ${error.code}` : null);
          });
        }),
      bobId,
    );
    assert.equal(failure, null);
    const direct = await bob.waitForEvent({ type: 'signal', data: 'just you' });
    assert.deepEqual(
      { signalType: direct.signalType, from: direct.from },
      { signalType: 'signal', from: idsOf(carol).connectionId },
    );
    // Bob has it; the others, who got the broadcast first, never get this one.
    for (const peer of [alice, carol]) {
      assert.equal((await peer.events()).filter((event) => event.data === 'just you').length, 0);
    }
  });

  it('resumes a dropped signaling link: reconnecting, reconnected, a signal sent meanwhile delivered, media unbroken', async () => {
    const carolIds = idsOf(carol);
    await carol.page.evaluate(() => {
      const { session } = window.participant;
      session.once('sessionReconnecting', () => {
        session.signal({ type: 'greeting', data: 'sent while away' });
      });
    });
    await carol.dropSignaling();
    await carol.waitForEvent({ type: 'sessionReconnecting' });
    await carol.waitForEvent({ type: 'sessionReconnected' });
    await alice.waitForEvent({
      type: 'signal:greeting',
      data: 'sent while away',
      from: carolIds.connectionId,
    });
    assert.equal((await alice.events()).filter((event) => event.type === 'connectionDestroyed').length, 0);
    await alice.expectMediaFlowing(carolIds.streamId);
    await carol.expectMediaFlowing(idsOf(alice).streamId);
  });

  it("is in the Inspector: each connect, publish and subscribe at its time, direct paths in both sides' samples, scores, the reconnection", async () => {
    const peers = [alice, bob, carol];
    const connectionIds = peers.map((peer) => idsOf(peer).connectionId);
    const streamIds = peers.map((peer) => idsOf(peer).streamId);
    // A quality sample leaves 6 s after a peer connection starts: each page's two subscribers.
    const samples = (t: Awaited<ReturnType<typeof inspectorWhen>>, connectionId: string, type: string) =>
      t.quality.filter((q) => q.source === 'client' && q.connectionId === connectionId && q.type === type);
    const timeline = await inspectorWhen(
      parlor,
      sessionId,
      (t) =>
        t.issues.some((issue) => issue.kind === 'reconnecting') &&
        connectionIds.every(
          (id) => samples(t, id, 'subscriber').length >= 2 && samples(t, id, 'publisher').length >= 2,
        ),
    );
    // Each at its time (± 2 s): a connect and a publish within their calls, a subscribe when
    // the page was told of the stream (its publish, or its own connect for an earlier stream).
    const within = (at: number | undefined, [from, to]: [number, number]): boolean =>
      at !== undefined && at >= from - 2000 && at <= to + 2000;
    const callsOf = (index: number) => called.get(peers[index] as BrowserPeer) ?? assert.fail('no calls');
    for (const [index, connectionId] of connectionIds.entries()) {
      const calls = callsOf(index);
      const lane = timeline.connections.find((c) => c.connectionId === connectionId);
      assert.ok(within(lane?.connectedAt, calls.connect), `connected at ${lane?.connectedAt}`);
      assert.ok(within(attempts(timeline, connectionId, 'connect')[0]?.at, calls.connect));
      assert.ok(within(attempts(timeline, connectionId, 'publish')[0]?.at, calls.publish));
      for (const subscribe of attempts(timeline, connectionId, 'subscribe')) {
        const publisher = callsOf(streamIds.indexOf(subscribe.streamId ?? ''));
        const told: [number, number] = [
          Math.max(publisher.publish[0], calls.connect[0]),
          Math.max(publisher.publish[1], calls.connect[1]),
        ];
        assert.ok(within(subscribe.at, told), `subscribe at ${subscribe.at}, told in ${told.join('–')}`);
      }
    }
    for (const [index, connectionId] of connectionIds.entries()) {
      assert.equal(attempts(timeline, connectionId, 'connect').length, 1);
      assert.deepEqual(
        attempts(timeline, connectionId, 'publish').map((e) => e.streamId),
        [streamIds[index]],
      );
      assert.deepEqual(
        attempts(timeline, connectionId, 'subscribe')
          .map((e) => e.streamId)
          .sort(),
        streamIds.filter((_, other) => other !== index).sort(),
      );
      // Peer to peer (no relay candidate) over UDP on both ends, media decoded.
      for (const sample of [
        ...samples(timeline, connectionId, 'subscriber'),
        ...samples(timeline, connectionId, 'publisher'),
      ])
        assert.match(String(sample.data.path), /^(host|prflx|srflx)\/udp$/, JSON.stringify(sample));
      assert.ok(samples(timeline, connectionId, 'subscriber').some((q) => num(q.data.frameRate) > 0));
      assert.ok(
        timeline.scores.some(
          (s) => s.connectionId === connectionId && s.type === 'subscriber' && num(s.data.video) >= 1,
        ),
      );
    }
    // No router: a relayed session has samples of the clients only.
    assert.equal(timeline.quality.filter((q) => q.source === 'router').length, 0);
    const reconnecting = timeline.issues.filter((issue) => issue.kind === 'reconnecting');
    assert.deepEqual(
      reconnecting.map((issue) => issue.connectionId),
      [idsOf(carol).connectionId],
    );
  });

  it('tells the others when a publisher turns video off and on, and when a moderator mutes it', async () => {
    const bobStream = idsOf(bob).streamId;
    await bob.page.evaluate(() => window.participant.publisher?.publishVideo(false));
    for (const peer of [alice, carol]) {
      await peer.waitForEvent({
        type: 'streamPropertyChanged',
        streamId: bobStream,
        property: 'hasVideo',
        value: false,
      });
      await peer.waitForEvent({
        target: 'subscriber',
        type: 'videoDisabled',
        streamId: bobStream,
        reason: 'publishVideo',
      });
    }
    await bob.page.evaluate(() => window.participant.publisher?.publishVideo(true));
    for (const peer of [alice, carol]) {
      await peer.waitForEvent({
        target: 'subscriber',
        type: 'videoEnabled',
        streamId: bobStream,
        reason: 'publishVideo',
      });
    }

    await carol.page.evaluate(() => {
      window.participant.subscribers.values().next().value?.subscribeToVideo(false);
    });
    await carol.waitForEvent({ target: 'subscriber', type: 'videoDisabled', reason: 'subscribeToVideo' });

    await alice.page.evaluate((streamId) => window.participant.session.forceMuteStream(streamId), bobStream);
    await bob.waitForEvent({ target: 'publisher', type: 'muteForced' });
    assert.equal(await bob.page.evaluate(() => window.participant.publisher?.stream?.hasAudio), false);
    await carol.waitForEvent({
      type: 'streamPropertyChanged',
      streamId: bobStream,
      property: 'hasAudio',
      value: false,
    });
  });

  it('lets a moderator force a stream out, and its publisher publish again', async () => {
    const carolIds = idsOf(carol);
    await alice.page.evaluate(
      (streamId) =>
        new Promise<void>((resolve, reject) => {
          window.participant.session.forceUnpublish(streamId, (error) => {
            if (error) reject(error);
            else resolve();
          });
        }),
      carolIds.streamId,
    );
    await carol.waitForEvent({ target: 'publisher', type: 'streamDestroyed', reason: 'forceUnpublished' });
    for (const peer of [alice, bob]) {
      await peer.waitForEvent({
        type: 'streamDestroyed',
        streamId: carolIds.streamId,
        reason: 'forceUnpublished',
      });
    }
    assert.equal(await carol.publish(lightVideo), null);
    const streamId = await carol.streamId();
    ids.set(carol, { ...carolIds, streamId });
    await alice.waitForEvent({ type: 'streamCreated', streamId });
    await alice.expectMediaFlowing(streamId);
  });

  it('lets a moderator force a participant out: it hears forceDisconnected, the others too', async () => {
    const carolIds = idsOf(carol);
    const failure = await alice.page.evaluate(
      (connectionId) =>
        new Promise<string | null>((resolve) => {
          window.participant.session.forceDisconnect(connectionId, (error) => {
            resolve(error ? `${error.name} ${error.code}` : null);
          });
        }),
      carolIds.connectionId,
    );
    assert.equal(failure, null);
    await carol.waitForEvent({ type: 'sessionDisconnected', reason: 'forceDisconnected' });
    await carol.waitForEvent({ target: 'publisher', type: 'streamDestroyed', reason: 'forceDisconnected' });
    for (const peer of [alice, bob]) {
      await peer.waitForEvent({
        type: 'connectionDestroyed',
        connectionId: carolIds.connectionId,
        reason: 'forceDisconnected',
      });
      await peer.waitForEvent({
        type: 'streamDestroyed',
        streamId: carolIds.streamId,
        reason: 'forceDisconnected',
      });
    }
  });

  it('refuses force disconnect to a participant without the moderator role (1520)', async () => {
    const failure = await bob.page.evaluate(
      (connectionId) =>
        new Promise<string | null>((resolve) => {
          window.participant.session.forceDisconnect(connectionId, (error) => {
            resolve(error ? `${error.name} ${error.code}` : null);
          });
        }),
      idsOf(alice).connectionId,
    );
    assert.equal(failure, 'OT_PERMISSION_DENIED 1520');
  });

  it('reports unpublish as unpublished to the publisher and clientDisconnected to the others, then a disconnect', async () => {
    const bobIds = idsOf(bob);
    await bob.page.evaluate(() => {
      const { session, publisher } = window.participant;
      if (publisher) session.unpublish(publisher);
    });
    await bob.waitForEvent({ target: 'publisher', type: 'streamDestroyed', reason: 'unpublished' });
    await alice.waitForEvent({
      type: 'streamDestroyed',
      streamId: bobIds.streamId,
      reason: 'clientDisconnected',
    });

    await bob.page.evaluate(() => {
      window.participant.session.disconnect();
    });
    await bob.waitForEvent({ type: 'sessionDisconnected', reason: 'clientDisconnected' });
    await alice.waitForEvent({
      type: 'connectionDestroyed',
      connectionId: bobIds.connectionId,
      reason: 'clientDisconnected',
    });
    // Alice's subscriber elements went with the streams (the default action of streamDestroyed).
    assert.equal(await alice.page.locator('.OT_subscriber').count(), 0);
  });
});

describe('tokens', () => {
  let sessionId: string;

  before(async () => {
    ({ sessionId } = await opentok.createSession({ mediaMode: 'relayed' }));
  });

  it('lets a subscriber-role token connect but not publish (OT_PERMISSION_DENIED, 1500)', async () => {
    const peer = await openBrowserPeer(browser, app.url, parlor.apiKey, sessionId);
    assert.equal(await peer.connect(opentok.generateToken(sessionId, { role: 'subscriber' })), null);
    assert.deepEqual(await peer.publish(lightVideo), { name: 'OT_PERMISSION_DENIED', code: 1500 });
    assert.equal(await peer.page.evaluate(() => window.participant.session.capabilities.publish), 0);
    await peer.page.close();
  });

  it('refuses an expired token with OT_AUTHENTICATION_ERROR (1004)', async () => {
    const peer = await openBrowserPeer(browser, app.url, parlor.apiKey, sessionId);
    // Signed like the official SDKs' tokens, an hour after it expired.
    const issued = Math.floor(Date.now() / 1000) - 7200;
    const expired = hs256Jwt(
      {
        iss: parlor.apiKey,
        ist: 'project',
        iat: issued,
        exp: issued + 3600,
        session_id: sessionId,
        create_time: issued,
        nonce: Math.random(),
        role: 'publisher',
        expire_time: issued + 3600,
        initial_layout_class_list: '',
        scope: 'session.connect',
      },
      parlor.apiSecret,
    );
    assert.deepEqual(await peer.connect(expired), { name: 'OT_AUTHENTICATION_ERROR', code: 1004 });
    await peer.waitForEvent({ target: 'OT', type: 'exception', code: 1004 });
    await peer.page.close();
  });
});
