import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ParlorError, type MediaPath } from '@parlor/protocol';
import type { RecordOptions, StreamRecording } from '../archive/ArchiveMedia.js';
import type { VideoPreferences } from '../media/router/Subscription.js';
import { TypedEmitter } from '../TypedEmitter.js';
import { routingModeFor, type RoutingReason } from './adaptiveRouting.js';
import type { RoomConnection } from './RoomConnection.js';
import type { RoutedMedia, RoutedMediaStats, RoutedReadings } from './RoutedMedia.js';
import type { Negotiation, PublishedStreamOptions, StreamMedia } from './StreamMedia.js';

export interface AdaptiveRoutingOptions {
  /**
   * How long a session must qualify for peer-to-peer media before it leaves the router, ms, so
   * that a participant who joins and leaves does not move everyone twice. Default: 3000.
   */
  readonly holdMs?: number;
}

export interface AdaptiveMediaOptions extends AdaptiveRoutingOptions {
  readonly routed: RoutedMedia;
  /** Whether the server makes the connection's media (a SIP call): it can only use the router. */
  readonly serverSide: (connection: RoomConnection) => boolean;
  readonly logger: Logger;
}

/** A change of the session's media path: when, to what and why. */
export interface RoutingChange {
  /** Unix milliseconds. */
  readonly atMs: number;
  readonly mode: MediaPath;
  readonly reason: RoutingReason;
}

/** Adaptive routing in the media stats: the session's mode, its last changes, and each subscription's path. */
export interface AdaptiveRoutingStats {
  readonly mode: MediaPath;
  /** Connections that said they cannot reach the router (their media can only go peer to peer). */
  readonly routerUnreachable: readonly string[];
  /** Oldest first, the last `maxChanges`. */
  readonly changes: readonly RoutingChange[];
  readonly paths: readonly {
    readonly streamId: string;
    /** The subscriber's connection ID. */
    readonly connectionId: string;
    /** What the subscriber plays from. */
    readonly path: MediaPath;
  }[];
}

export interface AdaptiveMediaObserverEvents {
  modeChanged: [change: RoutingChange];
  /**
   * A client's path cannot carry its media, reported once: `routed`, it cannot reach the router;
   * `direct`, a stream never decoded peer to peer (once per subscriber and publisher).
   */
  pathFailed: [connection: RoomConnection, path: MediaPath];
}

/** A subscription, through the router, and the peer connection straight from its publisher when it has one. */
interface Subscription {
  /** The routed subscription's ID, which the subscriber knows its subscription by. */
  readonly id: string;
  readonly streamId: string;
  readonly subscriber: RoomConnection;
  readonly publisher: RoomConnection;
  direct: DirectPath | null;
  /** What the subscriber plays from, as it said (or routed, for a subscription made while routed); null before. */
  playing: MediaPath | null;
}

interface DirectPath {
  readonly id: string;
  /** Whether the publisher was last told to send over it. */
  sending: boolean;
}

/** Changes the media stats keep. */
const maxChanges = 20;

/**
 * Routed media with adaptive routing: streams go peer to peer while the session qualifies (see
 * `routingModeFor`), through the router otherwise, and every client keeps its router connection
 * up all along so that a move needs no new handshake. The server decides; clients follow, make
 * before break: a publisher sends on both paths until each subscriber says it plays the new one.
 * Each subscriber's peer connection straight from the publisher is a subscription of its own,
 * negotiated peer to peer as in a relayed session.
 */
export class AdaptiveMedia implements StreamMedia {
  readonly observer: TypedEmitter<AdaptiveMediaObserverEvents>;
  readonly #routed: RoutedMedia;
  readonly #serverSide: (connection: RoomConnection) => boolean;
  readonly #holdMs: number;
  readonly #logger: Logger;
  /**
   * Live streams by ID: their publisher, whether it asked to stay on the router, and whether it
   * was last told to send to the router.
   */
  readonly #streams = new Map<
    string,
    { publisher: RoomConnection; routerOnly: boolean; upstreamSending: boolean }
  >();
  /** By the routed subscription's ID. */
  readonly #subscriptions = new Map<string, Subscription>();
  /** By the direct path's ID. */
  readonly #directPaths = new Map<string, Subscription>();
  /** Connections that cannot reach the router, as they said. */
  readonly #routerUnreachable = new Set<RoomConnection>();
  /** Subscribers and publishers whose direct path never decoded: while both take part, the session stays routed. */
  readonly #directFailed: { subscriber: RoomConnection; publisher: RoomConnection }[] = [];
  #recordings = 0;
  #mode: MediaPath = 'direct';
  readonly #changes: RoutingChange[] = [];
  #hold: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: AdaptiveMediaOptions) {
    this.#routed = options.routed;
    this.#serverSide = options.serverSide;
    this.#holdMs = options.holdMs ?? 3000;
    this.#logger = options.logger;
    this.observer = new TypedEmitter((event, error) => {
      this.#logger.error({ err: error, event }, 'adaptive media listener failed');
    });
  }

  get mode(): MediaPath {
    return this.#mode;
  }

  published(publisher: RoomConnection, streamId: string, options: PublishedStreamOptions): void {
    this.#streams.set(streamId, {
      publisher,
      routerOnly: options.routerOnly === true,
      upstreamSending: false,
    });
    this.#update();
    const sending = this.#upstreamNeeded(streamId);
    const stream = this.#streams.get(streamId);
    if (stream) stream.upstreamSending = sending;
    this.#routed.published(publisher, streamId, options, !sending);
  }

  subscribe(
    subscriber: RoomConnection,
    streamId: string,
    publisher: RoomConnection,
    preferences: VideoPreferences,
  ): string {
    const id = this.#routed.subscribe(subscriber, streamId, publisher, preferences);
    // A subscription made while routed plays from the router; one made while direct, from nowhere yet.
    const playing = this.#mode === 'routed' ? 'routed' : null;
    this.#subscriptions.set(id, { id, streamId, subscriber, publisher, direct: null, playing });
    this.#update();
    return id;
  }

  /** The router offers; while the session is direct, the publisher offers too, peer to peer. */
  subscribed(subscriber: RoomConnection, subscriptionId: string): void {
    this.#routed.subscribed(subscriber, subscriptionId);
    const subscription = this.#subscriptions.get(subscriptionId);
    if (subscription && this.#mode === 'direct') this.#tellPath(subscription);
    this.#applySending();
  }

  updateSubscription(by: RoomConnection, subscriptionId: string, changes: Partial<VideoPreferences>): void {
    this.#routed.updateSubscription(by, subscriptionId, changes);
  }

  unsubscribe(by: RoomConnection, subscriptionId: string): void {
    const direct = this.#directPaths.get(subscriptionId);
    if (direct && (direct.subscriber === by || direct.publisher === by)) {
      this.#endDirect(direct, direct.subscriber === by ? direct.publisher : direct.subscriber);
      this.#applySending();
      return;
    }
    this.#routed.unsubscribe(by, subscriptionId);
    const subscription = this.#subscriptions.get(subscriptionId);
    if (subscription) this.#forget(subscription, subscription.publisher);
    this.#update();
  }

  negotiate(from: RoomConnection, subscriptionId: string, message: Negotiation): void {
    const subscription = this.#directPaths.get(subscriptionId);
    if (!subscription) {
      this.#routed.negotiate(from, subscriptionId, message);
      return;
    }
    const { subscriber, publisher, streamId } = subscription;
    if (from !== subscriber && from !== publisher)
      throw new ParlorError('SUBSCRIPTION_NOT_FOUND', subscriptionId);
    const to = from === subscriber ? publisher : subscriber;
    const route = { subscriptionId, streamId, from: from.id };
    if (message.kind === 'iceCandidate') to.send('iceCandidate', { ...route, candidate: message.candidate });
    else to.send(message.kind, { ...route, sdp: message.sdp });
  }

  /** The subscriber plays the subscription from this path now: the other may stop sending. */
  playing(by: RoomConnection, subscriptionId: string, path: MediaPath): void {
    const subscription = this.#subscriptions.get(subscriptionId);
    if (subscription?.subscriber !== by) throw new ParlorError('SUBSCRIPTION_NOT_FOUND', subscriptionId);
    if (path === 'direct' && !subscription.direct)
      throw new ParlorError('INVALID_REQUEST', `the subscription ${subscriptionId} has no direct path`);
    if (subscription.playing !== path)
      this.#logger.info({ streamId: subscription.streamId, connectionId: by.id }, `subscriber plays ${path}`);
    subscription.playing = path;
    this.#applySending();
  }

  /**
   * A client's path cannot carry its media: `direct`, a subscription whose peer-to-peer path
   * decoded nothing in time (the session moves to the router and stays there while both ends take
   * part); `routed`, its peer connection to the router failed (reported; its media goes on peer
   * to peer while it can). `subscriptionId` is one of the client's subscriptions, or for `routed`
   * its stream's upstream.
   */
  pathFailed(by: RoomConnection, subscriptionId: string, path: MediaPath): void {
    const subscription = this.#subscriptions.get(subscriptionId);
    if (path === 'direct') {
      if (subscription?.subscriber !== by) throw new ParlorError('SUBSCRIPTION_NOT_FOUND', subscriptionId);
      const { publisher } = subscription;
      if (!this.#directFailed.some((pair) => pair.subscriber === by && pair.publisher === publisher)) {
        this.#logger.warn(
          { streamId: subscription.streamId, connectionId: by.id },
          'direct path decoded nothing',
        );
        this.#directFailed.push({ subscriber: by, publisher });
        this.observer.safeEmit('pathFailed', by, 'direct');
      }
      this.#update();
      return;
    }
    const upstream = [...this.#streams].some(
      ([streamId, stream]) =>
        stream.publisher === by && this.#routed.upstreamIdOf(streamId) === subscriptionId,
    );
    if (subscription?.subscriber !== by && !upstream)
      throw new ParlorError('SUBSCRIPTION_NOT_FOUND', subscriptionId);
    if (this.#routerUnreachable.has(by)) return;
    this.#routerUnreachable.add(by);
    this.#logger.warn({ connectionId: by.id }, 'client cannot reach the router');
    this.observer.safeEmit('pathFailed', by, 'routed');
  }

  streamEnded(streamId: string): void {
    this.#routed.streamEnded(streamId);
    this.#streams.delete(streamId);
    for (const subscription of [...this.#subscriptions.values()]) {
      if (subscription.streamId === streamId) this.#forget(subscription, subscription.subscriber);
    }
    this.#update();
  }

  connectionEnded(connection: RoomConnection): void {
    this.#routed.connectionEnded(connection);
    this.#routerUnreachable.delete(connection);
    for (let index = this.#directFailed.length - 1; index >= 0; index--) {
      const pair = this.#directFailed[index];
      if (pair?.subscriber === connection || pair?.publisher === connection)
        this.#directFailed.splice(index, 1);
    }
    for (const subscription of [...this.#subscriptions.values()]) {
      if (subscription.subscriber === connection) this.#forget(subscription, subscription.publisher);
      else if (subscription.publisher === connection) this.#forget(subscription, subscription.subscriber);
    }
    this.#update();
  }

  /** Records a stream through the router: the session moves there first, and stays while it records. */
  async record(streamId: string, options: RecordOptions): Promise<StreamRecording> {
    this.#recordings += 1;
    this.#update();
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      this.#recordings -= 1;
      this.#update();
    };
    let recording: StreamRecording;
    try {
      recording = await this.#routed.record(streamId, options);
    } catch (error) {
      end();
      throw error;
    }
    return {
      stop: () => {
        end();
        return recording.stop();
      },
    };
  }

  stats(): AdaptiveRoutingStats {
    return {
      mode: this.#mode,
      routerUnreachable: [...this.#routerUnreachable].map((connection) => connection.id),
      changes: [...this.#changes],
      paths: [...this.#subscriptions.values()].map((subscription) => ({
        streamId: subscription.streamId,
        connectionId: subscription.subscriber.id,
        path: subscription.playing ?? 'routed',
      })),
    };
  }

  /** The router's counters, with the paths. */
  async routedStats(): Promise<(RoutedMediaStats & { adaptiveRouting: AdaptiveRoutingStats }) | null> {
    const stats = await this.#routed.stats();
    return stats && { ...stats, adaptiveRouting: this.stats() };
  }

  /** The router's counters in compact rows, for sampling and `/metrics` (`RoutedMedia.readings`). */
  routedReadings(): Promise<RoutedReadings | null> {
    return this.#routed.readings();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#hold) clearTimeout(this.#hold);
    this.#hold = null;
    this.#routed.close();
    this.#streams.clear();
    this.#subscriptions.clear();
    this.#directPaths.clear();
    this.#routerUnreachable.clear();
    this.#directFailed.length = 0;
  }

  /** Moves to the router at once when the session needs it; back only once it has not for `holdMs`. */
  #update(): void {
    if (this.#closed) return;
    const decision = routingModeFor(this.#needs());
    if (decision.mode === this.#mode) {
      if (this.#hold) clearTimeout(this.#hold);
      this.#hold = null;
      this.#applySending();
      return;
    }
    if (decision.mode === 'routed') {
      if (this.#hold) clearTimeout(this.#hold);
      this.#hold = null;
      this.#setMode('routed', decision.reason);
      return;
    }
    this.#hold ??= setTimeout(() => {
      this.#hold = null;
      const later = routingModeFor(this.#needs());
      if (later.mode === 'direct') this.#setMode('direct', later.reason);
    }, this.#holdMs);
    this.#applySending();
  }

  #needs(): Parameters<typeof routingModeFor>[0] {
    const participants = new Set<RoomConnection>();
    let selfSubscription = false;
    let routerOnlyPublisher = false;
    for (const { publisher, routerOnly } of this.#streams.values()) {
      participants.add(publisher);
      if (routerOnly) routerOnlyPublisher = true;
    }
    for (const subscription of this.#subscriptions.values()) {
      participants.add(subscription.subscriber);
      if (subscription.subscriber === subscription.publisher) selfSubscription = true;
    }
    return {
      participants: participants.size,
      serverSideParticipant: [...participants].some(this.#serverSide),
      recordings: this.#recordings,
      selfSubscription,
      routerOnlyPublisher,
      directFailed: this.#directFailed.length > 0,
    };
  }

  /** The one place the mode changes: every subscriber is told its path, then publishers what to send. */
  #setMode(mode: MediaPath, reason: RoutingReason): void {
    if (mode === this.#mode || this.#closed) return;
    this.#logger.info({ reason }, `media ${this.#mode} -> ${mode}`);
    this.#mode = mode;
    const change = { atMs: Date.now(), mode, reason };
    this.#changes.push(change);
    if (this.#changes.length > maxChanges) this.#changes.shift();
    for (const subscription of this.#subscriptions.values()) this.#tellPath(subscription);
    this.#applySending();
    this.observer.safeEmit('modeChanged', change);
  }

  /**
   * Tells the subscriber the path to play, making the direct one first when it is wanted and
   * missing: the subscriber hears of it before the publisher, whose offer follows.
   */
  #tellPath(subscription: Subscription): void {
    const { subscriber, publisher, streamId } = subscription;
    if (subscriber.closed || subscriber === publisher) return;
    let direct = subscription.direct;
    const made = this.#mode === 'direct' && !direct;
    if (made) {
      direct = { id: randomUUID(), sending: true };
      subscription.direct = direct;
      this.#directPaths.set(direct.id, subscription);
    }
    if (!direct) return;
    subscriber.send('mediaPath', {
      subscriptionId: subscription.id,
      streamId,
      path: this.#mode,
      directSubscriptionId: direct.id,
    });
    if (made) {
      publisher.send('subscriptionCreated', {
        subscriptionId: direct.id,
        streamId,
        subscriber: subscriber.id,
      });
    }
  }

  /**
   * Tells publishers what to send: to the router while the session is routed or a subscriber
   * still plays from it; to a subscriber directly while the session is direct or it still plays
   * from there.
   */
  #applySending(): void {
    for (const [streamId, stream] of this.#streams) {
      const needed = this.#upstreamNeeded(streamId);
      if (needed === stream.upstreamSending) continue;
      const upstreamId = this.#routed.upstreamIdOf(streamId);
      if (!upstreamId) continue;
      stream.upstreamSending = needed;
      this.#logger.debug({ streamId }, `upstream ${needed ? 'sends' : 'paused'}`);
      stream.publisher.send('sendPath', { subscriptionId: upstreamId, streamId, send: needed });
    }
    for (const subscription of this.#subscriptions.values()) {
      const { direct } = subscription;
      if (!direct) continue;
      const needed = this.#mode === 'direct' || subscription.playing === 'direct';
      if (needed === direct.sending) continue;
      direct.sending = needed;
      subscription.publisher.send('sendPath', {
        subscriptionId: direct.id,
        streamId: subscription.streamId,
        send: needed,
      });
    }
  }

  #upstreamNeeded(streamId: string): boolean {
    if (this.#mode === 'routed') return true;
    for (const subscription of this.#subscriptions.values()) {
      if (subscription.streamId !== streamId) continue;
      if (subscription.playing === 'routed') return true;
    }
    return false;
  }

  /** The subscription ended: its direct path ends, and `tell` (the end that did not end it) hears of it. */
  #forget(subscription: Subscription, tell: RoomConnection): void {
    this.#subscriptions.delete(subscription.id);
    this.#endDirect(subscription, tell);
  }

  #endDirect(subscription: Subscription, tell: RoomConnection): void {
    const { direct } = subscription;
    if (!direct) return;
    this.#directPaths.delete(direct.id);
    subscription.direct = null;
    if (subscription.playing === 'direct') subscription.playing = null;
    if (!tell.closed)
      tell.send('subscriptionDestroyed', { subscriptionId: direct.id, streamId: subscription.streamId });
  }
}
