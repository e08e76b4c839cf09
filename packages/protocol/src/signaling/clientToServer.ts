import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox';
import {
  ArchiveInfo,
  Capabilities,
  ConnectionInfo,
  IceCandidate,
  IceServer,
  Id,
  MediaModeSchema,
  StreamInfo,
  VideoDimensions,
  VideoTypeSchema,
} from './entities.js';
import { signalingLimits } from './constants.js';

/** Inbound messages are strict: a property the server does not know is an error. */
const Params = <T extends TProperties>(properties: T): TObject<T> =>
  Type.Object(properties, { additionalProperties: false });
const Empty = Params({});

const ProtocolVersion = Type.Integer({ minimum: 1 });
const Sdp = Type.String({ minLength: 1, maxLength: 60_000 });

// connect: join a session with a client token.
export const ConnectParams = Params({
  protocolVersion: ProtocolVersion,
  sessionId: Id,
  token: Type.String({ minLength: 1, maxLength: 8192 }),
  /** The API key the client was initialised with; refused when it is not the token's. */
  apiKey: Type.Optional(Type.String({ maxLength: 255 })),
});
/** The `sessionConnected` snapshot: who and what is in the session as the client joins. */
export const SessionConnected = Type.Object({
  sessionId: Id,
  mediaMode: MediaModeSchema,
  /** Whether the session was created end-to-end encrypted: clients encrypt media with a shared secret. */
  e2ee: Type.Boolean(),
  /** This client's own connection. */
  connection: ConnectionInfo,
  /** Every connection in the session, this client's included. */
  connections: Type.Array(ConnectionInfo),
  streams: Type.Array(StreamInfo),
  capabilities: Capabilities,
  /** STUN and TURN servers for peer connections. */
  iceServers: Type.Array(IceServer),
  /** The archives recording the session now (OpenTok.js announces each with `archiveStarted`). */
  archives: Type.Array(ArchiveInfo),
  /** What `resume` needs after the socket drops, and how long the server waits for it. */
  resume: Type.Object({ secret: Type.String(), graceMs: Type.Integer({ minimum: 0 }) }),
  /**
   * A cluster's fresh token for this connection (renewed by `tokenRenewed` while it lasts): the
   * client joins the session with it when it migrates, its own token may have expired by then.
   */
  renewedToken: Type.Optional(Type.String()),
});

// resume: take a connection over on a new socket after the old one dropped, within the grace period.
export const ResumeParams = Params({
  protocolVersion: ProtocolVersion,
  sessionId: Id,
  connectionId: Id,
  resumeSecret: Type.String({ minLength: 1, maxLength: 255 }),
  /** `seq` of the last event the client received; the server replays every later one. */
  lastSeq: Type.Integer({ minimum: 0 }),
});
export const SessionResumed = Type.Object({
  connection: ConnectionInfo,
  /** The STUN and TURN servers again, with fresh credentials, for peer connections made from now on. */
  iceServers: Type.Array(IceServer),
});

// publish: announce a stream; the answer carries its ID.
export const PublishParams = Params({
  name: Type.Optional(Type.String({ maxLength: signalingLimits.maxStreamNameLength })),
  hasAudio: Type.Boolean(),
  hasVideo: Type.Boolean(),
  videoType: Type.Optional(VideoTypeSchema),
  videoDimensions: Type.Optional(VideoDimensions),
  frameRate: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 240 })),
  /**
   * Routed sessions: whether the router may stop sending the video to a subscriber whose link
   * cannot carry it, audio going on (OpenTok's `audioFallback.subscriber`). Default: true.
   */
  subscriberAudioFallback: Type.Optional(Type.Boolean()),
  /**
   * Routed sessions under adaptive routing: false keeps the stream on the Media Router, never
   * peer to peer (the session stays routed while it is published). Default: true.
   */
  adaptiveRouting: Type.Optional(Type.Boolean()),
});
export const Published = Type.Object({
  stream: StreamInfo,
  /** True when a moderator muted the session: the stream starts with its audio muted. */
  muteForced: Type.Boolean(),
});

export const UnpublishParams = Params({
  streamId: Id,
  /** Set when the media source went away rather than the user unpublishing. */
  reason: Type.Optional(Type.Literal('mediaStopped')),
});

export const UpdateStreamParams = Params({
  streamId: Id,
  hasAudio: Type.Optional(Type.Boolean()),
  hasVideo: Type.Optional(Type.Boolean()),
  /**
   * Why `hasVideo` changes: `quality` when the publisher's audio fallback stopped or restarted
   * its video; left out when the user turned it off or on.
   */
  videoReason: Type.Optional(Type.Literal('quality')),
  videoDimensions: Type.Optional(VideoDimensions),
});

/**
 * What a subscriber wants of a stream's video. The router of a routed session picks, per
 * subscriber, the simulcast layer and frame rate nearest below these that its link carries;
 * relayed sessions have one encoding and ignore them.
 */
const SubscriberPreferences = {
  /** The largest size wanted; null (the default) for the largest there is. */
  preferredResolution: Type.Optional(Type.Union([VideoDimensions, Type.Null()])),
  /** Frames per second wanted (OpenTok: 30, 15, 7 or 1); null (the default) for the highest there is. */
  preferredFrameRate: Type.Optional(Type.Union([Type.Number({ minimum: 1, maximum: 240 }), Type.Null()])),
};

// subscribe: ask for a stream; the publisher is told, and the two negotiate through the server.
export const SubscribeParams = Params({ streamId: Id, ...SubscriberPreferences });
export const Subscribed = Type.Object({ subscriptionId: Id });
export const UnsubscribeParams = Params({ subscriptionId: Id });
/** Changes a subscription's preferences; a property left out keeps its value. */
export const UpdateSubscriptionParams = Params({ subscriptionId: Id, ...SubscriberPreferences });

/** Adaptive routing: the subscription now plays from this path (and no longer from the other). */
export const MediaPathPlayingParams = Params({
  subscriptionId: Id,
  path: Type.Union([Type.Literal('direct'), Type.Literal('routed')]),
});

/**
 * Adaptive routing: one of this client's paths cannot carry its media. `direct`: the
 * subscription's peer-to-peer path decoded nothing in time (the session moves to the router).
 * `routed`: the client's peer connection to the router failed or did not connect in time (a
 * subscription's, or its stream's upstream's ID).
 */
export const MediaPathFailedParams = MediaPathPlayingParams;

// WebRTC negotiation between the two ends of a subscription, relayed verbatim.
export const SessionDescriptionParams = Params({ subscriptionId: Id, sdp: Sdp });
export const IceCandidateParams = Params({ subscriptionId: Id, candidate: IceCandidate });

export const SignalParams = Params({
  /** Connection ID of the one recipient; every connection, the sender's included, when absent. */
  to: Type.Optional(Id),
  type: Type.Optional(Type.String()),
  data: Type.Optional(Type.String()),
});

/** A figure or detail of a telemetry record. */
const TelemetryValue = Type.Union([
  Type.String({ maxLength: 256 }),
  Type.Number(),
  Type.Boolean(),
  Type.Null(),
]);
/**
 * What a client tells the session's Inspector: an event as it happened, a quality sample of one
 * of its publishers or subscribers, or a change of quality score. `ageMs` is how long ago it
 * was, by the client's clock: the server dates it by its own.
 */
export const TelemetryRecord = Type.Object(
  {
    ageMs: Type.Integer({ minimum: 0, maximum: 600_000 }),
    kind: Type.Union([Type.Literal('event'), Type.Literal('quality'), Type.Literal('score')]),
    type: Type.String({ minLength: 1, maxLength: 64 }),
    streamId: Type.Optional(Id),
    data: Type.Record(Type.String({ maxLength: 64 }), TelemetryValue, { maxProperties: 32 }),
  },
  { additionalProperties: false },
);
export const TelemetryParams = Params({
  records: Type.Array(TelemetryRecord, { minItems: 1, maxItems: signalingLimits.maxTelemetryRecords }),
});

export const ForceDisconnectParams = Params({ connectionId: Id });
export const StreamParams = Params({ streamId: Id });
export const ForceMuteAllParams = Params({
  excludedStreamIds: Type.Optional(Type.Array(Id, { maxItems: 1000 })),
});

/**
 * Every request a client sends: its params and the result the server answers with. Each request
 * gets exactly one response, a result or an error.
 */
export const clientToServer = {
  connect: { params: ConnectParams, result: SessionConnected },
  resume: { params: ResumeParams, result: SessionResumed },
  /** Leave the session; the server then closes the socket. */
  disconnect: { params: Empty, result: Empty },
  publish: { params: PublishParams, result: Published },
  unpublish: { params: UnpublishParams, result: Empty },
  /** Changes `hasAudio`, `hasVideo` or `videoDimensions`; others see `streamPropertyChanged`. */
  updateStream: { params: UpdateStreamParams, result: Empty },
  subscribe: { params: SubscribeParams, result: Subscribed },
  unsubscribe: { params: UnsubscribeParams, result: Empty },
  /** Changes `preferredResolution` or `preferredFrameRate` of one of this client's subscriptions. */
  updateSubscription: { params: UpdateSubscriptionParams, result: Empty },
  mediaPathPlaying: { params: MediaPathPlayingParams, result: Empty },
  mediaPathFailed: { params: MediaPathFailedParams, result: Empty },
  offer: { params: SessionDescriptionParams, result: Empty },
  answer: { params: SessionDescriptionParams, result: Empty },
  iceCandidate: { params: IceCandidateParams, result: Empty },
  signal: { params: SignalParams, result: Empty },
  forceDisconnect: { params: ForceDisconnectParams, result: Empty },
  forceUnpublish: { params: StreamParams, result: Empty },
  forceMuteStream: { params: StreamParams, result: Empty },
  /** Mutes every stream but the excluded ones, and every stream published until disabled. */
  forceMuteAll: { params: ForceMuteAllParams, result: Empty },
  disableForceMute: { params: Empty, result: Empty },
  /** Best effort: the server may drop what exceeds its rate or the session's bounds, and says nothing of it. */
  telemetry: { params: TelemetryParams, result: Empty },
  /** Keep-alive: browsers cannot see WebSocket pings, so clients check the link with this. */
  ping: { params: Empty, result: Empty },
} as const;

export type ClientMethod = keyof typeof clientToServer;

/** The client-to-server map: per method, `{ params, result }`. */
export type ClientToServer = {
  [M in ClientMethod]: {
    params: Static<(typeof clientToServer)[M]['params']>;
    result: Static<(typeof clientToServer)[M]['result']>;
  };
};

export type ConnectParams = Static<typeof ConnectParams>;
export type SessionConnected = Static<typeof SessionConnected>;
export type ResumeParams = Static<typeof ResumeParams>;
export type PublishParams = Static<typeof PublishParams>;
export type UpdateStreamParams = Static<typeof UpdateStreamParams>;
export type SubscribeParams = Static<typeof SubscribeParams>;
export type UpdateSubscriptionParams = Static<typeof UpdateSubscriptionParams>;
export type TelemetryRecord = Static<typeof TelemetryRecord>;
