import { createHash, timingSafeEqual } from 'node:crypto';
import jwt from 'jsonwebtoken';

/** The issuer of signed callbacks (the JWT's `iss`). */
export const callbackIssuer = 'Parlor';
/** How long a callback's signature is valid, in seconds. */
export const callbackSignatureLifetimeSeconds = 300;

/** The claims of a callback's JWT. */
export interface CallbackClaims {
  readonly iss: string;
  /** Unix seconds. */
  readonly iat: number;
  readonly exp: number;
  /** Base64 SHA-256 of the body, as sent. */
  readonly sha256: string;
  /** The project (API key or application ID) the callback tells of. */
  readonly projectId: string;
}

/** Base64 SHA-256 of a callback's body. */
export function bodyHash(body: string | Buffer): string {
  return createHash('sha256').update(body).digest('base64');
}

/** The `Authorization` header of a callback: a Bearer HS256 JWT over the body's hash. */
export function signCallback(body: string, projectId: string, secret: string, nowMs = Date.now()): string {
  const iat = Math.floor(nowMs / 1000);
  const claims: CallbackClaims = {
    iss: callbackIssuer,
    iat,
    exp: iat + callbackSignatureLifetimeSeconds,
    sha256: bodyHash(body),
    projectId,
  };
  return `Bearer ${jwt.sign(claims, secret, { algorithm: 'HS256' })}`;
}

/**
 * What a receiver does: checks the header's JWT (HS256, signed with the secret, issued by Parlor,
 * not expired) and that it carries the hash of the body received. Returns the claims, or throws.
 */
export function verifyCallback(
  authorization: string | undefined,
  body: string | Buffer,
  secret: string,
): CallbackClaims {
  const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
  if (!token) throw new Error('no Bearer token in the Authorization header');
  const claims = jwt.verify(token, secret, {
    algorithms: ['HS256'],
    issuer: callbackIssuer,
  }) as CallbackClaims;
  const expected = Buffer.from(bodyHash(body));
  const carried = Buffer.from(typeof claims.sha256 === 'string' ? claims.sha256 : '');
  if (expected.length !== carried.length || !timingSafeEqual(expected, carried))
    throw new Error('the body does not match the hash the token carries');
  return claims;
}
