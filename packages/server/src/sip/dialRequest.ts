import sip from 'sip';
import { ParlorError } from '@parlor/protocol';

/** A `POST /dial` body, checked (contracts/server-api.md §9.2). */
export interface DialRequest {
  readonly sessionId: string;
  readonly token: string;
  readonly uri: string;
  readonly transport: 'udp' | 'tcp' | 'tls';
  readonly from: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly auth: { readonly username: string; readonly password: string } | null;
  readonly observeForceMute: boolean;
  /** SRTP media (SDES keys, RFC 4568). */
  readonly secure: boolean;
  /** The streams the call hears; null for all. */
  readonly streams: readonly string[] | null;
}

const maxHeaders = 32;
const maxFieldLength = 1024;
const customHeaderName = /^X-[A-Za-z0-9!#$%&'*+.^_`|~-]+$/i;
const lineBreak = /[\r\n\0]/;

function invalid(detail: string): ParlorError {
  return new ParlorError('INVALID_REQUEST', detail);
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw invalid(`${field} must be a non-empty string`);
  if (value.length > maxFieldLength || lineBreak.test(value))
    throw invalid(`${field} must be one line of at most ${maxFieldLength} characters`);
  return value;
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(`${field} must be an object`);
  return value as Record<string, unknown>;
}

function flag(value: unknown, field: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalid(`${field} must be true or false`);
  return value;
}

/** Checks a dial request; a 400 naming the field for anything wrong or not supported. */
export function readDialRequest(body: unknown): DialRequest {
  const fields = object(body ?? {}, 'the body');
  const sessionId = text(fields.sessionId, 'sessionId');
  const token = text(fields.token, 'token');
  const sipFields = object(fields.sip, 'sip');
  const uri = text(sipFields.uri, 'sip.uri');
  const parsed = sip.parseUri(uri);
  if (!parsed || (parsed.schema !== 'sip' && parsed.schema !== 'sips') || !parsed.host)
    throw invalid('sip.uri must be a sip: or sips: URI');
  const transport = (parsed.params.transport ?? (parsed.schema === 'sips' ? 'tls' : 'udp')).toLowerCase();
  if (transport !== 'udp' && transport !== 'tcp' && transport !== 'tls')
    throw invalid('sip.uri: transport must be udp, tcp or tls');
  if (parsed.schema === 'sips' && transport !== 'tls') throw invalid('sip.uri: a sips: URI goes over TLS');
  if (flag(sipFields.video, 'sip.video')) throw invalid('sip.video: SIP video is not supported');
  const from = sipFields.from === undefined ? null : text(sipFields.from, 'sip.from');
  if (from !== null && !/^[^\s<>"@]+(@[^\s<>"@]+)?$/.test(from))
    throw invalid('sip.from must be a user part or user@host');
  const headers: Record<string, string> = {};
  if (sipFields.headers !== undefined) {
    const entries = Object.entries(object(sipFields.headers, 'sip.headers'));
    if (entries.length > maxHeaders) throw invalid(`sip.headers: at most ${maxHeaders} headers`);
    for (const [name, value] of entries) {
      if (!customHeaderName.test(name)) throw invalid(`sip.headers: ${name} is not a custom X- header`);
      headers[name] = text(value, `sip.headers.${name}`);
    }
  }
  let auth: DialRequest['auth'] = null;
  if (sipFields.auth !== undefined) {
    const authFields = object(sipFields.auth, 'sip.auth');
    auth = {
      username: text(authFields.username, 'sip.auth.username'),
      password: text(authFields.password, 'sip.auth.password'),
    };
  }
  const streamsField = fields.streams ?? sipFields.streams;
  let streams: string[] | null = null;
  if (streamsField !== undefined) {
    if (!Array.isArray(streamsField) || streamsField.length > 256)
      throw invalid('streams must be an array of stream IDs');
    streams = streamsField.map((id, index) => text(id, `streams[${index}]`));
  }
  return {
    sessionId,
    token,
    uri,
    transport,
    from,
    headers,
    auth,
    observeForceMute: flag(sipFields.observeForceMute, 'sip.observeForceMute'),
    secure: flag(sipFields.secure, 'sip.secure'),
    streams,
  };
}

/** Checks the digits of a play-dtmf request: 0-9, *, # and p (a 500 ms pause). */
export function readDtmfDigits(body: unknown): string {
  const { digits } = object(body ?? {}, 'the body');
  if (typeof digits !== 'string' || !/^[0-9*#p]{1,64}$/.test(digits))
    throw invalid('digits must be 1 to 64 of 0-9, *, # and p');
  return digits;
}
