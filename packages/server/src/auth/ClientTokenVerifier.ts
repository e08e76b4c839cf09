import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { defaultRole, isRole, tokenLimits, tokenScope, type Role } from '@parlor/protocol';
import { clockSkewSeconds } from './clockSkew.js';
import type { CredentialLookup } from './projectLookup.js';
import { isRenewalKeyId, type RenewalKeys } from './RenewalKeys.js';
import { parseT1Token, t1Prefix } from './t1Token.js';
import { TokenError } from './TokenError.js';

/** What a verified client token grants. */
export interface VerifiedToken {
  readonly format: 'jwt' | 't1';
  /** The project's ID: its API key, or a Vonage application's ID. */
  readonly apiKey: string;
  readonly sessionId: string;
  readonly role: Role;
  /** The token's `connection_data`, "" when it has none. */
  readonly connectionData: string;
  readonly initialLayoutClassList: readonly string[];
  /** Unix seconds. */
  readonly issuedAt: number;
  /** Unix seconds. */
  readonly expiresAt: number;
  /** A token the server renewed (`TokenRenewal`): the key of the token the client first connected with. */
  readonly renewalOf?: string;
}

export interface ClientTokenVerifierOptions {
  readonly lookup: CredentialLookup;
  /** A cluster's keys of renewed application tokens (`TokenRenewal`). Default: none, such tokens are refused. */
  readonly renewalKeys?: RenewalKeys;
  /** Current Unix time in seconds. Default: the system clock. */
  readonly clock?: () => number;
}

/** The claims both token formats carry, before they are checked. */
interface UncheckedClaims {
  readonly sessionId: unknown;
  readonly role: unknown;
  readonly connectionData: unknown;
  readonly layoutClassList: unknown;
  readonly issuedAt: unknown;
  readonly expiresAt: unknown;
  readonly renewalOf?: unknown;
}

/**
 * Verifies the client tokens of every official SDK: the HS256 JWT that current OpenTok SDKs
 * make by default (§5.2), the legacy `T1==` token in each SDK's variant (§5.1) and the RS256
 * JWT of Vonage applications (§5.3); refusals are `TokenError`s with a typed reason.
 */
export class ClientTokenVerifier {
  readonly #lookup: CredentialLookup;
  readonly #renewalKeys: RenewalKeys | null;
  readonly #clock: () => number;

  constructor(options: ClientTokenVerifierOptions) {
    this.#lookup = options.lookup;
    this.#renewalKeys = options.renewalKeys ?? null;
    this.#clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
  }

  /**
   * `expiredGraceSeconds` (default 0) accepts a token that expired at most that long ago: only
   * where a token tells of its own failed use, never to connect.
   */
  verify(token: string, options: { readonly expiredGraceSeconds?: number } = {}): Promise<VerifiedToken> {
    const grace = options.expiredGraceSeconds ?? 0;
    return token.startsWith(t1Prefix) ? this.#verifyT1(token, grace) : this.#verifyJwt(token, grace);
  }

  async #verifyT1(token: string, grace: number): Promise<VerifiedToken> {
    const parsed = parseT1Token(token);
    if (!parsed) throw new TokenError('malformed', 'not a well-formed T1 token');
    const secret = await this.#secretOf(parsed.apiKey);
    if (!parsed.isSignedWith(secret)) throw new TokenError('bad-signature', 'signature mismatch');
    const { fields } = parsed;
    const scope = fields.get('scope');
    if (scope !== undefined && scope !== tokenScope) {
      throw new TokenError('invalid-scope', `scope must be ${tokenScope}`);
    }
    return this.#check('t1', parsed.apiKey, grace, {
      sessionId: fields.get('session_id'),
      role: fields.get('role'),
      connectionData: fields.get('connection_data'),
      layoutClassList: fields.get('initial_layout_class_list'),
      issuedAt: numeric(fields.get('create_time')),
      expiresAt: numeric(fields.get('expire_time')),
    });
  }

  async #verifyJwt(token: string, grace: number): Promise<VerifiedToken> {
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded || typeof decoded.payload !== 'object') {
      throw new TokenError('malformed', 'neither a JWT nor a T1 token');
    }
    const claims = decoded.payload as Record<string, unknown>;
    const { alg, kid } = decoded.header;
    // The project ID names the key, and the key fixes the algorithm: an OpenTok project's
    // secret for HS256 (`iss`), a Vonage application's public key for RS256 (`application_id`).
    // An HS256 token naming an application finds no secret, so a public key can never serve
    // as an HMAC key. A renewed application token is HS256 under the cluster key its `kid` names.
    let projectId: unknown;
    let key: KeyObject;
    if (alg === 'HS256' && isRenewalKeyId(kid)) {
      projectId = claims.application_id;
      if (typeof projectId !== 'string') throw new TokenError('malformed', 'JWT has no application_id claim');
      const renewalKey = await this.#renewalKeys?.verifying(kid);
      if (renewalKey === undefined) throw new TokenError('bad-signature', 'signature mismatch');
      if ((await this.#lookup.publicKeyOf(projectId)) === undefined)
        throw new TokenError('unknown-project', `unknown application ${projectId}`);
      key = renewalKey;
    } else if (alg === 'HS256') {
      projectId = claims.iss;
      if (typeof projectId !== 'string') throw new TokenError('malformed', 'JWT has no iss claim');
      // A KeyObject: given a string, jsonwebtoken first tries to parse it as a PEM key (slow).
      key = createSecretKey(await this.#secretOf(projectId), 'utf8');
    } else if (alg === 'RS256') {
      projectId = claims.application_id;
      if (typeof projectId !== 'string') throw new TokenError('malformed', 'JWT has no application_id claim');
      const publicKey = await this.#lookup.publicKeyOf(projectId);
      if (publicKey === undefined)
        throw new TokenError('unknown-project', `unknown application ${projectId}`);
      key = createPublicKey(publicKey);
    } else {
      throw new TokenError('malformed', `JWT algorithm ${alg} is not allowed`);
    }
    try {
      jwt.verify(token, key, { algorithms: [alg], ignoreExpiration: true });
    } catch {
      throw new TokenError('bad-signature', 'signature mismatch');
    }
    if (claims.scope !== tokenScope) {
      throw new TokenError('invalid-scope', `scope must be ${tokenScope}`);
    }
    return this.#check('jwt', projectId, grace, {
      sessionId: claims.session_id,
      role: claims.role,
      connectionData: claims.connection_data,
      layoutClassList: decodePhpClassList(claims.initial_layout_class_list),
      issuedAt: claims.iat,
      expiresAt: claims.exp,
      renewalOf: claims.parlor_renewal_of,
    });
  }

  async #secretOf(apiKey: string): Promise<string> {
    const secret = await this.#lookup.secretOf(apiKey);
    if (secret === undefined) throw new TokenError('unknown-project', `unknown API key ${apiKey}`);
    return secret;
  }

  /** The checks both formats share, once the signature holds. */
  async #check(
    format: VerifiedToken['format'],
    apiKey: string,
    grace: number,
    claims: UncheckedClaims,
  ): Promise<VerifiedToken> {
    const { sessionId, issuedAt } = claims;
    if (typeof sessionId !== 'string' || sessionId === '') {
      throw new TokenError('malformed', 'token has no session_id');
    }
    if (typeof issuedAt !== 'number' || !Number.isFinite(issuedAt)) {
      throw new TokenError('malformed', 'token has no creation time');
    }
    const expiresAt = claims.expiresAt ?? issuedAt + tokenLimits.defaultLifetimeSeconds;
    if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) {
      throw new TokenError('malformed', 'token expiry is not a number');
    }
    if (expiresAt - issuedAt > tokenLimits.maxLifetimeSeconds) {
      throw new TokenError('lifetime-too-long', 'token lifetime exceeds 30 days');
    }
    const now = this.#clock();
    // Without this, a token dated years ahead would pass the lifetime limit and live for years.
    if (issuedAt > now + clockSkewSeconds) {
      throw new TokenError('issued-in-future', 'token was issued in the future');
    }
    if (now >= expiresAt + grace) throw new TokenError('expired', 'token has expired');

    const role = claims.role ?? defaultRole;
    if (!isRole(role)) throw new TokenError('invalid-role', `unknown role ${JSON.stringify(role)}`);
    const connectionData = claims.connectionData ?? '';
    if (typeof connectionData !== 'string') {
      throw new TokenError('malformed', 'connection_data must be a string');
    }
    if (connectionData.length > tokenLimits.maxConnectionDataLength) {
      throw new TokenError(
        'data-too-long',
        `connection_data exceeds ${tokenLimits.maxConnectionDataLength} characters`,
      );
    }
    const layoutClassList = claims.layoutClassList ?? '';
    if (typeof layoutClassList !== 'string') {
      throw new TokenError('malformed', 'initial_layout_class_list must be a string');
    }

    const owner = await this.#lookup.projectOfSession(sessionId);
    if (owner === undefined) throw new TokenError('unknown-session', `unknown session ${sessionId}`);
    if (owner !== apiKey) {
      throw new TokenError('wrong-project', 'the session belongs to another project');
    }
    return {
      format,
      apiKey,
      sessionId,
      role,
      connectionData,
      initialLayoutClassList: layoutClassList.split(/\s+/).filter((name) => name !== ''),
      issuedAt,
      expiresAt,
      ...(typeof claims.renewalOf === 'string' ? { renewalOf: claims.renewalOf } : {}),
    };
  }
}

function numeric(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}

/** PHP URL-encodes the class list inside its JWTs (spaces as `+`); T1 fields arrive decoded. */
function decodePhpClassList(list: unknown): unknown {
  if (typeof list !== 'string' || !/[+%]/.test(list)) return list;
  try {
    return decodeURIComponent(list.replace(/\+/g, ' '));
  } catch {
    return list;
  }
}
