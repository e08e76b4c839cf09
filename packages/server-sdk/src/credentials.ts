import { createPrivateKey, createSecretKey, type KeyObject } from 'node:crypto';

/**
 * What signs the SDK's JWTs: an OpenTok project's API secret (HS256), or a Vonage application's
 * RSA private key (RS256), chosen as opentok-node chooses its Vonage mode: an application ID (a
 * UUID) with a PKCS#8 PEM private key.
 */
export interface SigningCredentials {
  readonly kind: 'project' | 'application';
  /** The API key or the application ID. */
  readonly id: string;
  /** Kept as a KeyObject: jsonwebtoken signs fifty times slower from a string. */
  readonly key: KeyObject;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function signingCredentials(id: string, secretOrPrivateKey: string): SigningCredentials {
  if (uuidPattern.test(id) && secretOrPrivateKey.startsWith('-----BEGIN PRIVATE KEY')) {
    return { kind: 'application', id, key: createPrivateKey(secretOrPrivateKey) };
  }
  return { kind: 'project', id, key: createSecretKey(secretOrPrivateKey, 'utf8') };
}
