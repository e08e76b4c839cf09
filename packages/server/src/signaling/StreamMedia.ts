import type { IceCandidate } from '@parlor/protocol';
import type { VideoPreferences } from '../media/router/Subscription.js';
import type { RoomConnection } from './RoomConnection.js';

/** A negotiation message from a client, about one of its subscriptions. */
export type Negotiation =
  | { readonly kind: 'offer' | 'answer'; readonly sdp: string }
  | { readonly kind: 'iceCandidate'; readonly candidate: IceCandidate };

/** What a stream's publisher chose for how its stream reaches subscribers. */
export interface PublishedStreamOptions {
  /**
   * Routed media: whether the router may stop sending the video to a subscriber whose link
   * cannot carry it (OpenTok's subscriber audio fallback).
   */
  readonly subscriberAudioFallback: boolean;
  /**
   * Adaptive routing: the publisher asked for its stream to go through the router only (its
   * `adaptiveRouting: false`), which keeps the session routed while it is published. Default: false.
   */
  readonly routerOnly?: boolean;
}

/**
 * How a room's streams reach their subscribers: peer to peer through a relay of the
 * negotiation (`SubscriptionRelay`, relayed sessions), or through the Media Router
 * (`RoutedMedia`, routed sessions). The room calls it; clients cannot tell which one it is
 * except by where their peer connections go.
 */
export interface StreamMedia {
  /** A stream was published (called once the publisher has the stream's ID). */
  published(publisher: RoomConnection, streamId: string, options: PublishedStreamOptions): void;
  /** Starts a subscription to the stream, wanting its video as the preferences say; returns its ID. */
  subscribe(
    subscriber: RoomConnection,
    streamId: string,
    publisher: RoomConnection,
    preferences: VideoPreferences,
  ): string;
  /** A subscription was created (called once the subscriber has its ID). */
  subscribed(subscriber: RoomConnection, subscriptionId: string): void;
  /**
   * Changes what the subscriber wants of the stream's video; the preferences left out keep their
   * value. Only the subscriber may: for anyone else the subscription is not found.
   */
  updateSubscription(by: RoomConnection, subscriptionId: string, changes: Partial<VideoPreferences>): void;
  /** Ends a subscription at either end's request. */
  unsubscribe(by: RoomConnection, subscriptionId: string): void;
  negotiate(from: RoomConnection, subscriptionId: string, message: Negotiation): void;
  streamEnded(streamId: string): void;
  connectionEnded(connection: RoomConnection): void;
  /** The room closed. */
  close(): void;
}
