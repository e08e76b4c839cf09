/** Archive settings and states as OpenTok's REST API names them (server-api.md §6). */

/** One composed MP4 of every stream, or one file per stream in a ZIP. */
export const archiveOutputModes = ['composed', 'individual'] as const;
export type ArchiveOutputMode = (typeof archiveOutputModes)[number];

/** Every stream published while the archive runs, or only those added by `PATCH …/streams`. */
export const archiveStreamModes = ['auto', 'manual'] as const;
export type ArchiveStreamMode = (typeof archiveStreamModes)[number];

/** How a composed archive places its streams. */
export const archiveLayoutTypes = [
  'bestFit',
  'pip',
  'verticalPresentation',
  'horizontalPresentation',
  'custom',
] as const;
export type ArchiveLayoutType = (typeof archiveLayoutTypes)[number];

/** A composed archive's layout; `stylesheet` with `custom` only, `screenshareType` with `bestFit` only. */
export interface ArchiveLayout {
  readonly type: ArchiveLayoutType;
  readonly stylesheet?: string;
  /** The layout used while a screen-sharing stream is in the archive. */
  readonly screenshareType?: ArchiveLayoutType;
}

/** Every status OpenTok reports; Parlor uses `started`, `stopped`, `available`, `failed` and `deleted`. */
export const archiveStatuses = [
  'started',
  'paused',
  'stopped',
  'uploaded',
  'available',
  'expired',
  'failed',
  'deleted',
] as const;
export type ArchiveStatus = (typeof archiveStatuses)[number];

/** Why an archive stopped (OpenTok's `reason` values); a failure's reason starts with `system failure`. */
export const archiveStopReasons = {
  userInitiated: 'user initiated',
  maximumDuration: 'maximum duration exceeded',
  sessionEnded: 'session ended',
  systemFailure: 'system failure',
} as const;

/** Limits of the archive REST API. */
export const archiveLimits = {
  /** Longest archive name and multiArchiveTag, in characters. */
  maxNameLength: 80,
  /** Most archives one list request returns. */
  maxListCount: 1000,
  /** Archives a list request returns when it does not say. */
  defaultListCount: 50,
  /** Range of `maxBitrate`, bits per second. */
  minBitrate: 100_000,
  maxBitrate: 6_000_000,
  /** Range of `quantizationParameter`. */
  minQuantizationParameter: 15,
  maxQuantizationParameter: 40,
} as const;
