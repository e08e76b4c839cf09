import { createHmac } from 'node:crypto';

/** A TURN username and password, as `RTCIceServer` names them. */
export interface TurnCredentials {
  readonly username: string;
  readonly credential: string;
}

/**
 * Ephemeral credentials by the TURN REST convention (draft-uberti-behave-turn-rest-00 §2.2), which
 * coturn checks with `use-auth-secret`: the username is `expiry:id` (expiry in Unix seconds), the
 * password the base64 HMAC-SHA1 of the username keyed with the shared secret.
 */
export function turnCredentials(secret: string, id: string, expiresAt: number): TurnCredentials {
  const username = `${Math.floor(expiresAt)}:${id}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}
