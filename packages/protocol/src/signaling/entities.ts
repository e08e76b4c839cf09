import { Type, type Static } from '@sinclair/typebox';
import { mediaModes } from '../session.js';
import { signalingLimits } from './constants.js';

/** Why a connection left a session (OpenTok's `connectionDestroyed` reasons). */
export const connectionDestroyedReasons = [
  'clientDisconnected',
  'forceDisconnected',
  'networkDisconnected',
] as const;
export type ConnectionDestroyedReason = (typeof connectionDestroyedReasons)[number];

/** Why a stream ended (OpenTok's `streamDestroyed` reasons). */
export const streamDestroyedReasons = [
  'clientDisconnected',
  'forceDisconnected',
  'forceUnpublished',
  'mediaStopped',
  'networkDisconnected',
] as const;
export type StreamDestroyedReason = (typeof streamDestroyedReasons)[number];

/** The video sources OpenTok distinguishes. */
export const videoTypes = ['camera', 'screen', 'custom'] as const;
export type VideoType = (typeof videoTypes)[number];

const literals = <T extends string>(values: readonly T[]) =>
  Type.Union(values.map((value) => Type.Literal(value)));

export const Id = Type.String({ minLength: 1, maxLength: 255 });

export const VideoTypeSchema = literals(videoTypes);
export const MediaModeSchema = literals(mediaModes);
export const ConnectionDestroyedReasonSchema = literals(connectionDestroyedReasons);
export const StreamDestroyedReasonSchema = literals(streamDestroyedReasons);

export const VideoDimensions = Type.Object(
  {
    width: Type.Integer({ minimum: 0, maximum: 16384 }),
    height: Type.Integer({ minimum: 0, maximum: 16384 }),
  },
  { additionalProperties: false },
);
export type VideoDimensions = Static<typeof VideoDimensions>;

/** A client in a session, as every other client sees it. */
export const ConnectionInfo = Type.Object({
  connectionId: Id,
  /** Unix milliseconds. */
  creationTime: Type.Integer(),
  /** The token's connection data, "" when it has none. */
  data: Type.String(),
});
export type ConnectionInfo = Static<typeof ConnectionInfo>;

/** A published stream, as every client sees it. */
export const StreamInfo = Type.Object({
  streamId: Id,
  /** The connection that publishes it. */
  connectionId: Id,
  /** Unix milliseconds. */
  creationTime: Type.Integer(),
  name: Type.String({ maxLength: signalingLimits.maxStreamNameLength }),
  hasAudio: Type.Boolean(),
  hasVideo: Type.Boolean(),
  videoType: Type.Optional(VideoTypeSchema),
  videoDimensions: Type.Optional(VideoDimensions),
  frameRate: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 240 })),
});
export type StreamInfo = Static<typeof StreamInfo>;

/** An archive recording the session, as OpenTok.js's `archiveStarted` event shows it. */
export const ArchiveInfo = Type.Object({
  id: Id,
  /** The archive's name, "" when it has none. */
  name: Type.String(),
});
export type ArchiveInfo = Static<typeof ArchiveInfo>;

/** What the token's role allows, as OpenTok.js's `session.capabilities` shows it (1 or 0). */
export const Capabilities = Type.Object({
  publish: Type.Union([Type.Literal(0), Type.Literal(1)]),
  subscribe: Type.Union([Type.Literal(0), Type.Literal(1)]),
  forceDisconnect: Type.Union([Type.Literal(0), Type.Literal(1)]),
  forceUnpublish: Type.Union([Type.Literal(0), Type.Literal(1)]),
  forceMute: Type.Union([Type.Literal(0), Type.Literal(1)]),
});
export type Capabilities = Static<typeof Capabilities>;

/** A STUN or TURN server, in the shape of WebRTC's `RTCIceServer`. */
export const IceServer = Type.Object({
  urls: Type.Union([Type.String(), Type.Array(Type.String())]),
  username: Type.Optional(Type.String()),
  credential: Type.Optional(Type.String()),
});
export type IceServer = Static<typeof IceServer>;

/** An ICE candidate, in the shape of WebRTC's `RTCIceCandidateInit`; relayed verbatim. */
export const IceCandidate = Type.Object(
  {
    candidate: Type.String({ maxLength: 4096 }),
    sdpMid: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
    sdpMLineIndex: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 65535 }), Type.Null()])),
    usernameFragment: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type IceCandidate = Static<typeof IceCandidate>;
