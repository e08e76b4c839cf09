// Bundles the browser SDK with esbuild: the classic script that defines the global `OT`
// (readable and minified) and the ES module, into dist/bundle/, which the server serves.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

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

await Promise.all([
  build({ ...common, entryPoints: [classic], format: 'iife', outfile: out('opentok.js') }),
  build({ ...common, entryPoints: [classic], format: 'iife', minify: true, outfile: out('opentok.min.js') }),
  build({
    ...common,
    entryPoints: [join(here, 'src', 'browser', 'esm.ts')],
    format: 'esm',
    minify: true,
    outfile: out('opentok.esm.js'),
  }),
]);
