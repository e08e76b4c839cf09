import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { imageModelMetadata, withModelMetadata } from './modelMetadata.js';

/**
 * The person-segmentation model of the SDK's background filters and the WebAssembly that runs
 * it, from the `@mediapipe/selfie_segmentation` package, with the content type each needs.
 */
const assets = {
  'selfie_segmentation.js': 'text/javascript; charset=utf-8',
  'selfie_segmentation.binarypb': 'application/octet-stream',
  'selfie_segmentation_landscape.tflite': 'application/octet-stream',
  'selfie_segmentation.tflite': 'application/octet-stream',
  'selfie_segmentation_solution_simd_wasm_bin.js': 'text/javascript; charset=utf-8',
  'selfie_segmentation_solution_simd_wasm_bin.wasm': 'application/wasm',
  'selfie_segmentation_solution_simd_wasm_bin.data': 'application/octet-stream',
  'selfie_segmentation_solution_wasm_bin.js': 'text/javascript; charset=utf-8',
  'selfie_segmentation_solution_wasm_bin.wasm': 'application/wasm',
} as const;

/**
 * What the segmentation worker runs (MediaPipe Tasks, `@mediapipe/tasks-vision`): its
 * WebAssembly as an ES module, which a module worker imports.
 */
const tasksAssets = {
  'vision_wasm_module_internal.js': 'text/javascript; charset=utf-8',
  'vision_wasm_module_internal.wasm': 'application/wasm',
} as const;

/**
 * The selfie model (landscape) as MediaPipe Tasks takes it: with the metadata it lacks, which
 * says that the input is an RGB image scaled to 0–1 (as the legacy solution fed it).
 */
const tasksModelName = 'selfie_segmentation_landscape_tasks.tflite';

/** The scripts built by `@parlor/client`: the noise suppression AudioWorklet (RNNoise) and the segmentation worker. */
const builtScripts = ['noise-suppression-worklet.js', 'segmentation-worker.js'] as const;

/** The model's files change only with the package's version, which their ETag carries: a day, then revalidated. */
const modelCacheControl = 'public, max-age=86400';
/** The built scripts change with the SDK, and are cached as the SDK is: five minutes, then revalidated. */
const scriptCacheControl = 'public, max-age=300';

/**
 * `GET /v2/js/filters/<file>`: served from Parlor's own origin beside the SDK, which loads them
 * when a publisher applies a background filter; nothing comes from a CDN. Read from disk per
 * request (the largest is 13 MB), but for the model with metadata added (250 KB, made once at
 * start), answered 304 to a matching `If-None-Match`.
 */
export async function filterAssetRoutes(app: FastifyInstance): Promise<void> {
  const require = createRequire(import.meta.url);
  for (const name of builtScripts) serveBuiltScript(app, require, name);
  serveTasks(app, require);
  let folder: string;
  let version: string;
  try {
    const manifest = require.resolve('@mediapipe/selfie_segmentation/package.json');
    folder = dirname(manifest);
    version = (require(manifest) as { version: string }).version;
  } catch {
    app.log.warn('@mediapipe/selfie_segmentation is not installed: background filters are not served');
    return;
  }
  for (const [name, type] of Object.entries(assets)) {
    const path = join(folder, name);
    serveFile(app, name, path, type, {
      etag: `"${version}-${statSync(path).size}"`,
      cacheControl: modelCacheControl,
    });
  }
  const model = withModelMetadata(
    readFileSync(join(folder, 'selfie_segmentation_landscape.tflite')),
    imageModelMetadata('selfie segmentation (landscape)', { mean: 0, std: 255 }),
  );
  const etag = `"${version}-tasks-${model.length}"`;
  app.get(`/v2/js/filters/${tasksModelName}`, async (request, reply) => {
    void reply.header('cache-control', modelCacheControl).header('etag', etag);
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('application/octet-stream').send(model);
  });
}

function serveTasks(app: FastifyInstance, require: NodeJS.Require): void {
  let folder: string;
  let version: string;
  try {
    // The package exports its WebAssembly files by name, not its manifest.
    folder = dirname(require.resolve('@mediapipe/tasks-vision/vision_wasm_module_internal.js'));
    const manifest = JSON.parse(readFileSync(join(folder, '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    version = manifest.version;
  } catch {
    app.log.warn('@mediapipe/tasks-vision is not installed: filters segment on the main thread');
    return;
  }
  for (const [name, type] of Object.entries(tasksAssets)) {
    const path = join(folder, name);
    serveFile(app, name, path, type, {
      etag: `"${version}-${statSync(path).size}"`,
      cacheControl: modelCacheControl,
    });
  }
}

function serveBuiltScript(app: FastifyInstance, require: NodeJS.Require, name: string): void {
  let path: string;
  try {
    path = require.resolve(`@parlor/client/bundle/${name}`);
  } catch {
    app.log.warn(`the client SDK is not built (npm run build): /v2/js/filters/${name} is not served`);
    return;
  }
  const etag = `"${createHash('sha256').update(readFileSync(path)).digest('base64url').slice(0, 27)}"`;
  serveFile(app, name, path, 'text/javascript; charset=utf-8', { etag, cacheControl: scriptCacheControl });
}

function serveFile(
  app: FastifyInstance,
  name: string,
  path: string,
  type: string,
  { etag, cacheControl }: { etag: string; cacheControl: string },
): void {
  app.get(`/v2/js/filters/${name}`, async (request, reply) => {
    void reply.header('cache-control', cacheControl).header('etag', etag);
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type(type).send(createReadStream(path));
  });
}
