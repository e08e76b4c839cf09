import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';

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

/** The noise suppression AudioWorklet (RNNoise), built by `@parlor/client`. */
const workletName = 'noise-suppression-worklet.js';

/** The model's files change only with the package's version, which their ETag carries: a day, then revalidated. */
const modelCacheControl = 'public, max-age=86400';
/** The worklet changes with the SDK, and is cached as the SDK is: five minutes, then revalidated. */
const workletCacheControl = 'public, max-age=300';

/**
 * `GET /v2/js/filters/<file>`: served from Parlor's own origin beside the SDK, which loads them
 * when a publisher applies a background filter; nothing comes from a CDN. Read from disk per
 * request (the largest is 5.7 MB), answered 304 to a matching `If-None-Match`.
 */
export async function filterAssetRoutes(app: FastifyInstance): Promise<void> {
  const require = createRequire(import.meta.url);
  serveWorklet(app, require);
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
}

function serveWorklet(app: FastifyInstance, require: NodeJS.Require): void {
  let path: string;
  try {
    path = require.resolve(`@parlor/client/bundle/${workletName}`);
  } catch {
    app.log.warn(`the client SDK is not built (npm run build): /v2/js/filters/${workletName} is not served`);
    return;
  }
  const etag = `"${createHash('sha256').update(readFileSync(path)).digest('base64url').slice(0, 27)}"`;
  serveFile(app, workletName, path, 'text/javascript; charset=utf-8', {
    etag,
    cacheControl: workletCacheControl,
  });
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
