import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';

/** The browser SDK's files, served under `/v2/js/` where OpenTok serves its own. */
const bundleNames = ['opentok.js', 'opentok.min.js', 'opentok.esm.js'] as const;

/**
 * The URL is not versioned: browsers keep a copy for five minutes, then revalidate it by ETag
 * (a 304 while the server runs the same SDK).
 */
const cacheControl = 'public, max-age=300';

interface Bundle {
  readonly body: Buffer;
  readonly etag: string;
}

/**
 * `GET /v2/js/opentok.js` (and `.min.js`, `.esm.js`): the SDK built by `@parlor/client`. A page
 * of any origin loads it with a script tag and connects to the server it came from.
 */
export async function clientSdkRoutes(app: FastifyInstance): Promise<void> {
  const require = createRequire(import.meta.url);
  for (const name of bundleNames) {
    let bundle: Bundle;
    try {
      const body = readFileSync(require.resolve(`@parlor/client/bundle/${name}`));
      bundle = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    } catch {
      app.log.warn(`the client SDK is not built (npm run build): /v2/js/${name} is not served`);
      continue;
    }
    app.get(`/v2/js/${name}`, async (request, reply) => {
      void reply.header('cache-control', cacheControl).header('etag', bundle.etag);
      if (request.headers['if-none-match'] === bundle.etag) return reply.code(304).send();
      return reply.type('text/javascript; charset=utf-8').send(bundle.body);
    });
  }
}
