import { randomUUID } from 'node:crypto';
import { ParlorError } from '@parlor/protocol';
import type { RoomConnection } from './RoomConnection.js';
import type { Negotiation, StreamMedia } from './StreamMedia.js';

/** A subscriber's wish to receive one stream: the pair whose peer connection the server relays. */
interface Subscription {
  readonly id: string;
  readonly streamId: string;
  readonly subscriber: RoomConnection;
  readonly publisher: RoomConnection;
}

/**
 * The subscriptions of one room, for relayed media: each pairs a subscriber with a stream's
 * publisher, and the WebRTC offer, answer and ICE candidates of their peer connection pass
 * through here to the other end.
 */
export class SubscriptionRelay implements StreamMedia {
  readonly #subscriptions = new Map<string, Subscription>();

  /** Nothing to do: the publisher negotiates with each subscriber as it comes. */
  published(): void {
    // Peer connections start per subscription.
  }

  /**
   * Pairs the subscriber with the stream's publisher, who is told; returns the subscription ID.
   * Video preferences do not apply: the publisher sends one encoding to each subscriber.
   */
  subscribe(subscriber: RoomConnection, streamId: string, publisher: RoomConnection): string {
    const subscription: Subscription = { id: randomUUID(), streamId, subscriber, publisher };
    this.#subscriptions.set(subscription.id, subscription);
    publisher.send('subscriptionCreated', {
      subscriptionId: subscription.id,
      streamId,
      subscriber: subscriber.id,
    });
    return subscription.id;
  }

  /** Nothing to do: the publisher, told at once, makes the offer. */
  subscribed(): void {
    // The publisher offers.
  }

  /**
   * Checks that the subscription is the caller's, and nothing more: a peer-to-peer stream has one
   * encoding, which the publisher sends as it is.
   */
  updateSubscription(by: RoomConnection, subscriptionId: string): void {
    if (this.#subscriptions.get(subscriptionId)?.subscriber !== by)
      throw new ParlorError('SUBSCRIPTION_NOT_FOUND', subscriptionId);
  }

  /** Ends a subscription at either end's request; the other end is told. */
  unsubscribe(by: RoomConnection, subscriptionId: string): void {
    const subscription = this.#partyTo(by, subscriptionId);
    this.#subscriptions.delete(subscriptionId);
    this.#notify(otherEnd(subscription, by), subscription);
  }

  /** Relays the message verbatim to the other end of the subscription. */
  negotiate(from: RoomConnection, subscriptionId: string, message: Negotiation): void {
    const subscription = this.#partyTo(from, subscriptionId);
    const to = otherEnd(subscription, from);
    const route = { subscriptionId, streamId: subscription.streamId, from: from.id };
    if (message.kind === 'iceCandidate') to.send('iceCandidate', { ...route, candidate: message.candidate });
    else to.send(message.kind, { ...route, sdp: message.sdp });
  }

  /** The stream ended: its subscriptions end, and their subscribers are told. */
  streamEnded(streamId: string): void {
    for (const subscription of this.#subscriptions.values()) {
      if (subscription.streamId !== streamId) continue;
      this.#subscriptions.delete(subscription.id);
      this.#notify(subscription.subscriber, subscription);
    }
  }

  /** The connection left: its subscriptions end, and the other ends are told. */
  connectionEnded(connection: RoomConnection): void {
    for (const subscription of this.#subscriptions.values()) {
      if (subscription.subscriber !== connection && subscription.publisher !== connection) continue;
      this.#subscriptions.delete(subscription.id);
      this.#notify(otherEnd(subscription, connection), subscription);
    }
  }

  close(): void {
    this.#subscriptions.clear();
  }

  #partyTo(connection: RoomConnection, subscriptionId: string): Subscription {
    const subscription = this.#subscriptions.get(subscriptionId);
    if (!subscription || (subscription.subscriber !== connection && subscription.publisher !== connection)) {
      throw new ParlorError('SUBSCRIPTION_NOT_FOUND', subscriptionId);
    }
    return subscription;
  }

  #notify(connection: RoomConnection, subscription: Subscription): void {
    if (connection.closed) return;
    connection.send('subscriptionDestroyed', {
      subscriptionId: subscription.id,
      streamId: subscription.streamId,
    });
  }
}

function otherEnd(subscription: Subscription, connection: RoomConnection): RoomConnection {
  return subscription.subscriber === connection ? subscription.publisher : subscription.subscriber;
}
