import {
  ParlorError,
  archiveLayoutTypes,
  archiveLimits,
  archiveOutputModes,
  archiveResolutions,
  archiveStreamModes,
  type ArchiveLayout,
  type ArchiveLayoutType,
  type ArchiveOutputMode,
  type ArchiveResolution,
  type ArchiveStreamMode,
} from '@parlor/protocol';

/** What an archive is started with (`POST /archive`), validated. */
export interface ArchiveSettings {
  readonly sessionId: string;
  readonly name: string | null;
  readonly hasAudio: boolean;
  readonly hasVideo: boolean;
  readonly outputMode: ArchiveOutputMode;
  /** Composed archives only. */
  readonly resolution: ArchiveResolution | null;
  readonly layout: ArchiveLayout;
  readonly streamMode: ArchiveStreamMode;
  readonly multiArchiveTag: string | null;
  readonly maxBitrate: number | null;
  readonly quantizationParameter: number | null;
}

/** A `PATCH /archive/{id}/streams` body. */
export type StreamChange =
  | {
      readonly kind: 'add';
      readonly streamId: string;
      readonly hasAudio: boolean;
      readonly hasVideo: boolean;
    }
  | { readonly kind: 'remove'; readonly streamId: string };

const defaultLayout: ArchiveLayout = { type: 'bestFit' };

/**
 * Reads a start request as OpenTok does: every field checked, each problem a 400 that names the
 * field. Fields OpenTok has and Parlor ignores (`hasTranscription: false`…) pass.
 */
export function parseArchiveSettings(body: Readonly<Record<string, unknown>>): ArchiveSettings {
  const { sessionId } = body;
  if (typeof sessionId !== 'string' || sessionId === '') throw invalid('sessionId must be a session ID');
  const name = optionalString(body, 'name', archiveLimits.maxNameLength) ?? null;
  const hasAudio = optionalBoolean(body, 'hasAudio') ?? true;
  const hasVideo = optionalBoolean(body, 'hasVideo') ?? true;
  if (!hasAudio && !hasVideo) throw invalid('hasAudio and hasVideo cannot both be false');
  const outputMode = optionalEnum(body, 'outputMode', archiveOutputModes) ?? 'composed';
  const composed = outputMode === 'composed';
  const resolution = optionalEnum(body, 'resolution', archiveResolutions);
  if (resolution !== undefined && !composed) throw invalid('resolution is only for composed archives');
  const layout = body.layout === undefined || body.layout === null ? defaultLayout : parseLayout(body.layout);
  const streamMode = optionalEnum(body, 'streamMode', archiveStreamModes) ?? 'auto';
  const multiArchiveTag = optionalString(body, 'multiArchiveTag', archiveLimits.maxNameLength) ?? null;
  if (multiArchiveTag === '') throw invalid('multiArchiveTag must not be empty');
  const maxBitrate = optionalInteger(body, 'maxBitrate', archiveLimits.minBitrate, archiveLimits.maxBitrate);
  const quantizationParameter = optionalInteger(
    body,
    'quantizationParameter',
    archiveLimits.minQuantizationParameter,
    archiveLimits.maxQuantizationParameter,
  );
  if (maxBitrate !== undefined && quantizationParameter !== undefined) {
    throw invalid('maxBitrate and quantizationParameter exclude each other');
  }
  if (!composed && (maxBitrate !== undefined || quantizationParameter !== undefined)) {
    throw invalid('maxBitrate and quantizationParameter are only for composed archives');
  }
  if (body.hasTranscription === true) throw invalid('transcription is not supported');
  return {
    sessionId,
    name,
    hasAudio,
    hasVideo,
    outputMode,
    resolution: composed ? (resolution ?? '640x480') : null,
    layout,
    streamMode,
    multiArchiveTag,
    maxBitrate: maxBitrate ?? null,
    quantizationParameter: quantizationParameter ?? null,
  };
}

/** A layout: `{type, stylesheet?, screenshareType?}` (start body or `PUT …/layout`). */
export function parseLayout(value: unknown): ArchiveLayout {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('layout must be an object {type, stylesheet?, screenshareType?}');
  }
  const fields = value as Record<string, unknown>;
  const type = optionalEnum(fields, 'type', archiveLayoutTypes, 'layout.type');
  if (type === undefined) throw invalid(`layout.type must be one of ${archiveLayoutTypes.join(', ')}`);
  const stylesheet = optionalString(fields, 'stylesheet', 65_536, 'layout.stylesheet');
  if (type === 'custom' && !stylesheet) throw invalid('layout.stylesheet is required with the custom type');
  if (type !== 'custom' && stylesheet !== undefined) {
    throw invalid('layout.stylesheet is only for the custom type');
  }
  const screenshareTypes = archiveLayoutTypes.filter(
    (t): t is Exclude<ArchiveLayoutType, 'custom'> => t !== 'custom',
  );
  const screenshareType = optionalEnum(fields, 'screenshareType', screenshareTypes, 'layout.screenshareType');
  if (screenshareType !== undefined && type !== 'bestFit') {
    throw invalid('layout.screenshareType is only for the bestFit type');
  }
  return {
    type,
    ...(stylesheet === undefined ? {} : { stylesheet }),
    ...(screenshareType === undefined ? {} : { screenshareType }),
  };
}

/** `{addStream, hasAudio?, hasVideo?}` or `{removeStream}`. */
export function parseStreamChange(body: Readonly<Record<string, unknown>>): StreamChange {
  const { addStream, removeStream } = body;
  if ((addStream === undefined) === (removeStream === undefined)) {
    throw invalid('give one of addStream and removeStream');
  }
  if (removeStream !== undefined) {
    if (typeof removeStream !== 'string' || removeStream === '')
      throw invalid('removeStream must be a stream ID');
    return { kind: 'remove', streamId: removeStream };
  }
  if (typeof addStream !== 'string' || addStream === '') throw invalid('addStream must be a stream ID');
  const hasAudio = optionalBoolean(body, 'hasAudio') ?? true;
  const hasVideo = optionalBoolean(body, 'hasVideo') ?? true;
  if (!hasAudio && !hasVideo) throw invalid('hasAudio and hasVideo cannot both be false');
  return { kind: 'add', streamId: addStream, hasAudio, hasVideo };
}

/** `offset`, `count` (1 to 1000) and `sessionId` of `GET /archive`. */
export function parseListQuery(query: Readonly<Record<string, unknown>>): {
  offset: number;
  count: number;
  sessionId?: string;
} {
  const offset = queryInteger(query, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0;
  const count = queryInteger(query, 'count', 1, archiveLimits.maxListCount) ?? archiveLimits.defaultListCount;
  const { sessionId } = query;
  if (sessionId !== undefined && (typeof sessionId !== 'string' || sessionId === '')) {
    throw invalid('sessionId must be a session ID');
  }
  return { offset, count, ...(sessionId === undefined ? {} : { sessionId }) };
}

function optionalString(
  body: Readonly<Record<string, unknown>>,
  field: string,
  maxLength: number,
  label = field,
): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`${label} must be a string`);
  if (value.length > maxLength) throw invalid(`${label} must be at most ${maxLength} characters`);
  return value;
}

function optionalBoolean(body: Readonly<Record<string, unknown>>, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalid(`${field} must be true or false`);
  return value;
}

function optionalEnum<T extends string>(
  body: Readonly<Record<string, unknown>>,
  field: string,
  values: readonly T[],
  label = field,
): T | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
    throw invalid(`${label} must be one of ${values.join(', ')}`);
  }
  return value as T;
}

function optionalInteger(
  body: Readonly<Record<string, unknown>>,
  field: string,
  min: number,
  max: number,
): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${field} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

function queryInteger(
  query: Readonly<Record<string, unknown>>,
  field: string,
  min: number,
  max: number,
): number | undefined {
  const value = query[field];
  if (value === undefined || value === '') return undefined;
  const number = typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!(number >= min && number <= max))
    throw invalid(`${field} must be a whole number from ${min} to ${max}`);
  return number;
}

function invalid(detail: string): ParlorError {
  return new ParlorError('INVALID_REQUEST', detail);
}
