import type { ArchiveMode, ArchiveResolution, MediaMode } from '@parlor/protocol';
import type { TokenOptions } from './clientToken.js';

/** A created session, as `createSession` delivers it. */
export class Session {
  readonly sessionId: string;
  readonly mediaMode: MediaMode;
  readonly archiveMode: ArchiveMode;
  readonly location: string | undefined;
  readonly e2ee: boolean;
  readonly archiveName: string | undefined;
  readonly archiveResolution: ArchiveResolution | undefined;
  readonly #generateToken: (sessionId: string, options?: TokenOptions) => string;

  constructor(
    sessionId: string,
    settings: Required<Pick<SessionOptions, 'mediaMode' | 'archiveMode' | 'e2ee'>> & SessionOptions,
    generateToken: (sessionId: string, options?: TokenOptions) => string,
  ) {
    this.sessionId = sessionId;
    this.mediaMode = settings.mediaMode;
    this.archiveMode = settings.archiveMode;
    this.location = settings.location;
    this.e2ee = settings.e2ee;
    this.archiveName = settings.archiveName;
    this.archiveResolution = settings.archiveResolution;
    this.#generateToken = generateToken;
  }

  /** A client token for this session (see `OpenTok.generateToken`). */
  generateToken(options?: TokenOptions): string {
    return this.#generateToken(this.sessionId, options);
  }
}

/** Options of `createSession`, as the `opentok` package takes them. */
export interface SessionOptions {
  /** `routed` through the Media Router, or `relayed` peer to peer. Default: `relayed`. */
  readonly mediaMode?: MediaMode;
  /** `always` records automatically (routed sessions only). Default: `manual`. */
  readonly archiveMode?: ArchiveMode;
  /** IPv4 address near which to place the session. Default: the first client's location. */
  readonly location?: string;
  /** End-to-end encryption (routed sessions, not with `always`). Default: false. */
  readonly e2ee?: boolean;
  /** Name of automatic archives (`always` only). */
  readonly archiveName?: string;
  /** Resolution of automatic archives (`always` only). Default: the server's (640x480). */
  readonly archiveResolution?: ArchiveResolution;
}
