import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  ParlorError,
  signalProblem,
  type ConnectionDestroyedReason,
  type ErrorId,
  type MediaMode,
  type MediaPath,
  type PublishParams,
  type ServerEvent,
  type ServerToClient,
  type StreamDestroyedReason,
  type StreamInfo,
  type StreamPropertyChanged,
  type UpdateStreamParams,
  type VideoDimensions,
  type TelemetryRecord,
} from '@parlor/protocol';
import type { RecordOptions, StreamRecording } from '../archive/ArchiveMedia.js';
import type { VerifiedToken } from '../auth/ClientTokenVerifier.js';
import { InvalidStateError } from '../InvalidStateError.js';
import type { SessionOrigin, SessionRecord } from '../store/SessionRepository.js';
import { TypedEmitter } from '../TypedEmitter.js';
import { AdaptiveMedia, type AdaptiveRoutingOptions, type AdaptiveRoutingStats } from './AdaptiveMedia.js';
import { RoomConnection, type ConnectionLimits, type ConnectionSink } from './RoomConnection.js';
import type { VideoPreferences } from '../media/router/Subscription.js';
import type { RemoteRouter } from '../media/worker/RemoteRouter.js';
import { RoutedMedia, type RoutedMediaStats, type RoutedReadings } from './RoutedMedia.js';
import type { Negotiation, PublishedStreamOptions, StreamMedia } from './StreamMedia.js';
import { SubscriptionRelay } from './SubscriptionRelay.js';

export interface SessionRoomOptions {
  readonly session: SessionRecord;
  /** How long a client whose socket dropped may take to resume, in ms. */
  readonly reconnectGraceMs: number;
  /** What each connection keeps and may cost. */
  readonly connectionLimits: ConnectionLimits;
  /** Connections one token may have in the room at once, those waiting to resume included. */
  readonly maxConnectionsPerToken: number;
  readonly logger: Logger;
  /** Makes the Media Router of a routed session; without it, routed sessions relay peer to peer. */
  readonly createRouter?: () => RemoteRouter;
  /** Routed sessions go peer to peer while they can (see `AdaptiveMedia`); null for never. Default: null. */
  readonly adaptiveRouting?: AdaptiveRoutingOptions | null;
}

/** When a publisher's audio fallback last turned its video off or on (`hasVideo` with reason `quality`). */
export interface VideoQualityChange {
  /** Unix milliseconds. */
  readonly atMs: number;
  readonly hasVideo: boolean;
}

/** A live stream as the REST API shows it: what clients see, plus its layout classes. */
export interface RoomStream {
  readonly info: StreamInfo;
  readonly layoutClassList: readonly string[];
  /** The last change its publisher's audio fallback made; null when it made none. */
  readonly lastVideoQualityChange: VideoQualityChange | null;
}

interface LiveStream {
  /** Replaced, never changed in place, so that events and snapshots can keep the old one. */
  info: StreamInfo;
  layoutClassList: readonly string[];
  lastVideoQualityChange: VideoQualityChange | null;
  readonly owner: RoomConnection;
  /** What its publisher chose for its media, which only the server sees. */
  readonly media: PublishedStreamOptions;
}

/** Why a room closes with clients in it: the server stops, or the session moves to another node. */
export type RoomCloseCause = 'shutdown' | 'moved';

export interface SessionRoomEvents {
  /** The room closed: its last connection left, or the server is shutting down. */
  close: [];
}

export interface SessionRoomObserverEvents {
  newConnection: [connection: RoomConnection];
  /** A connection left; not sent for the connections a closing room ends. */
  connectionDestroyed: [connection: RoomConnection, reason: ConnectionDestroyedReason];
  newStream: [stream: StreamInfo];
  streamDestroyed: [stream: StreamInfo, reason: StreamDestroyedReason];
  /** A connection told what it saw (events, quality samples, scores), for the Inspector. */
  telemetry: [connection: RoomConnection, records: readonly TelemetryRecord[]];
  /** An archive of the session started or stopped recording. */
  archive: [event: 'archiveStarted' | 'archiveStopped', archiveId: string];
  close: [];
}

/**
 * A live session: the connections in it and the streams they publish. Created when the first
 * client connects, closed when the last one leaves. It enforces what each token's role allows
 * and tells every connection what changes, in order.
 */
export class SessionRoom extends TypedEmitter<SessionRoomEvents> {
  readonly sessionId: string;
  readonly apiKey: string;
  readonly mediaMode: MediaMode;
  /** Media is end-to-end encrypted: the router forwards what it cannot read. */
  readonly e2ee: boolean;
  /** Who created the session: the application, or the demo page. */
  readonly origin: SessionOrigin;
  readonly observer: TypedEmitter<SessionRoomObserverEvents>;
  readonly #reconnectGraceMs: number;
  readonly #connectionLimits: ConnectionLimits;
  readonly #maxConnectionsPerToken: number;
  readonly #logger: Logger;
  readonly #connections = new Map<string, RoomConnection>();
  readonly #streams = new Map<string, LiveStream>();
  /** How streams reach subscribers: relayed peer to peer, or through the Media Router. */
  readonly #media: StreamMedia;
  /** Routed sessions: the router's side of `#media`. */
  readonly #routed: RoutedMedia | null = null;
  /** Routed sessions with adaptive routing: `#media` itself. */
  readonly #adaptive: AdaptiveMedia | null = null;
  /** Connections whose media the server makes (SIP calls). */
  readonly #serverSide = new WeakSet<RoomConnection>();
  /** Whether a moderator muted the whole session: new streams start muted until it is lifted. */
  #muteAll = false;
  #closed = false;

  constructor(options: SessionRoomOptions) {
    const onListenerError = (event: string, error: unknown): void => {
      this.#logger.error({ err: error, event }, 'room listener failed');
    };
    super(onListenerError);
    this.observer = new TypedEmitter(onListenerError);
    this.sessionId = options.session.sessionId;
    this.apiKey = options.session.apiKey;
    this.mediaMode = options.session.mediaMode;
    this.e2ee = options.session.e2ee;
    this.origin = options.session.origin;
    this.#reconnectGraceMs = options.reconnectGraceMs;
    this.#connectionLimits = options.connectionLimits;
    this.#maxConnectionsPerToken = options.maxConnectionsPerToken;
    this.#logger = options.logger.child({ sessionId: this.sessionId });
    const { createRouter, adaptiveRouting } = options;
    if (this.mediaMode === 'routed' && createRouter) {
      this.#routed = new RoutedMedia({
        createRouter,
        onMediaLost: (streamId) => {
          this.#mediaLost(streamId);
        },
        logger: this.#logger,
      });
      if (adaptiveRouting)
        this.#adaptive = new AdaptiveMedia({
          ...adaptiveRouting,
          routed: this.#routed,
          serverSide: (connection) => this.#serverSide.has(connection),
          logger: this.#logger,
        });
    }
    this.#media = this.#adaptive ?? this.#routed ?? new SubscriptionRelay();
    this.#logger.info({ mediaMode: this.mediaMode, adaptive: this.#adaptive !== null }, 'room opened');
  }

  get closed(): boolean {
    return this.#closed;
  }

  get reconnectGraceMs(): number {
    return this.#reconnectGraceMs;
  }

  get connections(): RoomConnection[] {
    return [...this.#connections.values()];
  }

  connection(connectionId: string): RoomConnection | undefined {
    return this.#connections.get(connectionId);
  }

  get streams(): RoomStream[] {
    return [...this.#streams.values()].map(roomStream);
  }

  stream(streamId: string): RoomStream | undefined {
    const stream = this.#streams.get(streamId);
    return stream && roomStream(stream);
  }

  /**
   * Adds a connection for a verified token (`tokenKey` tells one token from another); every other
   * connection is told.
   */
  join(
    token: VerifiedToken,
    tokenKey: string,
    sink: ConnectionSink,
  ): { connection: RoomConnection; resumeSecret: string } {
    this.#assertOpen('join');
    let sameToken = 0;
    for (const each of this.#connections.values()) if (each.tokenKey === tokenKey) sameToken += 1;
    if (sameToken >= this.#maxConnectionsPerToken) {
      throw new ParlorError(
        'CONNECTION_LIMIT',
        `this token has ${sameToken} connections to the session, the most it may have`,
      );
    }
    const created = RoomConnection.create({
      ...this.#connectionLimits,
      token,
      tokenKey,
      sink,
      reconnectGraceMs: this.#reconnectGraceMs,
      logger: this.#logger,
    });
    const { connection } = created;
    if (sink.serverSide) this.#serverSide.add(connection);
    connection.on('close', (reason) => {
      this.#onConnectionClose(connection, reason);
    });
    this.#broadcast('connectionCreated', { connection: connection.info });
    this.#connections.set(connection.id, connection);
    this.observer.safeEmit('newConnection', connection);
    return created;
  }

  /** Moves a connection whose socket dropped onto a new one; returns the event frames it missed. */
  resume(
    connectionId: string,
    resumeSecret: string,
    lastSeq: number,
    sink: ConnectionSink,
  ): { connection: RoomConnection; missed: string[] } {
    this.#assertOpen('resume');
    const connection = this.#connections.get(connectionId);
    if (!connection) throw new ParlorError('CONNECT_FAILED', 'the connection has ended; connect again');
    return { connection, missed: connection.resume(resumeSecret, lastSeq, sink) };
  }

  publish(connection: RoomConnection, params: PublishParams): { stream: StreamInfo; muteForced: boolean } {
    this.#assertOpen('publish');
    if (!connection.permissions.publish) {
      throw new ParlorError('PUBLISH_NOT_PERMITTED', `a ${connection.token.role} token cannot publish`);
    }
    this.#routed?.admitPublisher();
    const muteForced = this.#muteAll && params.hasAudio;
    const info: StreamInfo = {
      streamId: randomUUID(),
      connectionId: connection.id,
      creationTime: Date.now(),
      name: params.name ?? '',
      hasAudio: params.hasAudio && !muteForced,
      hasVideo: params.hasVideo,
    };
    if (params.videoType !== undefined) info.videoType = params.videoType;
    if (params.videoDimensions !== undefined) info.videoDimensions = params.videoDimensions;
    if (params.frameRate !== undefined) info.frameRate = params.frameRate;
    // Its streamCreated now and its streamDestroyed later, to everyone else.
    this.#spendFanOut(connection, 2 * (this.#connections.size - 1), JSON.stringify(info).length);
    this.#streams.set(info.streamId, {
      info,
      owner: connection,
      layoutClassList: connection.token.initialLayoutClassList,
      lastVideoQualityChange: null,
      media: {
        subscriberAudioFallback: params.subscriberAudioFallback ?? true,
        routerOnly: params.adaptiveRouting === false,
      },
    });
    this.#logger.info({ streamId: info.streamId, connectionId: connection.id }, 'stream created');
    this.#broadcast('streamCreated', { stream: info }, connection);
    this.observer.safeEmit('newStream', info);
    return { stream: info, muteForced };
  }

  unpublish(
    connection: RoomConnection,
    streamId: string,
    reason: 'clientDisconnected' | 'mediaStopped',
  ): void {
    this.#assertOpen('unpublish');
    this.#endStream(this.#ownStream(connection, streamId), reason);
  }

  /**
   * Changes the stream's properties; other connections see one `streamPropertyChanged` per change,
   * a `hasVideo` change with the publisher's reason.
   */
  updateStream(connection: RoomConnection, params: UpdateStreamParams): void {
    this.#assertOpen('update a stream');
    const stream = this.#ownStream(connection, params.streamId);
    const { hasAudio, hasVideo, videoReason, videoDimensions } = params;
    const changes = [hasAudio, hasVideo, videoDimensions].filter((value) => value !== undefined).length;
    this.#spendFanOut(connection, changes * (this.#connections.size - 1), streamPropertyChangedBytes);
    if (hasAudio !== undefined) this.#setStreamProperty(stream, 'hasAudio', hasAudio);
    if (hasVideo !== undefined) this.#setStreamProperty(stream, 'hasVideo', hasVideo, videoReason);
    if (videoDimensions !== undefined) this.#setStreamProperty(stream, 'videoDimensions', videoDimensions);
  }

  /**
   * Pairs the connection with the stream's publisher for negotiation; returns the subscription ID.
   * The video preferences matter in routed sessions only.
   */
  subscribe(connection: RoomConnection, streamId: string, preferences: VideoPreferences): string {
    this.#assertOpen('subscribe');
    if (!connection.permissions.subscribe) {
      throw new ParlorError('SUBSCRIBE_FAILED', `a ${connection.token.role} token cannot subscribe`);
    }
    const stream = this.#streams.get(streamId);
    if (!stream) throw new ParlorError('SUBSCRIBE_FAILED', `no stream ${streamId}`);
    if (stream.owner === connection && this.#media instanceof SubscriptionRelay) {
      throw new ParlorError(
        'SUBSCRIBE_FAILED',
        'a client cannot subscribe to its own stream in a relayed session',
      );
    }
    return this.#media.subscribe(connection, streamId, stream.owner, preferences);
  }

  /** The publisher has the stream's ID: its media may start (routed: it offers to the router). */
  published(connection: RoomConnection, streamId: string): void {
    const stream = this.#streams.get(streamId);
    if (this.#closed || stream?.owner !== connection) return;
    this.#media.published(connection, streamId, stream.media);
  }

  /** The subscriber has the subscription's ID: its media may start (routed: the router offers). */
  subscribed(connection: RoomConnection, subscriptionId: string): void {
    if (this.#closed) return;
    this.#media.subscribed(connection, subscriptionId);
  }

  /** The Media Router's counters, in a routed session that has one, and the paths under adaptive routing. */
  async mediaStats(): Promise<(RoutedMediaStats & { adaptiveRouting?: AdaptiveRoutingStats }) | null> {
    return this.#adaptive ? this.#adaptive.routedStats() : (this.#routed?.stats() ?? null);
  }

  /** The Media Router's counters in compact rows, for sampling and `/metrics`, in a routed session that has one. */
  async routerReadings(): Promise<RoutedReadings | null> {
    if (this.#adaptive) return this.#adaptive.routedReadings();
    return this.#routed ? this.#routed.readings() : null;
  }

  /** Adaptive routing, in a routed session that has it: the session's media path now and its observer. */
  get adaptiveRouting(): AdaptiveMedia | null {
    return this.#adaptive;
  }

  /** Records one of the room's streams through its Media Router (routed sessions only). */
  recordStream(streamId: string, options: RecordOptions): Promise<StreamRecording> {
    if (!this.#streams.has(streamId)) return Promise.reject(new InvalidStateError(`no stream ${streamId}`));
    const recorder = this.#adaptive ?? this.#routed;
    if (!recorder)
      return Promise.reject(new InvalidStateError('only a routed session has its media on the server'));
    return recorder.record(streamId, options);
  }

  /** Adaptive routing: the subscriber plays its subscription from this path now. */
  mediaPathPlaying(connection: RoomConnection, subscriptionId: string, path: MediaPath): void {
    this.#assertOpen('change a media path');
    if (!this.#adaptive) throw new ParlorError('INVALID_REQUEST', 'the session has no adaptive routing');
    this.#adaptive.playing(connection, subscriptionId, path);
  }

  /**
   * Adaptive routing: one of the connection's paths cannot carry its media (see
   * `AdaptiveMedia.pathFailed`). A routed session without adaptive routing has nothing to do
   * with it: the client's failure shows there already.
   */
  mediaPathFailed(connection: RoomConnection, subscriptionId: string, path: MediaPath): void {
    this.#assertOpen('report a media path');
    if (this.mediaMode !== 'routed') throw new ParlorError('INVALID_REQUEST', 'the session is relayed');
    this.#adaptive?.pathFailed(connection, subscriptionId, path);
  }

  /** Changes what one of the connection's subscriptions wants of its video (routed sessions). */
  updateSubscription(
    connection: RoomConnection,
    subscriptionId: string,
    changes: Partial<VideoPreferences>,
  ): void {
    this.#assertOpen('update a subscription');
    this.#media.updateSubscription(connection, subscriptionId, changes);
  }

  unsubscribe(connection: RoomConnection, subscriptionId: string): void {
    this.#assertOpen('unsubscribe');
    this.#media.unsubscribe(connection, subscriptionId);
  }

  /** Passes an offer, answer or ICE candidate to the other end of the subscription. */
  negotiate(connection: RoomConnection, subscriptionId: string, message: Negotiation): void {
    this.#assertOpen('negotiate');
    this.#media.negotiate(connection, subscriptionId, message);
  }

  /** Passes on what a connection reports of its media to the room's observers. */
  telemetry(connection: RoomConnection, records: readonly TelemetryRecord[]): void {
    this.#assertOpen('report telemetry');
    this.observer.safeEmit('telemetry', connection, records);
  }

  /**
   * Sends a signal to one connection, or to every connection (the sender's included) when `to`
   * is undefined. `from` is null for a signal from the REST API.
   */
  signal(from: RoomConnection | null, to: string | undefined, type: string, data: string): void {
    this.#assertOpen('signal');
    if (from && !from.permissions.signal) {
      throw new ParlorError('SIGNAL_NOT_PERMITTED', `a ${from.token.role} token cannot signal`);
    }
    const problem = signalProblem(type, data);
    if (problem) throw new ParlorError(problem.id, problem.detail);
    const json = JSON.stringify({ from: from?.id ?? null, type, data });
    if (to === undefined) {
      if (from) this.#spendFanOut(from, this.#connections.size, json.length);
      this.#broadcastSerialized('signal', json);
      return;
    }
    const recipient = this.#connections.get(to);
    if (!recipient) throw new ParlorError('CONNECTION_NOT_FOUND', to);
    if (from) this.#spendFanOut(from, 1, json.length);
    recipient.sendSerialized('signal', json);
  }

  /**
   * Sends every connection a signal the server makes on a connection's behalf, whose type may
   * hold characters a client's may not (the SIP gateway's `sip:dtmf`).
   */
  serverSignal(from: RoomConnection, type: string, data: string): void {
    this.#assertOpen('signal');
    this.#broadcastSerialized('signal', JSON.stringify({ from: from.id, type, data }));
  }

  /** Ends a connection at a moderator's request (`by` is null for the REST API). */
  forceDisconnect(by: RoomConnection | null, connectionId: string): void {
    this.#assertOpen('force disconnect');
    this.#assertModerator(by, 'FORCE_DISCONNECT_NOT_PERMITTED');
    const connection = this.#connections.get(connectionId);
    if (!connection) throw new ParlorError('CONNECTION_NOT_FOUND', connectionId);
    connection.send('sessionDisconnected', { reason: 'forceDisconnected' });
    connection.close('forceDisconnected');
  }

  forceUnpublish(by: RoomConnection | null, streamId: string): void {
    this.#assertOpen('force unpublish');
    this.#assertModerator(by, 'FORCE_UNPUBLISH_NOT_PERMITTED');
    const stream = this.#streams.get(streamId);
    if (!stream) throw new ParlorError('FORCE_UNPUBLISH_INVALID_STREAM', streamId);
    this.#endStream(stream, 'forceUnpublished');
  }

  /** Mutes the stream's audio: its publisher is told to mute, and the others see `hasAudio` go false. */
  forceMuteStream(by: RoomConnection | null, streamId: string): void {
    this.#assertOpen('force mute');
    this.#assertModerator(by, 'FORCE_MUTE_NOT_PERMITTED');
    const stream = this.#streams.get(streamId);
    if (!stream) throw new ParlorError('STREAM_NOT_FOUND', streamId);
    this.#muteStream(stream);
  }

  /** Mutes every stream but the excluded ones, and every stream published until `disableForceMute`. */
  forceMuteAll(by: RoomConnection | null, excludedStreamIds: readonly string[] = []): void {
    this.#assertOpen('force mute');
    this.#assertModerator(by, 'FORCE_MUTE_NOT_PERMITTED');
    const excluded = new Set(excludedStreamIds);
    for (const stream of this.#streams.values()) {
      if (!excluded.has(stream.info.streamId)) this.#muteStream(stream);
    }
    this.#setMuteAll(true);
  }

  /** Lets new streams publish audio again; streams muted so far stay muted. */
  disableForceMute(by: RoomConnection | null): void {
    this.#assertOpen('disable force mute');
    this.#assertModerator(by, 'FORCE_MUTE_NOT_PERMITTED');
    this.#setMuteAll(false);
  }

  /** Replaces the layout classes of streams; all or none: an unknown stream ID changes nothing. */
  setLayoutClassLists(
    items: readonly { readonly id: string; readonly layoutClassList: readonly string[] }[],
  ): void {
    this.#assertOpen('set layout classes');
    const changes = items.map(({ id, layoutClassList }) => {
      const stream = this.#streams.get(id);
      if (!stream) throw new ParlorError('INVALID_REQUEST', `no stream ${id} in the session`);
      return { stream, layoutClassList: [...layoutClassList] };
    });
    for (const { stream, layoutClassList } of changes) stream.layoutClassList = layoutClassList;
  }

  /** Tells every connection that an archive started or stopped recording the session. */
  notifyArchive<E extends 'archiveStarted' | 'archiveStopped'>(event: E, data: ServerToClient[E]): void {
    if (this.#closed) return;
    this.#broadcast(event, data);
    this.observer.safeEmit('archive', event, data.id);
  }

  /**
   * Closes the room and, with it, every connection: the server is shutting down, or (`moved`)
   * the session moves to another node of a cluster, which each client is told so that it joins
   * it there (OpenTok's `serverRotation`).
   */
  close(cause: RoomCloseCause = 'shutdown'): void {
    if (this.#closed) return;
    this.#closed = true;
    const moved = cause === 'moved';
    for (const connection of this.#connections.values()) {
      if (moved) connection.send('sessionDisconnected', { reason: 'serverRotation' });
      connection.roomClosed(moved);
    }
    this.#connections.clear();
    this.#streams.clear();
    this.#media.close();
    this.#logger.info({ cause }, 'room closed');
    this.safeEmit('close');
    this.observer.safeEmit('close');
  }

  #onConnectionClose(connection: RoomConnection, reason: ConnectionDestroyedReason): void {
    if (this.#closed) return;
    this.#connections.delete(connection.id);
    for (const stream of this.#streams.values()) {
      if (stream.owner === connection) this.#endStream(stream, reason);
    }
    this.#media.connectionEnded(connection);
    this.#broadcast('connectionDestroyed', { connection: connection.info, reason });
    this.observer.safeEmit('connectionDestroyed', connection, reason);
    if (this.#connections.size === 0) this.close();
  }

  /** The server lost a stream's media: the stream ends, and its publisher is told as well. */
  #mediaLost(streamId: string): void {
    const stream = this.#streams.get(streamId);
    if (!this.#closed && stream) this.#endStream(stream, 'mediaStopped', true);
  }

  /**
   * Ends a stream: everyone but its publisher is told, and the publisher too when the server
   * ended it (a moderator, or lost media).
   */
  #endStream(
    stream: LiveStream,
    reason: StreamDestroyedReason,
    tellOwner = reason === 'forceUnpublished',
  ): void {
    this.#streams.delete(stream.info.streamId);
    this.#media.streamEnded(stream.info.streamId);
    this.#logger.info({ streamId: stream.info.streamId, reason }, 'stream destroyed');
    const skip = tellOwner ? undefined : stream.owner;
    this.#broadcast('streamDestroyed', { stream: stream.info, reason }, skip);
    this.observer.safeEmit('streamDestroyed', stream.info, reason);
  }

  #muteStream(stream: LiveStream): void {
    stream.owner.send('muteForced', { streamId: stream.info.streamId });
    this.#setStreamProperty(stream, 'hasAudio', false);
  }

  #setMuteAll(active: boolean): void {
    if (active === this.#muteAll) return;
    this.#logger.info(`mute all ${String(this.#muteAll)} -> ${String(active)}`);
    this.#muteAll = active;
    this.#broadcast('forceMuteChanged', { active });
  }

  /**
   * The one place a stream's properties change; a change to the same value is no change. A
   * `quality` reason (video turned off or on by the publisher's audio fallback) goes with it.
   */
  #setStreamProperty<P extends StreamPropertyChanged['changedProperty']>(
    stream: LiveStream,
    property: P,
    value: NonNullable<StreamInfo[P]>,
    reason?: 'quality',
  ): void {
    const oldValue = stream.info[property];
    if (sameValue(oldValue, value)) return;
    stream.info = { ...stream.info, [property]: value };
    const streamId = stream.info.streamId;
    if (reason === 'quality' && property === 'hasVideo') {
      stream.lastVideoQualityChange = { atMs: Date.now(), hasVideo: value === true };
      this.#logger.info({ streamId }, `stream video ${value === true ? 'on' : 'off'} (quality)`);
    } else {
      this.#logger.debug({ streamId }, `stream ${property} changed`);
    }
    const change = {
      streamId,
      changedProperty: property,
      oldValue: oldValue ?? null,
      newValue: value,
      ...(reason ? { reason } : {}),
    } as StreamPropertyChanged;
    this.#broadcast('streamPropertyChanged', change, stream.owner);
  }

  #ownStream(connection: RoomConnection, streamId: string): LiveStream {
    const stream = this.#streams.get(streamId);
    if (!stream || stream.owner !== connection) throw new ParlorError('STREAM_NOT_FOUND', streamId);
    return stream;
  }

  #assertModerator(by: RoomConnection | null, refusal: ErrorId): void {
    if (by && !by.permissions.moderate) {
      throw new ParlorError(refusal, `a ${by.token.role} token cannot moderate`);
    }
  }

  /**
   * Charges the connection for `copies` frames of about `bytes` characters of data; refuses with
   * RATE_LIMITED, before anything changes, when its fan-out budget is spent.
   */
  #spendFanOut(connection: RoomConnection, copies: number, bytes: number): void {
    if (copies > 0 && !connection.spendFanOut(copies, bytes + eventEnvelopeBytes)) {
      throw new ParlorError(
        'RATE_LIMITED',
        `sending to ${copies} connections: this client has used up what it may make the server send for now`,
      );
    }
  }

  /** Sends the event to every connection but `skip`, serializing its data once. */
  #broadcast<E extends ServerEvent>(event: E, data: ServerToClient[E], skip?: RoomConnection): void {
    this.#broadcastSerialized(event, JSON.stringify(data), skip);
  }

  #broadcastSerialized(event: ServerEvent, json: string, skip?: RoomConnection): void {
    // Small data is cheaper copied into each frame than written as a fragment of its own.
    const utf8 = json.length >= sharedDataMinBytes ? Buffer.from(json) : null;
    for (const connection of this.#connections.values()) {
      if (connection !== skip) connection.sendShared(event, json, utf8);
    }
  }

  #assertOpen(what: string): void {
    if (this.#closed) throw new InvalidStateError(`cannot ${what}: the room is closed`);
  }
}

/** Characters of an event frame around its data: `{"event":"streamPropertyChanged","seq":…,"data":…}`. */
const eventEnvelopeBytes = 64;
/** Broadcast data from this size on is encoded once and shared by every recipient's frame. */
const sharedDataMinBytes = 1024;
/** Characters of a `streamPropertyChanged`'s data, about (videoDimensions the largest). */
const streamPropertyChangedBytes = 200;

function sameValue(a: boolean | VideoDimensions | undefined, b: boolean | VideoDimensions): boolean {
  if (typeof a !== 'object' || typeof b !== 'object') return a === b;
  return a.width === b.width && a.height === b.height;
}

function roomStream({ info, layoutClassList, lastVideoQualityChange }: LiveStream): RoomStream {
  return { info, layoutClassList, lastVideoQualityChange };
}
