// `npm run bench [-- NAME…]`: installs and builds, then runs the benchmarks in bench/.
import { build, ensureDebianPackages, ensureDependencies, run } from './setup.mjs';

const names = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
ensureDependencies();
// The router benchmark compares with Janus (and makes its clip with ffmpeg): installed when
// missing if we are root; otherwise it runs Parlor alone.
if ((names.length === 0 || names.includes('router')) && process.getuid?.() === 0) {
  ensureDebianPackages({ '/usr/bin/janus': 'janus', '/usr/bin/ffmpeg': 'ffmpeg' });
}
// The audio fallback, switch and cluster benchmarks drive Chromium (fallback's in a network namespace, as root).
if (
  (names.length === 0 || ['fallback', 'switch', 'cluster'].some((name) => names.includes(name))) &&
  process.getuid?.() === 0
) {
  ensureDebianPackages({ '/usr/bin/chromium': 'chromium' });
}
// The SIP benchmark's far end is sipp.
if ((names.length === 0 || names.includes('sip')) && process.getuid?.() === 0) {
  ensureDebianPackages({ '/usr/bin/sipp': 'sip-tester' });
}
// The cluster benchmark runs a throwaway Redis and PostgreSQL.
if ((names.length === 0 || names.includes('cluster')) && process.getuid?.() === 0) {
  ensureDebianPackages({ '/usr/bin/redis-server': 'redis-server', '/usr/bin/pg_ctlcluster': 'postgresql' });
}
build();
run(process.execPath, [
  '--conditions=source',
  '--import',
  'tsx',
  'bench/src/main.ts',
  ...process.argv.slice(2),
]);
