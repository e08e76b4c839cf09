import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ParlorError } from '@parlor/protocol';
import { clockSkewSeconds } from './clockSkew.js';
import type { CredentialLookup } from './projectLookup.js';

/**
 * Authentication of REST requests (contracts/server-api.md §2):
 * - `X-OPENTOK-AUTH`: an HS256 JWT signed with the project's secret, `iss` = API key, `exp`
 *   at most five minutes ahead, `ist` = "project" when present (in the claims or, as Ruby puts
 *   it, in the header); what every OpenTok server SDK sends.
 * - `Authorization: Bearer`: an RS256 JWT signed with a Vonage application's private key,
 *   `application_id` = the application; what `@vonage/video` and the Vonage PHP SDK send.
 * Both require `exp` and neither requires `jti`.
 */

/** Longest validity OpenTok allows a project JWT, in seconds. */
const maxProjectJwtValiditySeconds = 300;
/** Longest validity Vonage allows an application JWT, in seconds (24 hours). */
const maxApplicationJwtValiditySeconds = 24 * 60 * 60;

export interface RestCredentials {
  /** The `X-OPENTOK-AUTH` header. */
  readonly opentokAuth: string | undefined;
  /** The `Authorization` header. */
  readonly authorization: string | undefined;
}

/** Verifies a REST request's credentials; returns the ID of the project they authenticate. */
export async function authenticateRest(
  credentials: RestCredentials,
  lookup: Pick<CredentialLookup, 'secretOf' | 'publicKeyOf'>,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): Promise<string> {
  const bearer = /^Bearer\s+(\S+)$/i.exec(credentials.authorization ?? '')?.[1];
  if (bearer !== undefined) return verifyApplicationJwt(bearer, lookup, nowSeconds);
  if (credentials.opentokAuth === undefined) {
    throw refused('missing X-OPENTOK-AUTH or Authorization: Bearer header');
  }
  return verifyProjectJwt(credentials.opentokAuth, lookup, nowSeconds);
}

/** Verifies an `X-OPENTOK-AUTH` project JWT; returns the project's API key. */
async function verifyProjectJwt(
  token: string,
  lookup: Pick<CredentialLookup, 'secretOf'>,
  nowSeconds: number,
): Promise<string> {
  const { header, payload } = decode(token, 'HS256');
  const apiKey = payload.iss;
  if (typeof apiKey !== 'string' || apiKey === '') throw refused('JWT has no iss claim');
  const secret = await lookup.secretOf(apiKey);
  if (secret === undefined) throw refused('Invalid API key or secret');
  // A KeyObject: given a string, jsonwebtoken first tries (and fails) to parse it as a PEM
  // key, which costs fifty times the signature check.
  verifySignature(token, createSecretKey(secret, 'utf8'), 'HS256', nowSeconds, 'Invalid API key or secret');
  checkLifetime(payload, nowSeconds, maxProjectJwtValiditySeconds);
  const ist: unknown = payload.ist ?? (header as { ist?: unknown }).ist;
  if (ist !== undefined && ist !== 'project') throw refused('JWT ist must be "project"');
  return apiKey;
}

/** Verifies a `Bearer` application JWT; returns the application ID. */
async function verifyApplicationJwt(
  token: string,
  lookup: Pick<CredentialLookup, 'publicKeyOf'>,
  nowSeconds: number,
): Promise<string> {
  // RS256 only: accepting HS256 here would let the public key serve as an HMAC secret.
  const { payload } = decode(token, 'RS256');
  const applicationId: unknown = payload.application_id;
  if (typeof applicationId !== 'string' || applicationId === '') {
    throw refused('JWT has no application_id claim');
  }
  const publicKey = await lookup.publicKeyOf(applicationId);
  if (publicKey === undefined) throw refused('Invalid application ID or key');
  verifySignature(token, createPublicKey(publicKey), 'RS256', nowSeconds, 'Invalid application ID or key');
  checkLifetime(payload, nowSeconds, maxApplicationJwtValiditySeconds);
  return applicationId;
}

function decode(
  token: string,
  algorithm: 'HS256' | 'RS256',
): { header: jwt.JwtHeader; payload: jwt.JwtPayload } {
  const decoded = jwt.decode(token, { complete: true });
  if (!decoded || typeof decoded.payload !== 'object') throw refused('malformed JWT');
  if (decoded.header.alg !== algorithm) {
    throw refused(`JWT algorithm ${decoded.header.alg} is not allowed here (${algorithm} expected)`);
  }
  return { header: decoded.header, payload: decoded.payload };
}

function verifySignature(
  token: string,
  key: KeyObject,
  algorithm: 'HS256' | 'RS256',
  nowSeconds: number,
  badSignature: string,
): void {
  try {
    jwt.verify(token, key, {
      algorithms: [algorithm],
      clockTolerance: clockSkewSeconds,
      clockTimestamp: nowSeconds,
    });
  } catch (error) {
    if (error instanceof jwt.TokenExpiredError) throw refused('JWT has expired', error);
    throw refused(badSignature, error);
  }
}

function checkLifetime(payload: jwt.JwtPayload, nowSeconds: number, maxValiditySeconds: number): void {
  if (typeof payload.exp !== 'number') throw refused('JWT has no exp claim');
  if (payload.exp > nowSeconds + maxValiditySeconds + clockSkewSeconds) {
    throw refused(`JWT expires more than ${maxValiditySeconds} s ahead`);
  }
  if (typeof payload.iat === 'number' && payload.iat > nowSeconds + clockSkewSeconds) {
    throw refused('JWT was issued in the future');
  }
}

function refused(detail: string, cause?: unknown): ParlorError {
  return new ParlorError('AUTH_FAILED', detail, cause === undefined ? undefined : { cause });
}
