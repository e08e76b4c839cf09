// `npm run bench [-- NAME…]`: installs and builds, then runs the benchmarks in bench/.
import { build, ensureDependencies, run } from './setup.mjs';

ensureDependencies();
build();
run(process.execPath, [
  '--conditions=source',
  '--import',
  'tsx',
  'bench/src/main.ts',
  ...process.argv.slice(2),
]);
