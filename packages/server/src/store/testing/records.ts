import type { Project } from '../ProjectRepository.js';
import type { SessionRecord } from '../SessionRepository.js';

/** A project for a test to write to the store: the default one, under `changes`. */
export function projectRecord(
  changes: Partial<Omit<Project, 'suspended'>> & Pick<Project, 'apiKey'>,
): Omit<Project, 'suspended'> {
  return { name: 'P', apiSecret: 's'.repeat(40), isDefault: true, createdAt: 1, ...changes };
}

/** A session for a test to write to the store: routed, archived on request, made through the API, under `changes`. */
export function sessionRecord(
  changes: Partial<SessionRecord> & Pick<SessionRecord, 'sessionId' | 'apiKey'>,
): SessionRecord {
  return {
    mediaMode: 'routed',
    archiveMode: 'manual',
    location: null,
    e2ee: false,
    archiveName: null,
    archiveResolution: null,
    origin: 'api',
    createdAt: 1,
    ...changes,
  };
}
