/**
 * Parlor's signaling protocol: JSON text frames over a WebSocket at `signalingPath`.
 * - The client sends requests `{id, method, params}` (`clientToServer`); each gets exactly one
 *   response, `{id, ok: true, result}` or `{id, ok: false, error: {code, message}}` where `code`
 *   is OpenTok.js's (1004 authentication, 1005 invalid session, ...).
 * - The server pushes events `{event, seq, data}` (`serverToClient`); `seq` counts each
 *   connection's events from 1.
 * - `connect` comes first. After a dropped socket the client sends `resume` on a new one, with
 *   the connection ID, the resume secret and the last `seq` it saw, within `resume.graceMs`;
 *   the server replays the events it missed. Closing the socket with 1000 or 1001 leaves.
 */
export {
  signalingProtocolVersion,
  signalingPath,
  signalingLimits,
  signalingCloseCodes,
} from './constants.js';
export {
  connectionDestroyedReasons,
  streamDestroyedReasons,
  videoTypes,
  ConnectionInfo,
  StreamInfo,
  VideoDimensions,
  Capabilities,
  IceServer,
  IceCandidate,
  ArchiveInfo,
  type ConnectionDestroyedReason,
  type StreamDestroyedReason,
  type VideoType,
} from './entities.js';
export {
  clientToServer,
  type ClientMethod,
  type ClientToServer,
  type ConnectParams,
  type SessionConnected,
  type ResumeParams,
  type PublishParams,
  type UpdateStreamParams,
  type SubscribeParams,
  type UpdateSubscriptionParams,
  type TelemetryRecord,
} from './clientToServer.js';
export {
  serverToClient,
  sessionDisconnectedReasons,
  videoFallbackEvents,
  mediaPaths,
  type MediaPath,
  type VideoFallbackEvent,
  type ServerEvent,
  type ServerToClient,
  type StreamPropertyChanged,
} from './serverToClient.js';
export {
  WireError,
  type RequestFrame,
  type ResponseFrame,
  type EventFrame,
  type ServerFrame,
} from './frames.js';
export { ClientFrameReader, type ParsedRequest } from './validation.js';
export { signalProblem, type SignalProblem } from './signal.js';
export { rolePermissions, capabilitiesOf, type Permissions } from './permissions.js';
