import { Type, type Static } from '@sinclair/typebox';
import {
  ArchiveInfo,
  ConnectionDestroyedReasonSchema,
  ConnectionInfo,
  IceCandidate,
  Id,
  StreamDestroyedReasonSchema,
  StreamInfo,
  VideoDimensions,
} from './entities.js';

/**
 * Which way a stream of a routed session reaches a subscriber under adaptive routing: straight
 * from its publisher (`direct`, peer to peer) or through the Media Router (`routed`).
 */
export const mediaPaths = ['direct', 'routed'] as const;
export type MediaPath = (typeof mediaPaths)[number];
const MediaPathSchema = Type.Union(mediaPaths.map((path) => Type.Literal(path)));

/**
 * Why the server ended a client's connection on its own: a moderator, or the session moving to
 * another node of a cluster (`serverRotation`, the socket then closes with `moved`).
 */
export const sessionDisconnectedReasons = ['forceDisconnected', 'serverRotation'] as const;

/**
 * What the router of a routed session tells a subscriber of its audio fallback, each an OpenTok.js
 * Subscriber event (`videoDisabled` and `videoEnabled` with reason `quality`).
 */
export const videoFallbackEvents = [
  'videoDisableWarning',
  'videoDisableWarningLifted',
  'videoDisabled',
  'videoEnabled',
] as const;
export type VideoFallbackEvent = (typeof videoFallbackEvents)[number];

const StreamPropertyChange = Type.Union([
  Type.Object({
    streamId: Id,
    changedProperty: Type.Literal('hasAudio'),
    oldValue: Type.Boolean(),
    newValue: Type.Boolean(),
  }),
  Type.Object({
    streamId: Id,
    changedProperty: Type.Literal('hasVideo'),
    oldValue: Type.Boolean(),
    newValue: Type.Boolean(),
    /** `quality` when the publisher's audio fallback stopped or restarted its video; absent when its user did. */
    reason: Type.Optional(Type.Literal('quality')),
  }),
  Type.Object({
    streamId: Id,
    changedProperty: Type.Literal('videoDimensions'),
    oldValue: Type.Union([VideoDimensions, Type.Null()]),
    newValue: VideoDimensions,
  }),
]);

const Negotiation = {
  subscriptionId: Id,
  streamId: Id,
  /** The connection on the other end. */
  from: Id,
};

/**
 * Every event the server pushes, by name. Each event frame carries a `seq` that counts up by one
 * per connection, so that a resuming client says where it stopped.
 */
export const serverToClient = {
  /** Another client joined. */
  connectionCreated: Type.Object({ connection: ConnectionInfo }),
  /** Another client left. */
  connectionDestroyed: Type.Object({ connection: ConnectionInfo, reason: ConnectionDestroyedReasonSchema }),
  /** Another client published. */
  streamCreated: Type.Object({ stream: StreamInfo }),
  /**
   * A stream ended. Sent to everyone but its publisher, and to its publisher too when a
   * moderator forced it (`forceUnpublished`).
   */
  streamDestroyed: Type.Object({ stream: StreamInfo, reason: StreamDestroyedReasonSchema }),
  /** Another client's stream changed a property. */
  streamPropertyChanged: StreamPropertyChange,
  /** A signal; `from` is null when it came through the REST API. */
  signal: Type.Object({ from: Type.Union([Id, Type.Null()]), type: Type.String(), data: Type.String() }),
  /** A moderator muted the audio of this client's stream. */
  muteForced: Type.Object({ streamId: Id }),
  /** A moderator turned the session-wide mute on (new streams start muted) or off. */
  forceMuteChanged: Type.Object({ active: Type.Boolean() }),
  /** An archive started recording the session. */
  archiveStarted: ArchiveInfo,
  /** An archive of the session stopped recording. */
  archiveStopped: Type.Object({ id: Id }),
  /** The server ended this client's connection; the socket closes next. */
  sessionDisconnected: Type.Object({
    reason: Type.Union(sessionDisconnectedReasons.map((reason) => Type.Literal(reason))),
  }),
  /** A cluster's fresh token for this connection, replacing the last (see `renewedToken` of `connect`). */
  tokenRenewed: Type.Object({ token: Type.String() }),
  /** A client subscribed to a stream this client publishes; expect its negotiation next. */
  subscriptionCreated: Type.Object({
    subscriptionId: Id,
    streamId: Id,
    subscriber: Id,
    /** Adaptive routing: the peer connection negotiates but sends nothing until `sendPath` says so. */
    paused: Type.Optional(Type.Boolean()),
  }),
  /**
   * Adaptive routing, to a publisher: send the stream over this subscription's peer connection
   * (to the router, or straight to a subscriber), or stop sending over it while it stays up.
   */
  sendPath: Type.Object({ subscriptionId: Id, streamId: Id, send: Type.Boolean() }),
  /**
   * Adaptive routing, to a subscriber: the path its subscription should play from now. The
   * client keeps playing the other until this one decodes, then says so with `mediaPathPlaying`.
   * `directSubscriptionId` names the peer connection straight from the publisher (null while
   * there is none); its offer comes from the publisher.
   */
  mediaPath: Type.Object({
    subscriptionId: Id,
    streamId: Id,
    path: MediaPathSchema,
    directSubscriptionId: Type.Union([Id, Type.Null()]),
  }),
  /** The other end of a subscription left it (unsubscribed, unpublished or disconnected). */
  subscriptionDestroyed: Type.Object({ subscriptionId: Id, streamId: Id }),
  /**
   * Routed sessions: which simulcast encodings (by RID) of a stream this client publishes the
   * router needs. The client sends those and pauses the others (`active: false`) until told again.
   */
  encodingsChanged: Type.Object({
    /** The publisher's subscription whose subscriber is the router. */
    subscriptionId: Id,
    streamId: Id,
    encodings: Type.Array(Type.Object({ rid: Type.String(), active: Type.Boolean() })),
  }),
  /**
   * Routed sessions, subscriber audio fallback: this client's link cannot carry the stream's
   * video, so the router warns, then stops sending it the video (audio goes on), and sends it
   * again once a probe shows the link carries it (`videoEnabled`); `videoDisableWarningLifted`
   * when the link recovered before video went off. Only for streams whose publisher allows it.
   */
  videoFallback: Type.Object({
    /** This client's subscription. */
    subscriptionId: Id,
    streamId: Id,
    event: Type.Union(videoFallbackEvents.map((event) => Type.Literal(event))),
  }),
  offer: Type.Object({ ...Negotiation, sdp: Type.String() }),
  answer: Type.Object({ ...Negotiation, sdp: Type.String() }),
  iceCandidate: Type.Object({ ...Negotiation, candidate: IceCandidate }),
} as const;

export type ServerEvent = keyof typeof serverToClient;

/** The server-to-client map: per event, its data. */
export type ServerToClient = { [E in ServerEvent]: Static<(typeof serverToClient)[E]> };

export type StreamPropertyChanged = ServerToClient['streamPropertyChanged'];
