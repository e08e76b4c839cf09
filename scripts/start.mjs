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
const { main } = await import(pathToFileURL(join(root, 'packages/server/dist/cli.js')).href);
process.exitCode = await main(['start', ...process.argv.slice(2)]);
