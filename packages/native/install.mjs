// `npm ci` runs this to build the addon with node-gyp and the machine's compiler. It never fails
// the install: without a compiler (or with any other build error) it warns, and Parlor runs its
// TypeScript data plane, naming the reason at start (see the server's `media/native`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const failure = join(here, 'build', 'failure.txt');

// Node's own headers, OpenSSL's among them, when this Node was installed with them (official
// builds, Debian's nodejs), so that node-gyp downloads nothing.
const prefix = dirname(dirname(process.execPath));
const nodedir = existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
// npm gives install scripts the node-gyp it bundles; outside npm, the one on the PATH.
const nodeGyp = process.env.npm_config_node_gyp;
const [command, args] = nodeGyp ? [process.execPath, [nodeGyp]] : ['node-gyp', []];

rmSync(failure, { force: true });
const result = spawnSync(command, [...args, 'rebuild', ...nodedir], {
  cwd: here,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'pipe'],
});
if (result.status !== 0) {
  const lines = `${result.error?.message ?? ''}\n${result.stderr ?? ''}`
    .split('\n')
    .map((line) => line.trim());
  // A missing compiler or tool says so in a line of its own; else the first error line.
  const cause =
    lines.find((line) => /no such file|not found|ENOENT/i.test(line)) ??
    lines.find((line) => /error/i.test(line)) ??
    `node-gyp exited with ${result.status}`;
  mkdirSync(dirname(failure), { recursive: true });
  writeFileSync(failure, `${cause}\n`);
  console.warn(
    `@parlor/native: the addon did not build (${cause}); Parlor will use its TypeScript data plane.`,
  );
}
