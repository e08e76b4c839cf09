import { OpenTok } from './OpenTok.js';

export { OpenTok, type OpenTokOptions, type Callback } from './OpenTok.js';
export { Session, type SessionOptions } from './Session.js';
export type { TokenOptions } from './clientToken.js';
export type { Stream, StreamClassList } from './streams.js';
export type { SignalPayload, ForceMuteAllOptions } from './moderation.js';
export type { DialOptions, SipCall } from './sip.js';
export type { Archive, ArchiveOptions, ArchiveList, ListArchivesOptions } from './archives.js';
export {
  OpenTokError,
  ArgumentError,
  RequestError,
  AuthError,
  NotFoundError,
  ArchiveError,
} from './errors.js';
export type {
  Role,
  MediaMode,
  ArchiveMode,
  ArchiveResolution,
  ArchiveLayout,
  ArchiveOutputMode,
  ArchiveStreamMode,
  ArchiveStatus,
} from '@parlor/protocol';

export default OpenTok;
