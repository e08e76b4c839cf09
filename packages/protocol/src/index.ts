export { roles, defaultRole, isRole, type Role } from './roles.js';
export {
  mediaModes,
  archiveModes,
  archiveResolutions,
  maxArchiveNameLength,
  type MediaMode,
  type ArchiveMode,
  type ArchiveResolution,
  type SessionSettings,
} from './session.js';
export { tokenLimits, tokenScope } from './token.js';
export {
  archiveOutputModes,
  archiveStreamModes,
  archiveLayoutTypes,
  archiveStatuses,
  archiveStopReasons,
  archiveLimits,
  type ArchiveOutputMode,
  type ArchiveStreamMode,
  type ArchiveLayoutType,
  type ArchiveLayout,
  type ArchiveStatus,
} from './archive.js';
export { errorCatalogue, ParlorError, type ErrorId } from './errors.js';
export { decodeSessionId, maxSessionIdLength, type SessionIdFields } from './sessionId.js';
export * from './signaling/index.js';
export { connectionInfoPath, type SessionConnectionInfo } from './connectionInfo.js';
