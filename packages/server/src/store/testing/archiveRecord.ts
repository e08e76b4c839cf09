import { randomUUID } from 'node:crypto';
import type { ArchiveRecord } from '../ArchiveRepository.js';

/**
 * An archive record for a test to write to the store: an available composed archive of a
 * minute, made on this node, with no file, under `changes`.
 */
export function archiveRecord(
  changes: Partial<ArchiveRecord> & Pick<ArchiveRecord, 'apiKey' | 'sessionId'>,
): ArchiveRecord {
  const now = Date.now();
  return {
    archiveId: randomUUID(),
    name: null,
    status: 'available',
    reason: 'user initiated',
    outputMode: 'composed',
    hasAudio: true,
    hasVideo: true,
    resolution: '640x480',
    streamMode: 'auto',
    multiArchiveTag: null,
    layouts: [{ atMs: 0, layout: { type: 'bestFit' } }],
    maxBitrate: null,
    quantizationParameter: null,
    createdAt: now,
    updatedAt: now,
    durationMs: 60_000,
    size: 0,
    outputKey: null,
    nodeId: null,
    ...changes,
  };
}
