import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ParlorError } from '@parlor/protocol';
import type { MediaRouter, RouterStats } from '../media/router/MediaRouter.js';
import type { Publication } from '../media/router/Publication.js';
import type { Subscription } from '../media/router/Subscription.js';
import type { RoomConnection } from './RoomConnection.js';
import type { Negotiation, StreamMedia } from './StreamMedia.js';

/** The pseudo connection ID a publisher sees as the subscriber of its upstream. */
export const routerConnectionId = 'router';

/** A publisher's one peer connection, to the router. */
interface Upstream {
  readonly id: string;
  readonly streamId: string;
  readonly publisher: RoomConnection;
  publication: Publication | null;
}

/** A subscriber's peer connection from the router. */
interface Downstream {
  readonly id: string;
  readonly streamId: string;
  readonly subscriber: RoomConnection;
  subscription: Subscription | null;
}

/**
 * Routed media for a room: each publisher negotiates one peer connection with the Media Router
 * (announced to it as a subscription whose subscriber is the router), and the router offers each
 * subscriber a peer connection of its own. To the client this is the relayed protocol with the
 * router at the other end.
 */
export class RoutedMedia implements StreamMedia {
  readonly #router: MediaRouter;
  readonly #logger: Logger;
  readonly #upstreams = new Map<string, Upstream>();
  readonly #downstreams = new Map<string, Downstream>();

  constructor(router: MediaRouter, logger: Logger) {
    this.#router = router;
    this.#logger = logger;
  }

  /** The publisher is asked to offer its stream to the router. */
  published(publisher: RoomConnection, streamId: string): void {
    const upstream: Upstream = { id: randomUUID(), streamId, publisher, publication: null };
    this.#upstreams.set(upstream.id, upstream);
    publisher.send('subscriptionCreated', {
      subscriptionId: upstream.id,
      streamId,
      subscriber: routerConnectionId,
    });
  }

  subscribe(subscriber: RoomConnection, streamId: string): string {
    const downstream: Downstream = { id: randomUUID(), streamId, subscriber, subscription: null };
    this.#downstreams.set(downstream.id, downstream);
    return downstream.id;
  }

  /** The router offers the stream, now or as soon as its publisher's media is negotiated. */
  subscribed(_subscriber: RoomConnection, subscriptionId: string): void {
    const downstream = this.#downstreams.get(subscriptionId);
    const upstream = downstream && this.#upstreamOf(downstream.streamId);
    if (downstream && upstream?.publication) this.#offer(downstream, upstream.publication);
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
    if (message.kind === 'answer' && downstream.subscription)
      this.#router.answer(downstream.subscription, message.sdp);
  }

  streamEnded(streamId: string): void {
    const upstream = this.#upstreamOf(streamId);
    if (!upstream) return;
    for (const downstream of [...this.#downstreams.values()]) {
      if (downstream.streamId === streamId) this.#endDownstream(downstream, true);
    }
    if (upstream.publication) this.#router.unpublish(upstream.publication);
    this.#upstreams.delete(upstream.id);
  }

  connectionEnded(connection: RoomConnection): void {
    for (const downstream of [...this.#downstreams.values()]) {
      if (downstream.subscriber === connection) this.#endDownstream(downstream, false);
    }
  }

  stats(): RouterStats {
    return this.#router.stats();
  }

  close(): void {
    this.#router.close();
    this.#upstreams.clear();
    this.#downstreams.clear();
  }

  #acceptOffer(upstream: Upstream, sdp: string): void {
    if (upstream.publication) {
      this.#logger.warn({ streamId: upstream.streamId }, 'a publisher offered its stream twice');
      return;
    }
    let answer: { publication: Publication; answerSdp: string };
    try {
      answer = this.#router.publish(sdp);
    } catch (error) {
      throw new ParlorError(
        'INVALID_REQUEST',
        `the router cannot take this offer: ${(error as Error).message}`,
      );
    }
    upstream.publication = answer.publication;
    upstream.publisher.send('answer', {
      subscriptionId: upstream.id,
      streamId: upstream.streamId,
      from: routerConnectionId,
      sdp: answer.answerSdp,
    });
    for (const downstream of this.#downstreams.values()) {
      if (downstream.streamId === upstream.streamId && !downstream.subscription)
        this.#offer(downstream, answer.publication);
    }
  }

  #offer(downstream: Downstream, publication: Publication): void {
    const { subscription, offerSdp } = this.#router.subscribe(publication);
    downstream.subscription = subscription;
    downstream.subscriber.send('offer', {
      subscriptionId: downstream.id,
      streamId: downstream.streamId,
      from: routerConnectionId,
      sdp: offerSdp,
    });
  }

  /** Ends a subscriber's peer connection; it is told when the stream, not it, ended it. */
  #endDownstream(downstream: Downstream, notify: boolean): void {
    this.#downstreams.delete(downstream.id);
    if (downstream.subscription) this.#router.unsubscribe(downstream.subscription);
    if (notify && !downstream.subscriber.closed) {
      downstream.subscriber.send('subscriptionDestroyed', {
        subscriptionId: downstream.id,
        streamId: downstream.streamId,
      });
    }
  }

  #upstreamOf(streamId: string): Upstream | undefined {
    for (const upstream of this.#upstreams.values()) if (upstream.streamId === streamId) return upstream;
    return undefined;
  }
}
