/** How media travels in a session: peer to peer (TURN as fallback), or through the Media Router. */
export const mediaModes = ['relayed', 'routed'] as const;
export type MediaMode = (typeof mediaModes)[number];

/** Whether a session is archived on request only, or automatically whenever someone publishes. */
export const archiveModes = ['manual', 'always'] as const;
export type ArchiveMode = (typeof archiveModes)[number];

/** The archive resolutions OpenTok accepts, landscape and portrait. */
export const archiveResolutions = [
  '640x480',
  '480x640',
  '1280x720',
  '720x1280',
  '1920x1080',
  '1080x1920',
] as const;
export type ArchiveResolution = (typeof archiveResolutions)[number];

/** Longest name an automatic archive may be given. */
export const maxArchiveNameLength = 80;

/** The settings a session is created with; they never change afterwards. */
export interface SessionSettings {
  readonly mediaMode: MediaMode;
  readonly archiveMode: ArchiveMode;
  /** IPv4 address that places the session near it; null lets the first client decide. */
  readonly location: string | null;
  readonly e2ee: boolean;
  readonly archiveName: string | null;
  readonly archiveResolution: ArchiveResolution | null;
}
