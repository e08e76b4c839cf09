import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { noVideoPreferences } from '../media/router/Subscription.js';
import { AdaptiveMedia } from './AdaptiveMedia.js';
import { routingModeFor } from './adaptiveRouting.js';
import type { RoomConnection } from './RoomConnection.js';
import { recordedConnection } from './recordedConnection.js';
import type { RoutedMedia } from './RoutedMedia.js';

const logger = pino({ level: 'silent' });

/** The router's side, reduced to what adaptive routing asks of it: IDs, and whether each upstream started paused. */
class FakeRouted {
  readonly pausedAtStart = new Map<string, boolean>();
  recordings = 0;
  #next = 0;

  published(_publisher: RoomConnection, streamId: string, _options: unknown, paused = false): void {
    this.pausedAtStart.set(streamId, paused);
  }
  upstreamIdOf(streamId: string): string {
    return `upstream-${streamId}`;
  }
  subscribe(): string {
    this.#next += 1;
    return `routed-${this.#next}`;
  }
  record(): Promise<{ stop: () => Promise<never> }> {
    this.recordings += 1;
    return Promise.resolve({ stop: () => Promise.reject(new Error('not recorded')) });
  }
  subscribed(): void {}
  updateSubscription(): void {}
  unsubscribe(): void {}
  negotiate(): void {}
  streamEnded(): void {}
  connectionEnded(): void {}
  close(): void {}
}

function adaptive(holdMs = 30, serverSide = new Set<RoomConnection>()) {
  const routed = new FakeRouted();
  const media = new AdaptiveMedia({
    routed: routed as unknown as RoutedMedia,
    serverSide: (connection) => serverSide.has(connection),
    holdMs,
    logger,
  });
  return { routed, media };
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Alice publishes, Bob subscribes: the direct path is made, and Bob plays it. */
function oneOnOne(media: AdaptiveMedia) {
  const alice = recordedConnection();
  const bob = recordedConnection();
  media.published(alice.connection, 'stream-a', { subscriberAudioFallback: true });
  const routedId = media.subscribe(bob.connection, 'stream-a', alice.connection, noVideoPreferences);
  media.subscribed(bob.connection, routedId);
  const [path] = bob.take('mediaPath');
  assert.ok(path?.directSubscriptionId);
  return { alice, bob, routedId, directId: path.directSubscriptionId, path };
}

describe('routingModeFor', () => {
  const none = {
    participants: 2,
    serverSideParticipant: false,
    recordings: 0,
    selfSubscription: false,
    routerOnlyPublisher: false,
    directFailed: false,
  };
  it('goes peer to peer for one or two participants and nothing else, through the router for the rest', () => {
    assert.equal(routingModeFor(none).mode, 'direct');
    assert.equal(routingModeFor({ ...none, participants: 1 }).mode, 'direct');
    assert.deepEqual(routingModeFor({ ...none, participants: 3 }), {
      mode: 'routed',
      reason: 'participants',
    });
    assert.deepEqual(routingModeFor({ ...none, recordings: 1 }), { mode: 'routed', reason: 'archive' });
    assert.deepEqual(routingModeFor({ ...none, serverSideParticipant: true }), {
      mode: 'routed',
      reason: 'serverSideParticipant',
    });
    assert.deepEqual(routingModeFor({ ...none, selfSubscription: true }), {
      mode: 'routed',
      reason: 'selfSubscription',
    });
    assert.deepEqual(routingModeFor({ ...none, participants: 1, routerOnlyPublisher: true }), {
      mode: 'routed',
      reason: 'publisherOptedOut',
    });
    assert.deepEqual(routingModeFor({ ...none, directFailed: true }), {
      mode: 'routed',
      reason: 'directFailed',
    });
  });
});

describe('AdaptiveMedia', () => {
  it('sends a one-on-one stream peer to peer: the router path negotiates paused, the subscriber hears of the direct path before the publisher offers it', () => {
    const { routed, media } = adaptive();
    const { alice, bob, routedId, directId, path } = oneOnOne(media);
    assert.equal(routed.pausedAtStart.get('stream-a'), true);
    assert.deepEqual(path, {
      subscriptionId: routedId,
      streamId: 'stream-a',
      path: 'direct',
      directSubscriptionId: directId,
    });
    assert.deepEqual(alice.take('subscriptionCreated'), [
      { subscriptionId: directId, streamId: 'stream-a', subscriber: bob.connection.id },
    ]);
    media.negotiate(alice.connection, directId, { kind: 'offer', sdp: 'v=0' });
    assert.deepEqual(bob.take('offer'), [
      { subscriptionId: directId, streamId: 'stream-a', from: alice.connection.id, sdp: 'v=0' },
    ]);
    media.playing(bob.connection, routedId, 'direct');
    assert.deepEqual(alice.take('sendPath'), []);
    assert.equal(media.stats().paths[0]?.path, 'direct');
    media.close();
  });

  it('moves to the router at once when a third joins, and stops the direct path only once its subscriber plays the routed one', () => {
    const { media } = adaptive();
    const { alice, bob, routedId, directId } = oneOnOne(media);
    media.playing(bob.connection, routedId, 'direct');
    alice.take('sendPath');
    const carol = recordedConnection();
    const carolId = media.subscribe(carol.connection, 'stream-a', alice.connection, noVideoPreferences);
    media.subscribed(carol.connection, carolId);
    assert.equal(media.mode, 'routed');
    assert.deepEqual(bob.take('mediaPath'), [
      { subscriptionId: routedId, streamId: 'stream-a', path: 'routed', directSubscriptionId: directId },
    ]);
    assert.deepEqual(carol.take('mediaPath'), [], 'a subscription made while routed has no direct path');
    assert.deepEqual(alice.take('sendPath'), [
      { subscriptionId: 'upstream-stream-a', streamId: 'stream-a', send: true },
    ]);
    media.playing(bob.connection, routedId, 'routed');
    assert.deepEqual(alice.take('sendPath'), [
      { subscriptionId: directId, streamId: 'stream-a', send: false },
    ]);
    assert.deepEqual(
      media.stats().changes.map(({ mode, reason }) => [mode, reason]),
      [['routed', 'participants']],
    );
    media.close();
  });

  it('goes back to direct only after the hold time, and keeps the router path until the subscriber plays the direct one', async () => {
    const { media } = adaptive(100);
    const { alice, bob, routedId, directId } = oneOnOne(media);
    media.playing(bob.connection, routedId, 'direct');
    const carol = recordedConnection();
    const carolId = media.subscribe(carol.connection, 'stream-a', alice.connection, noVideoPreferences);
    media.subscribed(carol.connection, carolId);
    media.playing(bob.connection, routedId, 'routed');
    // Carol leaves and comes back within the hold time: nobody moves.
    media.connectionEnded(carol.connection);
    await wait(40);
    const again = media.subscribe(carol.connection, 'stream-a', alice.connection, noVideoPreferences);
    media.subscribed(carol.connection, again);
    await wait(100);
    assert.equal(media.mode, 'routed');
    media.connectionEnded(carol.connection);
    for (const each of [alice, bob]) each.take('sendPath');
    await wait(60);
    assert.equal(media.mode, 'routed', 'within the hold time');
    await wait(100);
    assert.equal(media.mode, 'direct');
    assert.deepEqual(bob.take('mediaPath'), [
      { subscriptionId: routedId, streamId: 'stream-a', path: 'direct', directSubscriptionId: directId },
    ]);
    assert.deepEqual(alice.take('sendPath'), [
      { subscriptionId: directId, streamId: 'stream-a', send: true },
    ]);
    media.playing(bob.connection, routedId, 'direct');
    assert.deepEqual(alice.take('sendPath'), [
      { subscriptionId: 'upstream-stream-a', streamId: 'stream-a', send: false },
    ]);
    assert.deepEqual(
      media.stats().changes.map(({ mode }) => mode),
      ['routed', 'direct'],
    );
    media.close();
  });

  it('moves to the router before an archive records, and back once it stops', async () => {
    const { routed, media } = adaptive(20);
    const { alice, bob, routedId } = oneOnOne(media);
    media.playing(bob.connection, routedId, 'direct');
    alice.take('sendPath');
    const recording = media.record('stream-a', {} as never);
    assert.equal(media.mode, 'routed', 'before the router is asked to record');
    assert.deepEqual(alice.take('sendPath'), [
      { subscriptionId: 'upstream-stream-a', streamId: 'stream-a', send: true },
    ]);
    const started = await recording;
    assert.equal(routed.recordings, 1);
    await started.stop().catch(() => undefined);
    await wait(60);
    assert.equal(media.mode, 'direct');
    media.close();
  });

  it('keeps a session with a SIP call (media the server makes) on the router', () => {
    const sip = recordedConnection();
    const { media } = adaptive(20, new Set([sip.connection]));
    const alice = recordedConnection();
    media.published(alice.connection, 'stream-a', { subscriberAudioFallback: true });
    const id = media.subscribe(sip.connection, 'stream-a', alice.connection, noVideoPreferences);
    media.subscribed(sip.connection, id);
    assert.equal(media.mode, 'routed');
    assert.deepEqual(sip.take('mediaPath'), []);
    media.close();
  });

  it('ends the direct path with its subscription, and tells the publisher', () => {
    const { media } = adaptive();
    const { alice, bob, routedId, directId } = oneOnOne(media);
    alice.take('subscriptionCreated');
    media.unsubscribe(bob.connection, routedId);
    assert.deepEqual(alice.take('subscriptionDestroyed'), [
      { subscriptionId: directId, streamId: 'stream-a' },
    ]);
    assert.deepEqual(media.stats().paths, []);
    media.close();
  });

  it('keeps a session routed while a publisher that opted out (adaptiveRouting: false) publishes', async () => {
    const { routed, media } = adaptive(20);
    const alice = recordedConnection();
    const bob = recordedConnection();
    media.published(alice.connection, 'stream-a', { subscriberAudioFallback: true, routerOnly: true });
    assert.equal(routed.pausedAtStart.get('stream-a'), false, 'its upstream sends from the start');
    const id = media.subscribe(bob.connection, 'stream-a', alice.connection, noVideoPreferences);
    media.subscribed(bob.connection, id);
    assert.equal(media.mode, 'routed');
    assert.deepEqual(bob.take('mediaPath'), [], 'no direct path is made');
    assert.deepEqual(
      media.stats().changes.map(({ mode, reason }) => [mode, reason]),
      [['routed', 'publisherOptedOut']],
    );
    // Its stream ends: the other publisher, who did not opt out, goes peer to peer after the hold.
    media.published(bob.connection, 'stream-b', { subscriberAudioFallback: true });
    media.streamEnded('stream-a');
    const back = media.subscribe(alice.connection, 'stream-b', bob.connection, noVideoPreferences);
    media.subscribed(alice.connection, back);
    await wait(60);
    assert.equal(media.mode, 'direct');
    media.close();
  });

  it('moves to the router for good when a direct path decodes nothing, while both ends take part', async () => {
    const { media } = adaptive(20);
    const failures: string[] = [];
    media.observer.on('pathFailed', (connection, path) => failures.push(`${connection.id} ${path}`));
    const { alice, bob, routedId, directId } = oneOnOne(media);
    alice.take('sendPath');
    media.pathFailed(bob.connection, routedId, 'direct');
    media.pathFailed(bob.connection, routedId, 'direct');
    assert.equal(media.mode, 'routed');
    assert.deepEqual(
      bob.take('mediaPath').map(({ path }) => path),
      ['routed'],
    );
    // The direct path, which nothing plays, stops at once.
    assert.deepEqual(alice.take('sendPath'), [
      { subscriptionId: 'upstream-stream-a', streamId: 'stream-a', send: true },
      { subscriptionId: directId, streamId: 'stream-a', send: false },
    ]);
    assert.deepEqual(failures, [`${bob.connection.id} direct`], 'reported once');
    await wait(60);
    assert.equal(media.mode, 'routed', 'it stays routed past the hold time');
    assert.equal(media.stats().changes.at(-1)?.reason, 'directFailed');
    // Only its subscriber says so.
    assert.throws(() => {
      media.pathFailed(alice.connection, routedId, 'direct');
    });
    // A new peer, once the one that could not be reached has left: peer to peer again.
    media.connectionEnded(bob.connection);
    const carol = recordedConnection();
    const carolId = media.subscribe(carol.connection, 'stream-a', alice.connection, noVideoPreferences);
    media.subscribed(carol.connection, carolId);
    await wait(60);
    assert.equal(media.mode, 'direct');
    media.close();
  });

  it('reports a client that cannot reach the router once, in the stats, and keeps its media peer to peer', () => {
    const { media } = adaptive();
    const failures: string[] = [];
    media.observer.on('pathFailed', (connection, path) => failures.push(`${connection.id} ${path}`));
    const { alice, bob, routedId } = oneOnOne(media);
    media.pathFailed(bob.connection, routedId, 'routed');
    media.pathFailed(alice.connection, 'upstream-stream-a', 'routed');
    media.pathFailed(alice.connection, 'upstream-stream-a', 'routed');
    assert.deepEqual(failures, [`${bob.connection.id} routed`, `${alice.connection.id} routed`]);
    assert.deepEqual(media.stats().routerUnreachable, [bob.connection.id, alice.connection.id]);
    assert.equal(media.mode, 'direct');
    assert.throws(() => {
      media.pathFailed(bob.connection, 'upstream-stream-a', 'routed');
    });
    media.connectionEnded(bob.connection);
    assert.deepEqual(media.stats().routerUnreachable, [alice.connection.id]);
    media.close();
  });
});
