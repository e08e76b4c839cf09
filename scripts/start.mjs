// `npm start`: installs dependencies when missing, builds, and runs `parlor start` with any
// extra arguments (`npm start -- --port 4000`).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, ensureDebianPackages, ensureDependencies, root } from './setup.mjs';

ensureDependencies();
// The embedded TURN server is coturn; without it (not root, or not Debian) TURN is off by default.
if (process.getuid?.() === 0 && !['off', 'external'].includes(process.env.PARLOR_TURN ?? '')) {
  ensureDebianPackages({ '/usr/bin/turnserver': 'coturn' });
}
build();
// The embedded one-machine start serves the demo unless told otherwise (PARLOR_DEMO=false); a
// cluster node (a database or Redis URL) does not.
const args = process.argv.slice(2);
const clusterFlags = ['--database-url', '--redis-url'];
const embedded =
  !args.some((arg) => clusterFlags.some((flag) => arg === flag || arg.startsWith(`${flag}=`))) &&
  process.env.PARLOR_DATABASE_URL === undefined &&
  process.env.PARLOR_REDIS_URL === undefined;
const demo = embedded && process.env.PARLOR_DEMO === undefined && !args.includes('--demo') ? ['--demo'] : [];
const { main } = await import(pathToFileURL(join(root, 'packages/server/dist/cli.js')).href);
process.exitCode = await main(['start', ...demo, ...args]);
