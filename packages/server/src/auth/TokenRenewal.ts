import { createSecretKey, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { tokenScope } from '@parlor/protocol';
import type { VerifiedToken } from './ClientTokenVerifier.js';
import type { CredentialLookup } from './projectLookup.js';

export interface TokenRenewalOptions {
  readonly lookup: CredentialLookup;
  /** How long a renewed token lives, in seconds. Default: 600. */
  readonly lifetimeSeconds?: number;
  /** Current Unix time in seconds. Default: the system clock. */
  readonly clock?: () => number;
}

/**
 * Fresh tokens for connected clients of a cluster, so that a client whose own token expired
 * during the call can still join the session again on another node when its node goes (drain,
 * lost lease, `kill -9`), however long the call. A renewed token is an ordinary HS256 client
 * token signed with the project's secret, which every node verifies as it verifies any token,
 * with the connection's session, role, data and layout classes. It lives minutes (the node
 * sends another well before it expires, while the connection lasts), and names the token it
 * descends from, so that it counts as that token in the limit of connections per token.
 * Vonage applications' tokens are not renewed: the server holds no key to sign them with.
 */
export class TokenRenewal {
  readonly #lookup: CredentialLookup;
  readonly #clock: () => number;
  readonly lifetimeSeconds: number;

  constructor(options: TokenRenewalOptions) {
    this.#lookup = options.lookup;
    this.#clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
    this.lifetimeSeconds = options.lifetimeSeconds ?? 600;
  }

  /** A fresh token for a connection of `token` (whose key is `tokenKey`); undefined when it cannot be signed. */
  async renew(token: VerifiedToken, tokenKey: string): Promise<string | undefined> {
    const secret = await this.#lookup.secretOf(token.apiKey);
    if (secret === undefined) return undefined;
    const now = this.#clock();
    const claims = {
      iss: token.apiKey,
      ist: 'project',
      iat: now,
      exp: now + this.lifetimeSeconds,
      jti: randomUUID(),
      scope: tokenScope,
      session_id: token.sessionId,
      role: token.role,
      connection_data: token.connectionData,
      initial_layout_class_list: token.initialLayoutClassList.join(' '),
      parlor_renewal_of: token.renewalOf ?? tokenKey,
    };
    return jwt.sign(claims, createSecretKey(secret, 'utf8'), { algorithm: 'HS256' });
  }
}
