import { ArgumentError } from './errors.js';
import type { RestClient } from './restClient.js';
import { requiredId, sessionPath } from './sessionPath.js';

/** A signal, as `signal` takes it: both fields optional, "" when absent. */
export interface SignalPayload {
  /** At most 128 bytes of letters, digits, `-`, `_` and `~`. */
  readonly type?: string;
  /** At most 8 kB. */
  readonly data?: string;
}

/** Options of `forceMuteAll`. */
export interface ForceMuteAllOptions {
  /** Streams to leave unmuted. Default: none. */
  readonly excludedStreamIds?: readonly string[];
}

/** Sends a signal to every client of the session, or to one when `connectionId` is given. */
export async function sendSignal(
  rest: RestClient,
  apiKey: string,
  sessionId: string,
  connectionId: string | null | undefined,
  payload: SignalPayload,
): Promise<void> {
  const session = sessionPath(apiKey, sessionId);
  // JavaScript callers may pass anything.
  const body: unknown = payload;
  if (typeof body !== 'object' || body === null) {
    throw new ArgumentError('Invalid arguments -- must provide a payload object.');
  }
  const to = connectionId ? `/connection/${requiredId('connectionId', connectionId)}` : '';
  await rest.send({ method: 'POST', path: `${session}${to}/signal`, json: payload });
}

export async function forceDisconnect(
  rest: RestClient,
  apiKey: string,
  sessionId: string,
  connectionId: string,
): Promise<void> {
  const path = `${sessionPath(apiKey, sessionId)}/connection/${requiredId('connectionId', connectionId)}`;
  await rest.send({ method: 'DELETE', path });
}

export async function forceMuteStream(
  rest: RestClient,
  apiKey: string,
  sessionId: string,
  streamId: string,
): Promise<void> {
  const path = `${sessionPath(apiKey, sessionId)}/stream/${requiredId('streamId', streamId)}/mute`;
  await rest.send({ method: 'POST', path, json: {} });
}

/** Mutes every stream but the excluded ones, and streams published later until disabled. */
export async function forceMuteAll(
  rest: RestClient,
  apiKey: string,
  sessionId: string,
  options: ForceMuteAllOptions = {},
): Promise<void> {
  const path = `${sessionPath(apiKey, sessionId)}/mute`;
  const { excludedStreamIds = [] } = options;
  if (!Array.isArray(excludedStreamIds)) {
    throw new ArgumentError('Invalid arguments -- excludedStreamIds must be an array.');
  }
  await rest.send({ method: 'POST', path, json: { active: true, excludedStreamIds } });
}

/** Lets streams published from now on keep their audio. */
export async function disableForceMute(rest: RestClient, apiKey: string, sessionId: string): Promise<void> {
  await rest.send({
    method: 'POST',
    path: `${sessionPath(apiKey, sessionId)}/mute`,
    json: { active: false },
  });
}
