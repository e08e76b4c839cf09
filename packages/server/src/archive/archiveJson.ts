import type { ArchiveStatus } from '@parlor/protocol';
import type { ArchiveRecord } from '../store/ArchiveRepository.js';

/** A stream an archive in manual stream mode records, as OpenTok lists it. */
export interface ArchiveStreamJson {
  readonly streamId: string;
  readonly hasAudio: boolean;
  readonly hasVideo: boolean;
}

/** The archive object of server-api.md §6, in responses and in callbacks. */
export interface ArchiveJson {
  readonly id: string;
  readonly status: ArchiveStatus;
  readonly name: string | null;
  readonly reason: string;
  readonly sessionId: string;
  /** The API key as a number (an application's ID stays a string). */
  readonly projectId: number | string;
  readonly partnerId: number | string;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Seconds. */
  readonly duration: number;
  /** Bytes. */
  readonly size: number;
  readonly outputMode: ArchiveRecord['outputMode'];
  readonly hasAudio: boolean;
  readonly hasVideo: boolean;
  readonly streamMode: ArchiveRecord['streamMode'];
  readonly streams: readonly ArchiveStreamJson[];
  /** Only while available. */
  readonly url: string | null;
  readonly event: 'archive';
  readonly resolution?: string;
  readonly maxBitrate?: number;
  readonly quantizationParameter?: number;
}

/**
 * The archive as OpenTok shows it: integers for times, duration and size; `reason` never null;
 * `url` only when available; `resolution` only for composed archives; `streams` the streams a
 * manual archive records now.
 */
export function archiveJson(
  archive: ArchiveRecord,
  streams: readonly ArchiveStreamJson[],
  url: string | null,
): ArchiveJson {
  const projectId = /^[0-9]+$/.test(archive.apiKey) ? Number(archive.apiKey) : archive.apiKey;
  return {
    id: archive.archiveId,
    status: archive.status,
    name: archive.name,
    reason: archive.reason,
    sessionId: archive.sessionId,
    projectId,
    partnerId: projectId,
    createdAt: archive.createdAt,
    updatedAt: archive.updatedAt,
    duration: Math.round(archive.durationMs / 1000),
    size: archive.size,
    outputMode: archive.outputMode,
    hasAudio: archive.hasAudio,
    hasVideo: archive.hasVideo,
    streamMode: archive.streamMode,
    streams,
    url: archive.status === 'available' ? url : null,
    event: 'archive',
    ...(archive.resolution === null ? {} : { resolution: archive.resolution }),
    ...(archive.maxBitrate === null ? {} : { maxBitrate: archive.maxBitrate }),
    ...(archive.quantizationParameter === null
      ? {}
      : { quantizationParameter: archive.quantizationParameter }),
  };
}
