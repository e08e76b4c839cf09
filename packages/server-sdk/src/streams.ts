import { ArgumentError, RequestError } from './errors.js';
import type { RestClient } from './restClient.js';
import { requiredId, sessionPath } from './sessionPath.js';

/** A live stream, as `getStream` and `listStreams` deliver it. */
export interface Stream {
  readonly id: string;
  /** `camera`, `screen` or `custom`. */
  readonly videoType: string;
  /** The name the publisher gave it; "" when none. */
  readonly name: string;
  /** Layout classes for composed archives and broadcasts. */
  readonly layoutClassList: readonly string[];
}

/** New layout classes for one stream, for `setStreamClassLists`. */
export interface StreamClassList {
  readonly id: string;
  readonly layoutClassList: readonly string[];
}

export async function listStreams(rest: RestClient, apiKey: string, sessionId: string): Promise<Stream[]> {
  const answer = await rest.send({ method: 'GET', path: `${sessionPath(apiKey, sessionId)}/stream` });
  const items = (answer as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) throw unexpected(answer);
  return items.map(toStream);
}

export async function getStream(
  rest: RestClient,
  apiKey: string,
  sessionId: string,
  streamId: string,
): Promise<Stream> {
  const path = `${sessionPath(apiKey, sessionId)}/stream/${requiredId('streamId', streamId)}`;
  return toStream(await rest.send({ method: 'GET', path }));
}

export async function setStreamClassLists(
  rest: RestClient,
  apiKey: string,
  sessionId: string,
  classLists: readonly StreamClassList[],
): Promise<void> {
  const path = `${sessionPath(apiKey, sessionId)}/stream`;
  // JavaScript callers may pass anything.
  const items: unknown = classLists;
  if (!Array.isArray(items) || !items.every(isClassList)) {
    throw new ArgumentError(
      'Invalid arguments -- each element must have an id string and a layoutClassList array.',
    );
  }
  await rest.send({ method: 'PUT', path, json: { items: classLists } });
}

function isClassList(item: unknown): boolean {
  if (typeof item !== 'object' || item === null) return false;
  const { id, layoutClassList } = item as Record<string, unknown>;
  return (
    typeof id === 'string' &&
    Array.isArray(layoutClassList) &&
    layoutClassList.every((name) => typeof name === 'string')
  );
}

function toStream(value: unknown): Stream {
  const { id, videoType, name, layoutClassList } = (value ?? {}) as Record<string, unknown>;
  if (typeof id !== 'string' || !Array.isArray(layoutClassList)) throw unexpected(value);
  return {
    id,
    videoType: typeof videoType === 'string' ? videoType : 'camera',
    name: typeof name === 'string' ? name : '',
    layoutClassList: layoutClassList.filter((entry): entry is string => typeof entry === 'string'),
  };
}

function unexpected(answer: unknown): RequestError {
  return new RequestError(`Unexpected response from the server: ${JSON.stringify(answer)}`);
}
