import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ParlorError } from '@parlor/protocol';
import {
  checkPublisherOffer,
  type EncodingState,
  type PublicationStats,
  type SubscriptionStats,
} from '../media/router/MediaRouter.js';
import type { RouterReadings } from '../media/router/routerReadings.js';
import type { VideoPreferences } from '../media/router/Subscription.js';
import type { VideoFallbackEvent } from '../media/router/VideoFallback.js';
import type { RecordedFile, RecordOptions, StreamRecording } from '../archive/ArchiveMedia.js';
import { InvalidStateError } from '../InvalidStateError.js';
import { MediaWorkersOverloadedError } from '../media/worker/MediaWorkerPool.js';
import type { RemoteRouter } from '../media/worker/RemoteRouter.js';
import type { RoomConnection } from './RoomConnection.js';
import type { Negotiation, PublishedStreamOptions, StreamMedia } from './StreamMedia.js';

/** The pseudo connection ID a publisher sees as the subscriber of its upstream. */
export const routerConnectionId = 'router';

/** A publisher's one peer connection, to the router. */
interface Upstream {
  readonly id: string;
  readonly streamId: string;
  readonly publisher: RoomConnection;
  /** What the publisher chose for its subscribers, passed with each subscription to the router. */
  readonly options: PublishedStreamOptions;
  /** Whether the publisher's offer reached the router. */
  offered: boolean;
  /** Set once the router has answered. */
  publicationId: string | null;
}

/** A subscriber's peer connection from the router. */
interface Downstream {
  readonly id: string;
  readonly streamId: string;
  readonly subscriber: RoomConnection;
  /** Whether the router was asked to offer it. */
  offered: boolean;
  /** Set once the router has made its offer. */
  subscriptionId: string | null;
  /** What the subscriber wants of the video; replaced, never changed in place. */
  preferences: VideoPreferences;
}

/** The counters of a routed room's router, by stream and subscriber, and which media worker hosts it. */
export interface RoutedMediaStats {
  /** The index of the media worker that hosts the session's router. */
  readonly worker: number;
  /** Whether that worker, overloaded, holds every subscriber's video at the lowest layer. */
  readonly shedding: boolean;
  readonly publications: readonly (PublicationStats & { readonly streamId: string })[];
  readonly subscriptions: readonly (SubscriptionStats & {
    readonly streamId: string;
    /** The subscriber's connection ID. */
    readonly connectionId: string;
  })[];
}

/**
 * A routed room's router counters in compact rows (`RouterReadings`), with the stream of each
 * publication and the stream and subscriber of each subscription.
 */
export interface RoutedReadings extends RouterReadings {
  /** By publication ID; one that ended while the worker answered is absent. */
  readonly streams: ReadonlyMap<string, string>;
  /** By subscription ID; one that ended while the worker answered is absent. */
  readonly subscribers: ReadonlyMap<string, { readonly streamId: string; readonly connectionId: string }>;
}

/** A `record` call waiting for its stream's media to reach the router. */
interface PublicationWaiter {
  resolve(publicationId: string): void;
  reject(error: Error): void;
}

export interface RoutedMediaOptions {
  /** Makes the room's router, on the least loaded media worker; throws `MediaWorkersOverloadedError` when none admits. */
  readonly createRouter: () => RemoteRouter;
  /** The router lost a stream's media (its worker died, or it refused the stream): end the stream. */
  readonly onMediaLost: (streamId: string) => void;
  readonly logger: Logger;
}

/**
 * Routed media for a room: each publisher negotiates one peer connection with the Media Router
 * (announced to it as a subscription whose subscriber is the router), and the router offers each
 * subscriber a peer connection of its own. To the client this is the relayed protocol with the
 * router at the other end. The router lives in a media worker: calls to it are asynchronous, and
 * whatever ended while a call was under way is undone when its answer comes.
 */
export class RoutedMedia implements StreamMedia {
  readonly #options: RoutedMediaOptions;
  readonly #logger: Logger;
  readonly #upstreams = new Map<string, Upstream>();
  readonly #downstreams = new Map<string, Downstream>();
  /** By stream ID: recordings asked for before the publisher's media was negotiated. */
  readonly #publicationWaiters = new Map<string, PublicationWaiter[]>();
  #router: RemoteRouter | null = null;

  constructor(options: RoutedMediaOptions) {
    this.#options = options;
    this.#logger = options.logger;
  }

  /**
   * Refuses a new publisher while the session's media worker is overloaded, or, for a session
   * without a router yet, while every worker is: the new session is placed now. Those already
   * publishing keep going.
   */
  admitPublisher(): void {
    const router = this.#currentRouter();
    if (!router.worker.admitting)
      throw new ParlorError('MEDIA_OVERLOADED_PUBLISH', `media worker ${router.worker.index} is overloaded`);
  }

  /**
   * The publisher is asked to offer its stream to the router; `paused`: to negotiate but send
   * nothing until told (adaptive routing, while the stream goes peer to peer).
   */
  published(
    publisher: RoomConnection,
    streamId: string,
    options: PublishedStreamOptions,
    paused = false,
  ): void {
    const upstream: Upstream = {
      id: randomUUID(),
      streamId,
      publisher,
      options,
      offered: false,
      publicationId: null,
    };
    this.#upstreams.set(upstream.id, upstream);
    publisher.send('subscriptionCreated', {
      subscriptionId: upstream.id,
      streamId,
      subscriber: routerConnectionId,
      ...(paused ? { paused } : {}),
    });
  }

  /** The ID of the publisher's subscription whose subscriber is the router. */
  upstreamIdOf(streamId: string): string | undefined {
    return this.#upstreamOf(streamId)?.id;
  }

  subscribe(
    subscriber: RoomConnection,
    streamId: string,
    _publisher: RoomConnection,
    preferences: VideoPreferences,
  ): string {
    // Refused now, in the answer to the request, while its worker is overloaded; without a
    // router the stream's media is lost already and the subscription waits for none.
    const worker = this.#router?.worker;
    if (worker && !worker.admitting)
      throw new ParlorError('MEDIA_OVERLOADED_SUBSCRIBE', `media worker ${worker.index} is overloaded`);
    const downstream: Downstream = {
      id: randomUUID(),
      streamId,
      subscriber,
      offered: false,
      subscriptionId: null,
      preferences,
    };
    this.#downstreams.set(downstream.id, downstream);
    return downstream.id;
  }

  /** The router offers the stream, now or as soon as its publisher's media is negotiated. */
  subscribed(_subscriber: RoomConnection, subscriptionId: string): void {
    const downstream = this.#downstreams.get(subscriptionId);
    const upstream = downstream && this.#upstreamOf(downstream.streamId);
    if (downstream && upstream) this.#offer(downstream, upstream);
  }

  /** Keeps the subscriber's new preferences; the router gets them once it has the subscription. */
  updateSubscription(by: RoomConnection, subscriptionId: string, changes: Partial<VideoPreferences>): void {
    const downstream = this.#downstreams.get(subscriptionId);
    if (downstream?.subscriber !== by) throw new ParlorError('SUBSCRIPTION_NOT_FOUND', subscriptionId);
    downstream.preferences = { ...downstream.preferences, ...changes };
    if (downstream.subscriptionId && this.#router)
      this.#settle(
        this.#router.setPreferences(downstream.subscriptionId, downstream.preferences),
        'setPreferences',
      );
  }

  unsubscribe(by: RoomConnection, subscriptionId: string): void {
    const downstream = this.#downstreams.get(subscriptionId);
    if (downstream?.subscriber !== by) throw new ParlorError('SUBSCRIPTION_NOT_FOUND', subscriptionId);
    this.#endDownstream(downstream, false);
  }

  negotiate(from: RoomConnection, subscriptionId: string, message: Negotiation): void {
    const upstream = this.#upstreams.get(subscriptionId);
    if (upstream?.publisher === from) {
      if (message.kind === 'offer') this.#acceptOffer(upstream, message.sdp);
      // The router is ICE-lite: it learns the client's addresses from its checks.
      return;
    }
    const downstream = this.#downstreams.get(subscriptionId);
    if (downstream?.subscriber !== from) throw new ParlorError('SUBSCRIPTION_NOT_FOUND', subscriptionId);
    if (message.kind === 'answer' && downstream.subscriptionId && this.#router) {
      this.#settle(this.#router.answer(downstream.subscriptionId, message.sdp), 'answer');
    }
  }

  streamEnded(streamId: string): void {
    this.#rejectWaiters(streamId, new InvalidStateError(`the stream ${streamId} ended`));
    const upstream = this.#upstreamOf(streamId);
    if (!upstream) return;
    for (const downstream of [...this.#downstreams.values()]) {
      if (downstream.streamId === streamId) this.#endDownstream(downstream, true);
    }
    this.#upstreams.delete(upstream.id);
    if (upstream.publicationId && this.#router)
      this.#settle(this.#router.unpublish(upstream.publicationId), 'unpublish');
  }

  connectionEnded(connection: RoomConnection): void {
    for (const downstream of [...this.#downstreams.values()]) {
      if (downstream.subscriber === connection) this.#endDownstream(downstream, false);
    }
  }

  /** The router's counters, or null before it has one. */
  async stats(): Promise<RoutedMediaStats | null> {
    const router = this.#router;
    if (!router) return null;
    const { shedding, publications, subscriptions } = await router.stats();
    const { streams, subscribers } = this.#routerIds();
    return {
      worker: router.worker.index,
      shedding,
      // What ended while the worker was answering is left out.
      publications: publications.flatMap((publication) => {
        const streamId = streams.get(publication.id);
        return streamId ? [{ ...publication, streamId }] : [];
      }),
      subscriptions: subscriptions.flatMap((subscription) => {
        const subscriber = subscribers.get(subscription.id);
        return subscriber ? [{ ...subscription, ...subscriber }] : [];
      }),
    };
  }

  /** The router's counters in compact rows, for sampling and `/metrics`; null before it has a router. */
  async readings(): Promise<RoutedReadings | null> {
    const router = this.#router;
    if (!router) return null;
    const readings = await router.readings();
    return { ...readings, ...this.#routerIds() };
  }

  /** The room's streams by the router's publication IDs, and its subscribers by subscription IDs. */
  #routerIds(): Pick<RoutedReadings, 'streams' | 'subscribers'> {
    const streams = new Map<string, string>();
    for (const upstream of this.#upstreams.values())
      if (upstream.publicationId) streams.set(upstream.publicationId, upstream.streamId);
    const subscribers = new Map<string, { streamId: string; connectionId: string }>();
    for (const downstream of this.#downstreams.values())
      if (downstream.subscriptionId)
        subscribers.set(downstream.subscriptionId, {
          streamId: downstream.streamId,
          connectionId: downstream.subscriber.id,
        });
    return { streams, subscribers };
  }

  /**
   * Records a stream of the room as the router receives it: at once, or as soon as its
   * publisher's media is negotiated. Rejects when the stream ends first.
   */
  async record(streamId: string, options: RecordOptions): Promise<StreamRecording> {
    const publicationId =
      this.#upstreamOf(streamId)?.publicationId ??
      (await new Promise<string>((resolve, reject) => {
        const waiters = this.#publicationWaiters.get(streamId) ?? [];
        waiters.push({ resolve, reject });
        this.#publicationWaiters.set(streamId, waiters);
      }));
    const router = this.#currentRouter();
    const { recordingId } = await router.startRecording(publicationId, {
      path: options.basePath,
      audio: options.hasAudio,
      video: options.hasVideo,
    });
    const onFailed = (failedId: string, message: string): void => {
      if (failedId === recordingId) options.onWriteFailure(new Error(message));
    };
    router.on('recordingFailed', onFailed);
    let stopped: Promise<RecordedFile> | null = null;
    return {
      stop: () => {
        router.off('recordingFailed', onFailed);
        return (stopped ??= router.stopRecording(recordingId).then((result) => ({
          path: result.path,
          startedAt: result.tracks.some((track) => track.frames > 0) ? result.startMs : null,
          durationMs: result.durationMs,
        })));
      },
    };
  }

  close(): void {
    for (const streamId of [...this.#publicationWaiters.keys()])
      this.#rejectWaiters(streamId, new InvalidStateError('the session ended'));
    this.#router?.close();
    this.#router = null;
    this.#upstreams.clear();
    this.#downstreams.clear();
  }

  /** The room's router, made on first use and again after its worker died. */
  #currentRouter(): RemoteRouter {
    if (this.#router) return this.#router;
    let router: RemoteRouter;
    try {
      router = this.#options.createRouter();
    } catch (error) {
      if (error instanceof MediaWorkersOverloadedError)
        throw new ParlorError('MEDIA_OVERLOADED_PUBLISH', error.message, { cause: error });
      this.#logger.error({ err: error }, 'no media router for the session');
      throw new ParlorError('INTERNAL', 'the media router is unavailable');
    }
    router.on('lost', (error) => {
      this.#routerLost(router, error);
    });
    router.on('encodingsChanged', (publicationId, encodings) => {
      this.#encodingsChanged(publicationId, encodings);
    });
    router.on('videoFallback', (subscriptionId, event) => {
      this.#videoFallback(subscriptionId, event);
    });
    this.#router = router;
    return router;
  }

  #acceptOffer(upstream: Upstream, sdp: string): void {
    if (upstream.offered) {
      this.#logger.warn({ streamId: upstream.streamId }, 'a publisher offered its stream twice');
      return;
    }
    try {
      checkPublisherOffer(sdp);
    } catch (error) {
      throw new ParlorError(
        'INVALID_REQUEST',
        `the router cannot take this offer: ${(error as Error).message}`,
      );
    }
    const router = this.#currentRouter();
    upstream.offered = true;
    router.publish(sdp).then(
      ({ publicationId, answerSdp }) => {
        if (!this.#isCurrent(router, this.#upstreams, upstream)) {
          this.#settle(router.unpublish(publicationId), 'unpublish');
          return;
        }
        upstream.publicationId = publicationId;
        for (const waiter of this.#publicationWaiters.get(upstream.streamId) ?? [])
          waiter.resolve(publicationId);
        this.#publicationWaiters.delete(upstream.streamId);
        upstream.publisher.send('answer', {
          subscriptionId: upstream.id,
          streamId: upstream.streamId,
          from: routerConnectionId,
          sdp: answerSdp,
        });
        for (const downstream of this.#downstreams.values()) {
          if (downstream.streamId === upstream.streamId) this.#offer(downstream, upstream);
        }
      },
      (error: unknown) => {
        if (!this.#isCurrent(router, this.#upstreams, upstream)) return;
        this.#logger.error({ err: error, streamId: upstream.streamId }, 'the router refused a stream');
        this.#options.onMediaLost(upstream.streamId);
      },
    );
  }

  #offer(downstream: Downstream, upstream: Upstream): void {
    if (downstream.offered || !this.#router || !upstream.publicationId) return;
    const router = this.#router;
    const { preferences } = downstream;
    downstream.offered = true;
    const audioFallback = upstream.options.subscriberAudioFallback;
    router.subscribe(upstream.publicationId, { preferences, audioFallback }).then(
      ({ subscriptionId, offerSdp }) => {
        if (!this.#isCurrent(router, this.#downstreams, downstream)) {
          this.#settle(router.unsubscribe(subscriptionId), 'unsubscribe');
          return;
        }
        downstream.subscriptionId = subscriptionId;
        // The subscriber changed its mind while the router was making the subscription.
        if (downstream.preferences !== preferences)
          this.#settle(router.setPreferences(subscriptionId, downstream.preferences), 'setPreferences');
        downstream.subscriber.send('offer', {
          subscriptionId: downstream.id,
          streamId: downstream.streamId,
          from: routerConnectionId,
          sdp: offerSdp,
        });
      },
      (error: unknown) => {
        if (!this.#isCurrent(router, this.#downstreams, downstream)) return;
        this.#logger.error(
          { err: error, streamId: downstream.streamId },
          'the router refused a subscription',
        );
        this.#endDownstream(downstream, true);
      },
    );
  }

  /** Ends a subscriber's peer connection; it is told when the stream, not it, ended it. */
  #endDownstream(downstream: Downstream, notify: boolean): void {
    this.#downstreams.delete(downstream.id);
    if (downstream.subscriptionId && this.#router)
      this.#settle(this.#router.unsubscribe(downstream.subscriptionId), 'unsubscribe');
    if (notify && !downstream.subscriber.closed) {
      downstream.subscriber.send('subscriptionDestroyed', {
        subscriptionId: downstream.id,
        streamId: downstream.streamId,
      });
    }
  }

  /** Tells a publisher which of its simulcast encodings the router needs now. */
  #encodingsChanged(publicationId: string, encodings: readonly EncodingState[]): void {
    const upstream = [...this.#upstreams.values()].find((entry) => entry.publicationId === publicationId);
    if (!upstream || upstream.publisher.closed) return;
    upstream.publisher.send('encodingsChanged', {
      subscriptionId: upstream.id,
      streamId: upstream.streamId,
      encodings: [...encodings],
    });
  }

  /** Tells a subscriber that the router stopped or restarted its video, or warned it might. */
  #videoFallback(subscriptionId: string, event: VideoFallbackEvent): void {
    const downstream = [...this.#downstreams.values()].find(
      (entry) => entry.subscriptionId === subscriptionId,
    );
    if (!downstream || downstream.subscriber.closed) return;
    this.#logger.info(
      { streamId: downstream.streamId, connectionId: downstream.subscriber.id, event },
      'audio fallback',
    );
    downstream.subscriber.send('videoFallback', {
      subscriptionId: downstream.id,
      streamId: downstream.streamId,
      event,
    });
  }

  /** The router's worker died: its streams end, and the next offer makes a new router. */
  #routerLost(router: RemoteRouter, error: Error): void {
    if (router !== this.#router) return;
    this.#router = null;
    this.#logger.error({ err: error }, 'the session lost its media router');
    const lost = [...this.#upstreams.values()].filter((upstream) => upstream.offered);
    for (const upstream of lost) {
      upstream.publicationId = null;
      this.#options.onMediaLost(upstream.streamId);
    }
  }

  /** Whether an answer from the router still matters: same router, and the entry not ended. */
  #isCurrent<T>(
    router: RemoteRouter,
    entries: Map<string, T & { id: string }>,
    entry: T & { id: string },
  ): boolean {
    return router === this.#router && entries.get(entry.id) === entry;
  }

  /** Cleanup calls whose failure (a router already closed) leaves nothing to do but note it. */
  #settle(call: Promise<unknown>, what: string): void {
    call.catch((error: unknown) => {
      this.#logger.debug({ err: error }, `router ${what} failed`);
    });
  }

  #rejectWaiters(streamId: string, error: Error): void {
    for (const waiter of this.#publicationWaiters.get(streamId) ?? []) waiter.reject(error);
    this.#publicationWaiters.delete(streamId);
  }

  #upstreamOf(streamId: string): Upstream | undefined {
    for (const upstream of this.#upstreams.values()) if (upstream.streamId === streamId) return upstream;
    return undefined;
  }
}
