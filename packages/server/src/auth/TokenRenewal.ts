import { createSecretKey, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { tokenScope } from '@parlor/protocol';
import type { VerifiedToken } from './ClientTokenVerifier.js';
import type { CredentialLookup } from './projectLookup.js';
import type { RenewalKeys } from './RenewalKeys.js';

export interface TokenRenewalOptions {
  readonly lookup: CredentialLookup;
  /** The cluster's keys for the tokens of Vonage applications. Default: none, their tokens are not renewed. */
  readonly keys?: RenewalKeys;
  /** How long a renewed token lives, in seconds. Default: 600. */
  readonly lifetimeSeconds?: number;
  /** Current Unix time in seconds. Default: the system clock. */
  readonly clock?: () => number;
}

/**
 * Fresh tokens for connected clients of a cluster, so that a client whose own token expired
 * during the call can still join the session again on another node when its node goes (drain,
 * lost lease, `kill -9`), however long the call. A renewed token carries the connection's
 * session, role, data and layout classes, lives minutes (the node sends another well before it
 * expires, while the connection lasts), and names the token it descends from, so that it counts
 * as that token in the limit of connections per token. An OpenTok project's is an ordinary
 * HS256 client token signed with the project's secret, which every node verifies as it verifies
 * any token. A Vonage application's private key is the application's alone: its renewed tokens
 * are HS256 tokens signed with the cluster's renewal key of the day (`RenewalKeys`, named by the
 * header's `kid`), which every node verifies from the shared store while the application exists.
 */
export class TokenRenewal {
  readonly #lookup: CredentialLookup;
  readonly #keys: RenewalKeys | null;
  readonly #clock: () => number;
  readonly lifetimeSeconds: number;

  constructor(options: TokenRenewalOptions) {
    this.#lookup = options.lookup;
    this.#keys = options.keys ?? null;
    this.#clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
    this.lifetimeSeconds = options.lifetimeSeconds ?? 600;
  }

  /** A fresh token for a connection of `token` (whose key is `tokenKey`); undefined when it cannot be signed. */
  async renew(token: VerifiedToken, tokenKey: string): Promise<string | undefined> {
    const now = this.#clock();
    const claims = {
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
    const secret = await this.#lookup.secretOf(token.apiKey);
    if (secret !== undefined) {
      return jwt.sign({ iss: token.apiKey, ist: 'project', ...claims }, createSecretKey(secret, 'utf8'), {
        algorithm: 'HS256',
      });
    }
    if (!this.#keys || (await this.#lookup.publicKeyOf(token.apiKey)) === undefined) return undefined;
    const { id, key } = await this.#keys.signing();
    return jwt.sign({ application_id: token.apiKey, ...claims }, key, { algorithm: 'HS256', keyid: id });
  }
}
