import { randomBytes } from 'node:crypto';
import type { SessionIdFields } from '@parlor/protocol';

/**
 * Mints a session ID in OpenTok's format, so that every official SDK's decoder accepts it
 * (contracts/server-api.md §4): `1_` + unpadded URL-safe base64 of
 * `1~{apiKey}~{location}~{createdAtMs}~{random}~~`.
 *
 * The raw string is ASCII and its random part from the base64 alphabet: the PHP SDK splits the
 * encoded ID on `-` and decodes each piece alone, which works only because such a `-` can then
 * only stand where a `~` sits on a 3-byte boundary.
 */
export function mintSessionId(fields: SessionIdFields): string {
  const random = randomBytes(18).toString('base64');
  const raw = `1~${fields.apiKey}~${fields.location ?? ''}~${fields.createdAt}~${random}~~`;
  return '1_' + Buffer.from(raw, 'ascii').toString('base64url');
}
