import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { noVideoPreferences } from '../media/router/Subscription.js';
import type { MediaWorker } from '../media/worker/MediaWorker.js';
import { RemoteRouter } from '../media/worker/RemoteRouter.js';
import type { MediaWorkerMethod, MediaWorkerMethods } from '../media/worker/workerProtocol.js';
import { recordedConnection } from './recordedConnection.js';
import { RoutedMedia } from './RoutedMedia.js';
import type { PublishedStreamOptions } from './StreamMedia.js';

// RoutedMedia between clients' connections and a RemoteRouter whose worker is a stand-in: it
// records the calls that would cross to the worker thread and answers them as the test says.

const offerSdp = readFileSync(
  new URL('../media/sdp/fixtures/chromium-publisher-offer.sdp', import.meta.url),
  'utf8',
);

const logger = pino({ level: 'silent' });

interface RecordedCall {
  readonly method: MediaWorkerMethod;
  readonly params: unknown;
}

/** A media worker stand-in: `subscribe` waits for `completeSubscribe`; every other call succeeds at once. */
class FakeWorker {
  readonly index = 0;
  readonly admitting = true;
  readonly calls: RecordedCall[] = [];
  #pendingSubscribe: (() => void) | null = null;

  call<M extends MediaWorkerMethod>(
    method: M,
    params: MediaWorkerMethods[M]['params'],
  ): Promise<MediaWorkerMethods[M]['result']> {
    this.calls.push({ method, params });
    const results: { [K in MediaWorkerMethod]?: MediaWorkerMethods[K]['result'] } = {
      publish: { publicationId: 'publication-1', answerSdp: 'answer' },
      subscribe: { subscriptionId: 'subscription-1', offerSdp: 'offer' },
      startRecording: { recordingId: 'recording-1', path: '/recordings/1.webm' },
    };
    const result = (results[method] ?? null) as MediaWorkerMethods[M]['result'];
    if (method !== 'subscribe') return Promise.resolve(result);
    return new Promise((resolve) => {
      this.#pendingSubscribe = () => {
        resolve(result);
      };
    });
  }

  /** Answers the pending `subscribe`; resolves once RoutedMedia has handled the answer. */
  async completeSubscribe(): Promise<void> {
    assert.ok(this.#pendingSubscribe, 'no subscribe under way');
    this.#pendingSubscribe();
    await settled();
  }

  callsOf(method: MediaWorkerMethod): unknown[] {
    return this.calls.filter((call) => call.method === method).map((call) => call.params);
  }
}

/** Lets promise callbacks run. */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A routed room's media with Alice publishing (her media at the router) and Bob, who subscribes. */
async function publishedStream(options: PublishedStreamOptions = { subscriberAudioFallback: true }) {
  const worker = new FakeWorker();
  const router = new RemoteRouter(worker as unknown as MediaWorker);
  const media = new RoutedMedia({ createRouter: () => router, onMediaLost: () => undefined, logger });
  const alice = recordedConnection();
  const bob = recordedConnection();
  media.published(alice.connection, 'stream-1', options);
  const upstream = alice.events.find((frame) => frame.event === 'subscriptionCreated');
  assert.ok(upstream?.event === 'subscriptionCreated');
  media.negotiate(alice.connection, upstream.data.subscriptionId, { kind: 'offer', sdp: offerSdp });
  await settled();
  return { worker, router, media, alice, bob, upstreamId: upstream.data.subscriptionId };
}

describe('RoutedMedia', () => {
  it("passes a subscriber's video preferences with its subscription to the router, then each change", async () => {
    const { worker, router, media, alice, bob } = await publishedStream();
    const preferences = { resolution: { width: 320, height: 180 }, frameRate: 15 };
    const id = media.subscribe(bob.connection, 'stream-1', alice.connection, preferences);
    media.subscribed(bob.connection, id);
    await worker.completeSubscribe();
    assert.deepEqual(worker.callsOf('subscribe'), [
      { routerId: router.id, publicationId: 'publication-1', preferences, audioFallback: true },
    ]);
    media.updateSubscription(bob.connection, id, { frameRate: null });
    media.updateSubscription(bob.connection, id, { resolution: { width: 640, height: 360 } });
    assert.deepEqual(
      worker.callsOf('setPreferences').map((params) => (params as { preferences: unknown }).preferences),
      [
        { resolution: { width: 320, height: 180 }, frameRate: null },
        { resolution: { width: 640, height: 360 }, frameRate: null },
      ],
    );
  });

  it('keeps a change made while the router makes the subscription, and sends it once the router has it', async () => {
    const { worker, router, media, alice, bob } = await publishedStream();
    const id = media.subscribe(bob.connection, 'stream-1', alice.connection, noVideoPreferences);
    media.subscribed(bob.connection, id);
    media.updateSubscription(bob.connection, id, { frameRate: 7 });
    assert.deepEqual(worker.callsOf('setPreferences'), []);
    await worker.completeSubscribe();
    assert.deepEqual(worker.callsOf('setPreferences'), [
      {
        routerId: router.id,
        subscriptionId: 'subscription-1',
        preferences: { resolution: null, frameRate: 7 },
      },
    ]);
  });

  it("refuses a change to a subscription that is not the caller's, or is a publisher's upstream, with SUBSCRIPTION_NOT_FOUND", async () => {
    const { media, alice, bob, upstreamId } = await publishedStream();
    const id = media.subscribe(bob.connection, 'stream-1', alice.connection, noVideoPreferences);
    for (const [by, subscriptionId] of [
      [alice.connection, id],
      [alice.connection, upstreamId],
      [bob.connection, 'no-such-subscription'],
    ] as const) {
      assert.throws(
        () => {
          media.updateSubscription(by, subscriptionId, { frameRate: 1 });
        },
        { id: 'SUBSCRIPTION_NOT_FOUND' },
      );
    }
  });

  it("tells the publisher, on its subscription toward the router, which of its encodings the router's event names", async () => {
    const { router, alice, upstreamId } = await publishedStream();
    const encodings = [
      { rid: 'q', active: true },
      { rid: 'h', active: true },
      { rid: 'f', active: false },
    ];
    router.deliver({
      routerId: router.id,
      event: 'encodingsChanged',
      publicationId: 'publication-1',
      encodings,
    });
    router.deliver({ routerId: router.id, event: 'encodingsChanged', publicationId: 'ended', encodings });
    assert.deepEqual(
      alice.events.filter((frame) => frame.event === 'encodingsChanged').map((frame) => frame.data),
      [{ subscriptionId: upstreamId, streamId: 'stream-1', encodings }],
    );
  });

  it("passes the publisher's choice of subscriber audio fallback with each subscription to the router", async () => {
    const { worker, media, alice, bob } = await publishedStream({ subscriberAudioFallback: false });
    const id = media.subscribe(bob.connection, 'stream-1', alice.connection, noVideoPreferences);
    media.subscribed(bob.connection, id);
    await worker.completeSubscribe();
    assert.deepEqual(
      worker.callsOf('subscribe').map((params) => (params as { audioFallback: boolean }).audioFallback),
      [false],
    );
  });

  it("tells the subscriber, on its own subscription, of the router's audio fallback events", async () => {
    const { worker, router, media, alice, bob } = await publishedStream();
    const id = media.subscribe(bob.connection, 'stream-1', alice.connection, noVideoPreferences);
    media.subscribed(bob.connection, id);
    await worker.completeSubscribe();
    for (const [subscriptionId, fallbackEvent] of [
      ['subscription-1', 'videoDisableWarning'],
      ['subscription-1', 'videoDisabled'],
      ['ended', 'videoDisabled'],
      ['subscription-1', 'videoEnabled'],
    ] as const)
      router.deliver({ routerId: router.id, event: 'videoFallback', subscriptionId, fallbackEvent });
    assert.deepEqual(
      bob.events.filter((frame) => frame.event === 'videoFallback').map((frame) => frame.data),
      ['videoDisableWarning', 'videoDisabled', 'videoEnabled'].map((event) => ({
        subscriptionId: id,
        streamId: 'stream-1',
        event,
      })),
    );
    assert.deepEqual(
      alice.events.filter((frame) => frame.event === 'videoFallback'),
      [],
    );
  });

  it('tells the archive of a recording whose file its worker could not write (a full disk), and of no other', async () => {
    const { router, media } = await publishedStream();
    const failures: string[] = [];
    await media.record('stream-1', {
      basePath: '/recordings/1',
      hasAudio: true,
      hasVideo: true,
      onWriteFailure: (error) => failures.push(error.message),
    });
    const message = 'ENOSPC: no space left on device, write';
    router.deliver({ routerId: router.id, event: 'recordingFailed', recordingId: 'another', message: 'no' });
    router.deliver({ routerId: router.id, event: 'recordingFailed', recordingId: 'recording-1', message });
    assert.deepEqual(failures, [message]);
  });
});
