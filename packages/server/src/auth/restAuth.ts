import { createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ParlorError } from '@parlor/protocol';
import type { CredentialLookup } from './projectLookup.js';

/**
 * Verification of the project JWT that every OpenTok server SDK sends in `X-OPENTOK-AUTH`
 * (contracts/server-api.md §2.1): HS256 signed with the project's secret, `iss` = API key,
 * `exp` required and at most five minutes ahead, `ist` = "project" when present (in the claims
 * or, as Ruby puts it, in the header), `jti` not required.
 */

/** Clock difference tolerated between an application server and Parlor, in seconds. */
export const restClockSkewSeconds = 120;
/** Longest validity OpenTok allows a REST JWT, in seconds. */
const maxValiditySeconds = 300;

/** Verifies a REST JWT and returns the API key of the project it authenticates. */
export function verifyProjectJwt(
  token: string | undefined,
  lookup: Pick<CredentialLookup, 'secretOf'>,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): string {
  if (!token) throw refused('missing X-OPENTOK-AUTH header');
  const decoded = jwt.decode(token, { complete: true });
  if (!decoded || typeof decoded.payload !== 'object') throw refused('malformed JWT');
  const { header, payload } = decoded;
  if (header.alg !== 'HS256') throw refused(`JWT algorithm ${header.alg} is not allowed`);

  const apiKey = payload.iss;
  if (typeof apiKey !== 'string' || apiKey === '') throw refused('JWT has no iss claim');
  const secret = lookup.secretOf(apiKey);
  if (secret === undefined) throw refused('Invalid API key or secret');
  try {
    // A KeyObject: given a string, jsonwebtoken first tries (and fails) to parse it as a PEM
    // key, which costs fifty times the signature check.
    jwt.verify(token, createSecretKey(secret, 'utf8'), {
      algorithms: ['HS256'],
      clockTolerance: restClockSkewSeconds,
      clockTimestamp: nowSeconds,
    });
  } catch (error) {
    if (error instanceof jwt.TokenExpiredError) throw refused('JWT has expired', error);
    throw refused('Invalid API key or secret', error);
  }

  if (typeof payload.exp !== 'number') throw refused('JWT has no exp claim');
  if (payload.exp > nowSeconds + maxValiditySeconds + restClockSkewSeconds) {
    throw refused(`JWT expires more than ${maxValiditySeconds} s ahead`);
  }
  if (typeof payload.iat === 'number' && payload.iat > nowSeconds + restClockSkewSeconds) {
    throw refused('JWT was issued in the future');
  }
  const ist = (payload as { ist?: unknown }).ist ?? (header as { ist?: unknown }).ist;
  if (ist !== undefined && ist !== 'project') throw refused('JWT ist must be "project"');
  return apiKey;
}

function refused(detail: string, cause?: unknown): ParlorError {
  return new ParlorError('AUTH_FAILED', detail, cause === undefined ? undefined : { cause });
}
