import { createHmac, randomInt, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { decodeSessionId, isRole, tokenLimits, tokenScope, type Role } from '@parlor/protocol';
import type { SigningCredentials } from './credentials.js';
import { ArgumentError } from './errors.js';

/** Options of `generateToken`, as the `opentok` package takes them. */
export interface TokenOptions {
  /** What the client may do. Default: `publisher`. */
  readonly role?: Role;
  /** Expiry as Unix seconds (fractions are rounded). Default: 24 hours from now; at most 30 days. */
  readonly expireTime?: number;
  /** Connection data other clients see, at most 1024 characters. Default: none. */
  readonly data?: string;
  /** Layout classes of the streams the client publishes (a list, or space-joined). Default: none. */
  readonly initialLayoutClassList?: readonly string[] | string;
}

interface TokenClaims {
  session_id: string;
  create_time: number;
  nonce: number;
  role: Role;
  expire_time: number;
  connection_data?: string;
  initial_layout_class_list: string;
  scope: string;
}

/**
 * Makes a client token for a session: for an OpenTok project an HS256 JWT with the claims of the
 * `opentok` package 2.23 (the default) or the legacy `T1==` form; for a Vonage application an
 * RS256 JWT with the claims of `@vonage/video` (contracts/server-api.md §5).
 */
export function generateClientToken(
  credentials: SigningCredentials,
  sessionId: string,
  options: TokenOptions = {},
  legacyT1 = false,
): string {
  const claims = tokenClaims(credentials.id, sessionId, options);
  if (credentials.kind === 'application') {
    if (legacyT1) throw new ArgumentError('T1 tokens need an API secret; applications make JWTs only');
    const { create_time: iat, expire_time: exp, nonce: _nonce, ...vonageClaims } = claims;
    return jwt.sign(
      {
        ...vonageClaims,
        application_id: credentials.id,
        sub: 'video',
        acl: { paths: { '/session/**': {} } },
        jti: randomUUID(),
        iat,
        exp,
      },
      credentials.key,
      { algorithm: 'RS256' },
    );
  }
  if (legacyT1) {
    const data = Object.entries(claims)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${encodeURIComponent(String(value))}`)
      .join('&');
    const sig = createHmac('sha1', credentials.key).update(data).digest('hex');
    return 'T1==' + Buffer.from(`partner_id=${credentials.id}&sig=${sig}:${data}`).toString('base64');
  }
  return jwt.sign(
    { iss: credentials.id, ist: 'project', iat: claims.create_time, exp: claims.expire_time, ...claims },
    credentials.key,
    { algorithm: 'HS256' },
  );
}

function tokenClaims(apiKey: string, sessionId: string, options: TokenOptions): TokenClaims {
  if (typeof sessionId !== 'string' || sessionId === '') {
    throw new ArgumentError('Token cannot be generated without a sessionId parameter');
  }
  if (decodeSessionId(sessionId)?.apiKey !== apiKey) {
    throw new ArgumentError('Token cannot be generated unless the session belongs to the API Key');
  }
  const now = Math.floor(Date.now() / 1000);
  const role = options.role ?? 'publisher';
  if (!isRole(role)) throw new ArgumentError(`Invalid role for token generation: ${String(role)}`);

  const expireTime =
    options.expireTime === undefined
      ? now + tokenLimits.defaultLifetimeSeconds
      : Math.round(options.expireTime);
  if (!Number.isFinite(expireTime))
    throw new ArgumentError(`Invalid expireTime: ${String(options.expireTime)}`);
  if (expireTime < now)
    throw new ArgumentError(`Invalid expireTime, it is in the past: ${expireTime} < ${now}`);
  if (expireTime - now > tokenLimits.maxLifetimeSeconds) {
    throw new ArgumentError('Invalid expireTime, it is more than 30 days ahead');
  }

  const { data } = options;
  if (data !== undefined && (typeof data !== 'string' || data.length > tokenLimits.maxConnectionDataLength)) {
    throw new ArgumentError(
      `Invalid data for token generation, must be a string with maximum length ${tokenLimits.maxConnectionDataLength}`,
    );
  }
  const classList = options.initialLayoutClassList;
  const joinedClasses = typeof classList === 'string' ? classList : (classList ?? []).join(' ');
  if (joinedClasses.length > tokenLimits.maxLayoutClassListLength) {
    throw new ArgumentError(
      `Invalid initialLayoutClassList, longer than ${tokenLimits.maxLayoutClassListLength} characters`,
    );
  }

  return {
    session_id: sessionId,
    create_time: now,
    nonce: randomInt(0, 2 ** 47) / 2 ** 47,
    role,
    expire_time: expireTime,
    ...(data ? { connection_data: data } : {}),
    initial_layout_class_list: joinedClasses,
    scope: tokenScope,
  };
}
