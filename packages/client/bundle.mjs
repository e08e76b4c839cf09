// Bundles the browser SDK with esbuild: the classic script that defines the global `OT`
// (readable and minified) and the ES module, into dist/bundle/, which the server serves.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { version } = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));

/**
 * The SDK uses the protocol package's constants and types, not its schemas: declared free of
 * side effects, its schema modules (and TypeBox with them) are left out of the bundle.
 */
const protocolWithoutSchemas = {
  name: 'protocol-without-schemas',
  setup(build) {
    build.onResolve({ filter: /./ }, async (args) => {
      const inProtocol =
        args.path === '@parlor/protocol' || args.importer.includes('/packages/protocol/src/');
      if (args.pluginData === protocolWithoutSchemas || !inProtocol) return undefined;
      const { path, errors } = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: protocolWithoutSchemas,
      });
      return { path, errors, sideEffects: false };
    });
  },
};
const common = {
  bundle: true,
  platform: 'browser',
  target: ['chrome105', 'firefox110', 'safari16'],
  // The protocol package's TypeScript source: the bundle does not wait for its compiled output.
  conditions: ['source'],
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [protocolWithoutSchemas],
};
const out = (name) => join(here, 'dist', 'bundle', name);
const classic = join(here, 'src', 'browser', 'iife.ts');

// The end-to-end encryption worker, carried in each bundle as text and started from a Blob URL:
// the SDK stays one script served from Parlor's origin.
const frameWorker = await build({
  ...common,
  entryPoints: [join(here, 'src', 'core', 'e2ee', 'frameWorker.ts')],
  format: 'iife',
  minify: true,
  write: false,
});
const withWorker = {
  ...common,
  define: {
    __PARLOR_FRAME_WORKER__: JSON.stringify(frameWorker.outputFiles[0].text),
    __PARLOR_SDK_VERSION__: JSON.stringify(version),
  },
};

await Promise.all([
  // The noise suppression AudioWorklet with RNNoise compiled in (about 2 MB), served beside the
  // SDK and loaded only by publishers that apply the filter.
  build({
    ...common,
    entryPoints: [join(here, 'src', 'core', 'filters', 'noiseSuppressionWorklet.ts')],
    format: 'esm',
    minify: true,
    outfile: out('noise-suppression-worklet.js'),
  }),
  // The background filters' segmentation worker with MediaPipe Tasks bundled in, served beside
  // the SDK and started (as a module worker) only by publishers that apply a filter.
  build({
    ...common,
    entryPoints: [join(here, 'src', 'core', 'filters', 'segmentationWorker.ts')],
    format: 'esm',
    minify: true,
    outfile: out('segmentation-worker.js'),
  }),
  build({ ...withWorker, entryPoints: [classic], format: 'iife', outfile: out('opentok.js') }),
  build({
    ...withWorker,
    entryPoints: [classic],
    format: 'iife',
    minify: true,
    outfile: out('opentok.min.js'),
  }),
  build({
    ...withWorker,
    entryPoints: [join(here, 'src', 'browser', 'esm.ts')],
    format: 'esm',
    minify: true,
    outfile: out('opentok.esm.js'),
  }),
]);
