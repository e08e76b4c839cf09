export { ParlorServer, storeFileName, type ParlorServerParts } from './ParlorServer.js';
export type {
  ArchiveMedia,
  ArchiveMediaEvents,
  ArchiveNotice,
  LiveSession,
  LiveStream,
  RecordOptions,
  RecordedFile,
  RecoverRecording,
  StreamRecording,
} from './archive/ArchiveMedia.js';
export type { RecordStream } from './signaling/RoomArchiveMedia.js';
export { loadConfig, ConfigError, type Config, type LogLevel } from './config/config.js';
export { createLogger } from './logger.js';
export { main } from './cli.js';
export {
  ClientTokenVerifier,
  type VerifiedToken,
  type ClientTokenVerifierOptions,
} from './auth/ClientTokenVerifier.js';
export { TokenError, tokenRefusals, type TokenRefusal } from './auth/TokenError.js';
export type { CredentialLookup } from './auth/projectLookup.js';
export { mintSessionId } from './auth/sessionId.js';
export type { Project } from './store/ProjectRepository.js';
export type { SessionRecord } from './store/SessionRepository.js';
export type { RoomRegistry } from './signaling/RoomRegistry.js';
export type { SessionRoom, RoomStream } from './signaling/SessionRoom.js';
export type { RoutedMediaStats } from './signaling/RoutedMedia.js';
export type { RoomConnection, ConnectionState } from './signaling/RoomConnection.js';
