import { join } from 'node:path';
import { loadOrCreateSecret } from '../secretFile.js';

/** File of the embedded TURN server's generated secret, inside the data directory. */
export const turnSecretFileName = 'turn-secret';

/** The embedded TURN server's shared secret, kept in the data directory across restarts. */
export function loadOrCreateTurnSecret(dataDir: string): string {
  return loadOrCreateSecret(join(dataDir, turnSecretFileName));
}
