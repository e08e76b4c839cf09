import type { IceServer } from '@parlor/protocol';
import { turnCredentials } from './turnCredentials.js';

/** A TURN server sharing its secret with Parlor. */
export interface TurnServerOptions {
  /** Its `turn:`/`turns:` URLs. */
  readonly urls: readonly string[];
  readonly secret: string;
  /** How long the credentials handed out are valid, in seconds. */
  readonly credentialLifetimeSeconds: number;
}

export interface IceServerListOptions {
  /** Servers handed out as they are (configured `--ice-servers`, STUN). Default: none. */
  readonly fixed?: readonly IceServer[];
  /** The TURN server, each client getting credentials of its own. Default: none. */
  readonly turn?: TurnServerOptions | null;
  /** The clock, in ms since the epoch. Default: `Date.now`. */
  readonly now?: () => number;
}

/** The STUN and TURN servers handed to each client, with TURN credentials minted for its connection. */
export class IceServerList {
  readonly #fixed: readonly IceServer[];
  readonly #turn: TurnServerOptions | null;
  readonly #now: () => number;

  constructor(options: IceServerListOptions = {}) {
    this.#fixed = options.fixed ?? [];
    this.#turn = options.turn ?? null;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The servers for a connection, with fresh TURN credentials naming it, valid for the configured
   * lifetime or `maxLifetimeSeconds` when that is shorter.
   */
  forConnection(connectionId: string, maxLifetimeSeconds = Infinity): IceServer[] {
    const servers = this.#fixed.map((server) => ({ ...server }));
    const turn = this.#turn;
    if (turn === null || turn.urls.length === 0) return servers;
    const expiresAt = this.#now() / 1000 + Math.min(turn.credentialLifetimeSeconds, maxLifetimeSeconds);
    const { username, credential } = turnCredentials(turn.secret, connectionId, expiresAt);
    return [...servers, { urls: [...turn.urls], username, credential }];
  }
}
