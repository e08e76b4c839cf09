// `npm test`: installs what the tests need, builds, type-checks, lints, checks formatting and
// runs every test with node's test runner. Extra arguments are test files or folders to run
// instead of all (`npm test -- packages/server/src/auth`).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build, ensureDebianPackages, ensureDependencies, root, run } from './setup.mjs';

const testFilePattern = /\.test\.ts$/;
const searched = ['packages', 'bench', 'e2e'];

function findTests(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return [];
  if (stat.isFile()) return testFilePattern.test(path) ? [path] : [];
  return readdirSync(path)
    .filter((name) => name !== 'node_modules' && name !== 'dist')
    .flatMap((name) => findTests(join(path, name)));
}

const selected = process.argv.slice(2);
const files = (selected.length > 0 ? selected.map((p) => join(root, p)) : searched.map((p) => join(root, p)))
  .flatMap(findTests)
  .map((file) => relative(root, file))
  .sort();
if (files.length === 0) {
  console.error('No test files found.');
  process.exit(1);
}

ensureDependencies();
// Browser tests drive Debian's Chromium with playwright-core; TURN tests run coturn (TLS with a
// certificate made by openssl), and put browsers in network namespaces (ip) whose traffic
// between them is dropped (nft); archives are composed and checked with ffmpeg and ffprobe, and
// individual archives are unpacked with unzip; cluster tests run a throwaway redis-server, the
// store's tests a throwaway PostgreSQL cluster with the server of Debian's postgresql (beside its
// pg_ctlcluster); SIP calls are made to baresip and sipp.
ensureDebianPackages({
  '/usr/bin/ffmpeg': 'ffmpeg',
  '/usr/bin/unzip': 'unzip',
  '/usr/bin/chromium': 'chromium',
  '/usr/bin/turnserver': 'coturn',
  '/usr/bin/openssl': 'openssl',
  '/usr/sbin/ip': 'iproute2',
  '/usr/sbin/nft': 'nftables',
  '/usr/bin/redis-server': 'redis-server',
  '/usr/bin/pg_ctlcluster': 'postgresql',
  '/usr/bin/baresip': 'baresip',
  '/usr/bin/sipp': 'sip-tester',
});
build();
if (selected.length === 0) {
  run('npm', ['run', '--silent', 'typecheck']);
  run('npm', ['run', '--silent', 'lint']);
  run('npm', ['run', '--silent', 'format:check']);
}
// A test file whose failed test left a socket or timer open ends once its tests have, rather than
// holding the run forever.
run(process.execPath, [
  '--conditions=source',
  '--import',
  'tsx',
  '--test',
  '--test-force-exit',
  '--test-reporter=spec',
  ...files,
]);
