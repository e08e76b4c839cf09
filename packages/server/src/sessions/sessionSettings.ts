import { isIPv4 } from 'node:net';
import {
  ParlorError,
  archiveModes,
  archiveResolutions,
  maxArchiveNameLength,
  type ArchiveMode,
  type ArchiveResolution,
  type SessionSettings,
} from '@parlor/protocol';

/**
 * Reads session settings from a `POST /session/create` body (form fields, all strings) as
 * contracts/server-api.md §3 describes, refusing contradictions the way OpenTok does.
 */
export function parseSessionSettings(body: Readonly<Record<string, unknown>>): SessionSettings {
  const field = (name: string): string | undefined => {
    const value = body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    if (typeof value === 'boolean' || typeof value === 'number') return String(value);
    throw invalid(`${name} must be a string`);
  };

  const preference = field('p2p.preference');
  if (preference !== undefined && preference !== 'enabled' && preference !== 'disabled') {
    throw invalid('p2p.preference must be "enabled" or "disabled"');
  }
  // OpenTok's REST reference gives routed ("disabled") as the default; every SDK sends the field.
  const mediaMode = preference === 'enabled' ? 'relayed' : 'routed';

  const archiveMode = field('archiveMode') ?? 'manual';
  if (!(archiveModes as readonly string[]).includes(archiveMode)) {
    throw invalid('archiveMode must be "manual" or "always"');
  }
  if (archiveMode === 'always' && mediaMode === 'relayed') {
    throw invalid('a session with archiveMode "always" must use the routed media mode');
  }

  // @vonage/video sends the literal "null", the .NET SDK an empty string: both mean none.
  const rawLocation = field('location');
  const location =
    rawLocation === undefined || rawLocation === '' || rawLocation === 'null' ? null : rawLocation;
  if (location !== null && !isIPv4(location)) throw invalid('location must be an IPv4 address');

  const rawE2ee = field('e2ee');
  if (rawE2ee !== undefined && rawE2ee !== 'true' && rawE2ee !== 'false') {
    throw invalid('e2ee must be "true" or "false"');
  }
  const e2ee = rawE2ee === 'true';
  if (e2ee && mediaMode === 'relayed') throw invalid('end-to-end encryption requires the routed media mode');
  if (e2ee && archiveMode === 'always') throw invalid('end-to-end encrypted sessions cannot be archived');

  const archiveName = field('archiveName') ?? null;
  if (archiveName !== null && (archiveName.length === 0 || archiveName.length > maxArchiveNameLength)) {
    throw invalid(`archiveName must be 1 to ${maxArchiveNameLength} characters`);
  }
  const archiveResolution = field('archiveResolution') ?? null;
  if (archiveResolution !== null && !(archiveResolutions as readonly string[]).includes(archiveResolution)) {
    throw invalid(`archiveResolution must be one of ${archiveResolutions.join(', ')}`);
  }

  return {
    mediaMode,
    archiveMode: archiveMode as ArchiveMode,
    location,
    e2ee,
    archiveName,
    archiveResolution: archiveResolution as ArchiveResolution | null,
  };
}

function invalid(detail: string): ParlorError {
  return new ParlorError('INVALID_REQUEST', detail);
}
