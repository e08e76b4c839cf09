import { ArgumentError } from './errors.js';
import type { RestClient } from './restClient.js';
import { requiredId, sessionPath } from './sessionPath.js';

/** Options of `dial` (the `sip` object of `POST /dial`, and the streams the call hears). */
export interface DialOptions {
  /** The caller ID: a user part, or user@host. Default: the server's. */
  readonly from?: string;
  /** Custom `X-` headers added to the INVITE. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Credentials answering the far end's digest challenge. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** SRTP media. Default: false. */
  readonly secure?: boolean;
  /** Video (not supported by Parlor yet). Default: false. */
  readonly video?: boolean;
  /** Whether force mute applies to the SIP stream, and the caller's *6 toggles it. Default: false. */
  readonly observeForceMute?: boolean;
  /** The streams the call hears. Default: all. */
  readonly streams?: readonly string[];
}

/** A call in progress: its ID, and its connection and stream in the session. */
export interface SipCall {
  readonly id: string;
  readonly connectionId: string;
  readonly streamId: string;
}

export async function dial(
  rest: RestClient,
  apiKey: string,
  sessionId: string,
  token: string,
  sipUri: string,
  options: DialOptions = {},
): Promise<SipCall> {
  sessionPath(apiKey, sessionId);
  if (typeof token !== 'string' || token === '') throw new ArgumentError('No token given');
  if (typeof sipUri !== 'string' || sipUri === '') throw new ArgumentError('No SIP URI given');
  const { streams, ...sip } = options;
  const body = { sessionId, token, sip: { uri: sipUri, ...sip, ...(streams ? { streams } : {}) } };
  const result = (await rest.send({
    method: 'POST',
    path: `/v2/project/${encodeURIComponent(apiKey)}/dial`,
    json: body,
  })) as SipCall;
  return { id: result.id, connectionId: result.connectionId, streamId: result.streamId };
}

/** Plays DTMF digits (0-9, *, #, p for a 500 ms pause) into every call of the session, or one. */
export async function playDtmf(
  rest: RestClient,
  apiKey: string,
  sessionId: string,
  connectionId: string | null | undefined,
  digits: string,
): Promise<void> {
  const session = sessionPath(apiKey, sessionId);
  if (typeof digits !== 'string' || !/^[0-9*#p]+$/.test(digits))
    throw new ArgumentError('Invalid arguments -- digits must be 0-9, *, # and p');
  const to = connectionId ? `/connection/${requiredId('connectionId', connectionId)}` : '';
  await rest.send({ method: 'POST', path: `${session}${to}/play-dtmf`, json: { digits } });
}
