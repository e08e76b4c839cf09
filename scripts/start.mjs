// `npm start`: installs dependencies when missing, builds, and runs `parlor start` with any
// extra arguments (`npm start -- --port 4000`).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, ensureDependencies, root } from './setup.mjs';

ensureDependencies();
build();
const { main } = await import(pathToFileURL(join(root, 'packages/server/dist/cli.js')).href);
process.exitCode = await main(['start', ...process.argv.slice(2)]);
