import { createReadStream, statSync } from 'node:fs';
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

/** The files change only with the package's version, which their ETag carries: a day, then revalidated. */
const cacheControl = 'public, max-age=86400';

/**
 * `GET /v2/js/filters/<file>`: served from Parlor's own origin beside the SDK, which loads them
 * when a publisher applies a background filter; nothing comes from a CDN. Read from disk per
 * request (the largest is 5.7 MB), answered 304 to a matching `If-None-Match`.
 */
export async function filterAssetRoutes(app: FastifyInstance): Promise<void> {
  const require = createRequire(import.meta.url);
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
    const etag = `"${version}-${statSync(path).size}"`;
    app.get(`/v2/js/filters/${name}`, async (request, reply) => {
      void reply.header('cache-control', cacheControl).header('etag', etag);
      if (request.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.type(type).send(createReadStream(path));
    });
  }
}
