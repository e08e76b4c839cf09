import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The legacy `T1==` client token (contracts/server-api.md §5.1):
 * `"T1==" + base64("partner_id={apiKey}&sig={hex HMAC-SHA1}" + ":" + dataString)`.
 * Each SDK orders and encodes the data string its own way, and Java uses the URL-safe base64
 * alphabet, so the signature is checked over the data bytes exactly as received.
 */

export const t1Prefix = 'T1==';
const base64Pattern = /^[A-Za-z0-9+/_-]+={0,2}$/;
const colon = 0x3a;

export interface T1Token {
  readonly apiKey: string;
  /** The token's fields, form-decoded. */
  readonly fields: ReadonlyMap<string, string>;
  /** Whether `sig` is the HMAC of the data string under this secret. */
  isSignedWith(apiSecret: string): boolean;
}

/** Parses a `T1==` token; null when it is not well formed. */
export function parseT1Token(token: string): T1Token | null {
  const body = token.slice(t1Prefix.length);
  if (!token.startsWith(t1Prefix) || !base64Pattern.test(body)) return null;
  const bytes = Buffer.from(body, 'base64');
  const split = bytes.indexOf(colon);
  if (split < 0) return null;

  const head = parseForm(bytes.subarray(0, split).toString('utf8'));
  const data = bytes.subarray(split + 1);
  const fields = parseForm(data.toString('utf8'));
  const apiKey = head?.get('partner_id');
  const sig = head?.get('sig')?.toLowerCase();
  if (!fields || !apiKey || !sig || !/^[0-9a-f]{40}$/.test(sig)) return null;

  const received = Buffer.from(sig, 'hex');
  return {
    apiKey,
    fields,
    isSignedWith: (apiSecret) =>
      timingSafeEqual(createHmac('sha1', apiSecret).update(data).digest(), received),
  };
}

/** Form-decodes `a=1&b=2` (`+` and `%20` both mean a space); null on a repeated key. */
function parseForm(text: string): Map<string, string> | null {
  const fields = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(text)) {
    if (fields.has(key)) return null;
    fields.set(key, value);
  }
  return fields;
}
