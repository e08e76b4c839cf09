import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

/** A node's ID kept in a file: the one already there, or a new one written there, so that it outlives a restart. */
export function loadOrCreateNodeId(path: string): string {
  try {
    const kept = readFileSync(path, 'utf8').trim();
    if (/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(kept)) return kept;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const nodeId = `node-${randomBytes(6).toString('hex')}`;
  writeFileSync(path, `${nodeId}\n`);
  return nodeId;
}
