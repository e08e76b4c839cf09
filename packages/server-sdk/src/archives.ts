import type {
  ArchiveLayout,
  ArchiveOutputMode,
  ArchiveResolution,
  ArchiveStatus,
  ArchiveStreamMode,
} from '@parlor/protocol';
import { ArchiveError, ArgumentError, RequestError } from './errors.js';
import type { RestClient } from './restClient.js';
import { requiredId } from './sessionPath.js';

/** Options of `startArchive`, as OpenTok's REST API takes them. */
export interface ArchiveOptions {
  readonly name?: string;
  /** Default: true. */
  readonly hasAudio?: boolean;
  /** Default: true. */
  readonly hasVideo?: boolean;
  /** Default: composed. */
  readonly outputMode?: ArchiveOutputMode;
  /** Composed archives only. Default: 640x480. */
  readonly resolution?: ArchiveResolution;
  /** Composed archives only. Default: bestFit. */
  readonly layout?: ArchiveLayout;
  /** Default: auto. */
  readonly streamMode?: ArchiveStreamMode;
  /** Lets several archives of one session record at once, one per tag. */
  readonly multiArchiveTag?: string;
  /** Composed archives only: the video bitrate cap, bits per second. */
  readonly maxBitrate?: number;
  /** Composed archives only: a fixed quantizer (15 to 40) instead of a bitrate. */
  readonly quantizationParameter?: number;
}

/** An archive, as the server reports it (server-api.md §6). */
export interface Archive {
  readonly id: string;
  readonly status: ArchiveStatus;
  readonly name: string | null;
  /** Why it stopped or failed; "" until then. */
  readonly reason: string;
  readonly sessionId: string;
  readonly projectId: number | string;
  readonly partnerId: number | string;
  /** Unix milliseconds. */
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Seconds. */
  readonly duration: number;
  /** Bytes. */
  readonly size: number;
  readonly outputMode: ArchiveOutputMode;
  readonly hasAudio: boolean;
  readonly hasVideo: boolean;
  readonly streamMode: ArchiveStreamMode;
  /** The streams a manual archive records now. */
  readonly streams: readonly {
    readonly streamId: string;
    readonly hasAudio: boolean;
    readonly hasVideo: boolean;
  }[];
  /** A download link valid for a few minutes, while available; else null. */
  readonly url: string | null;
  /** Composed archives only. */
  readonly resolution?: ArchiveResolution;
}

/** Options of `listArchives`. */
export interface ListArchivesOptions {
  /** Default: 0 (the newest). */
  readonly offset?: number;
  /** 1 to 1000. Default: 50. */
  readonly count?: number;
  /** Only this session's archives. */
  readonly sessionId?: string;
}

/** A page of archives, newest first, and how many there are in all. */
export interface ArchiveList {
  readonly archives: Archive[];
  readonly totalCount: number;
}

const archivePath = (apiKey: string): string => `/v2/project/${encodeURIComponent(apiKey)}/archive`;

export async function startArchive(
  rest: RestClient,
  apiKey: string,
  sessionId: string,
  options: ArchiveOptions = {},
): Promise<Archive> {
  if (typeof sessionId !== 'string' || sessionId === '') throw new ArgumentError('No session ID given');
  // JavaScript callers may pass anything.
  const given: unknown = options;
  if (typeof given !== 'object' || given === null) throw new ArgumentError('options must be an object');
  if (options.hasAudio === false && options.hasVideo === false) {
    throw new ArgumentError('hasAudio and hasVideo cannot both be false');
  }
  if (options.outputMode === 'individual' && options.resolution !== undefined) {
    throw new ArgumentError('resolution is only for composed archives');
  }
  return toArchive(
    await archiveCall(
      rest.send({ method: 'POST', path: archivePath(apiKey), json: { sessionId, ...options } }),
    ),
  );
}

export async function stopArchive(rest: RestClient, apiKey: string, archiveId: string): Promise<Archive> {
  const path = `${archivePath(apiKey)}/${requiredId('archiveId', archiveId)}/stop`;
  return toArchive(await archiveCall(rest.send({ method: 'POST', path, json: {} })));
}

export async function getArchive(rest: RestClient, apiKey: string, archiveId: string): Promise<Archive> {
  const path = `${archivePath(apiKey)}/${requiredId('archiveId', archiveId)}`;
  return toArchive(await rest.send({ method: 'GET', path }));
}

export async function listArchives(
  rest: RestClient,
  apiKey: string,
  options: ListArchivesOptions = {},
): Promise<ArchiveList> {
  const query = new URLSearchParams();
  if (options.offset !== undefined) query.set('offset', String(options.offset));
  if (options.count !== undefined) query.set('count', String(options.count));
  if (options.sessionId !== undefined) query.set('sessionId', options.sessionId);
  const suffix = query.size > 0 ? `?${query.toString()}` : '';
  const answer = (await rest.send({ method: 'GET', path: `${archivePath(apiKey)}${suffix}` })) as {
    count?: unknown;
    items?: unknown;
  } | null;
  if (!Array.isArray(answer?.items) || typeof answer.count !== 'number') throw unexpected(answer);
  return { archives: answer.items.map(toArchive), totalCount: answer.count };
}

export async function deleteArchive(rest: RestClient, apiKey: string, archiveId: string): Promise<void> {
  const path = `${archivePath(apiKey)}/${requiredId('archiveId', archiveId)}`;
  await archiveCall(rest.send({ method: 'DELETE', path }));
}

/** Adds a stream to a manual archive, or changes which of its tracks are recorded. */
export async function addArchiveStream(
  rest: RestClient,
  apiKey: string,
  archiveId: string,
  streamId: string,
  options: { readonly hasAudio?: boolean; readonly hasVideo?: boolean } = {},
): Promise<void> {
  const path = `${archivePath(apiKey)}/${requiredId('archiveId', archiveId)}/streams`;
  const json = {
    addStream: decodeURIComponent(requiredId('streamId', streamId)),
    hasAudio: options.hasAudio ?? true,
    hasVideo: options.hasVideo ?? true,
  };
  await archiveCall(rest.send({ method: 'PATCH', path, json }));
}

export async function removeArchiveStream(
  rest: RestClient,
  apiKey: string,
  archiveId: string,
  streamId: string,
): Promise<void> {
  const path = `${archivePath(apiKey)}/${requiredId('archiveId', archiveId)}/streams`;
  await archiveCall(
    rest.send({
      method: 'PATCH',
      path,
      json: { removeStream: decodeURIComponent(requiredId('streamId', streamId)) },
    }),
  );
}

export async function setArchiveLayout(
  rest: RestClient,
  apiKey: string,
  archiveId: string,
  layout: ArchiveLayout,
): Promise<void> {
  const path = `${archivePath(apiKey)}/${requiredId('archiveId', archiveId)}/layout`;
  await archiveCall(rest.send({ method: 'PUT', path, json: layout }));
}

/** 409 (not in a state that allows it) and 405 (not in manual stream mode) as ArchiveError. */
async function archiveCall(request: Promise<unknown>): Promise<unknown> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof RequestError && (error.status === 409 || error.status === 405)) {
      throw new ArchiveError(
        error.message.replace(/^Unexpected response from the server: /, ''),
        error.status,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}

function toArchive(value: unknown): Archive {
  const archive = value as Partial<Archive> | null;
  if (typeof archive?.id !== 'string' || typeof archive.status !== 'string') throw unexpected(value);
  return archive as Archive;
}

function unexpected(answer: unknown): RequestError {
  return new RequestError(`Unexpected response from the server: ${JSON.stringify(answer)}`);
}
