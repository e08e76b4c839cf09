/**
 * Decoding of OpenTok-format session IDs (contracts/server-api.md §4): `1_` (or `2_`) + unpadded
 * URL-safe base64 of `1~{apiKey}~{location}~{createdAtMs}~{random}~~`. The server mints them.
 */

const idPattern = /^[12]_[A-Za-z0-9_-]+$/;
/** Longest session ID OpenTok documents. */
export const maxSessionIdLength = 255;

export interface SessionIdFields {
  readonly apiKey: string;
  /** The location hint the session was created with, or null. */
  readonly location: string | null;
  /** Unix milliseconds. */
  readonly createdAt: number;
}

/** Decodes a session ID; null when it is not in OpenTok's format. */
export function decodeSessionId(sessionId: string): SessionIdFields | null {
  if (sessionId.length > maxSessionIdLength || !idPattern.test(sessionId)) return null;
  let raw: string;
  try {
    raw = atob(sessionId.slice(2).replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return null;
  }
  const fields = raw.split('~');
  const [, apiKey, location, createdAt] = fields;
  if (fields.length < 5 || !apiKey || createdAt === undefined) return null;
  return { apiKey, location: location || null, createdAt: Number(createdAt) };
}
