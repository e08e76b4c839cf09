import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** File of the embedded TURN server's generated secret, inside the data directory. */
export const turnSecretFileName = 'turn-secret';

/**
 * The embedded TURN server's shared secret: the one kept in the data directory, or a new one
 * written there (readable by its owner only), so that credentials outlive a restart.
 */
export function loadOrCreateTurnSecret(dataDir: string): string {
  const path = join(dataDir, turnSecretFileName);
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
