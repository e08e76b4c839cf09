import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * A secret kept in a file: the one already there, or a new random one written there (readable
 * by its owner only), so that what it signs outlives a restart.
 */
export function loadOrCreateSecret(path: string): string {
  try {
    const kept = readFileSync(path, 'utf8').trim();
    if (kept.length >= 16) return kept;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return secret;
}
