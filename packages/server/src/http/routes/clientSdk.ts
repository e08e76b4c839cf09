import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';

/**
 * The browser scripts served under `/v2/js/`, where OpenTok serves its own, by name: the module
 * file they come from, and the license text they must carry, if any. `network-test.js` is
 * OpenTok's pre-call network test (`opentok-network-test-js`, MIT), global
 * `OpenTokNetworkConnectivity`, for pages that should need no CDN (docs/network-test.md).
 */
const bundles: Readonly<Record<string, { readonly file: string; readonly license?: string }>> = {
  'opentok.js': { file: '@parlor/client/bundle/opentok.js' },
  'opentok.min.js': { file: '@parlor/client/bundle/opentok.min.js' },
  'opentok.esm.js': { file: '@parlor/client/bundle/opentok.esm.js' },
  'network-test.js': {
    file: 'opentok-network-test-js/dist/NetworkTest/index.js',
    license: 'opentok-network-test-js/LICENSE',
  },
};

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
 * of any origin loads it with a script tag and connects to the server it came from. Also
 * `GET /v2/js/network-test.js`, the pre-call network test, with its license on top.
 */
export async function clientSdkRoutes(app: FastifyInstance): Promise<void> {
  const require = createRequire(import.meta.url);
  for (const [name, { file, license }] of Object.entries(bundles)) {
    let bundle: Bundle;
    try {
      const code = readFileSync(require.resolve(file));
      const notice =
        license === undefined ? '' : `/*!\n${readFileSync(require.resolve(license), 'utf8')}*/\n`;
      const body = Buffer.concat([Buffer.from(notice), code]);
      bundle = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    } catch {
      app.log.warn(`${file} is missing (npm run build): /v2/js/${name} is not served`);
      continue;
    }
    app.get(`/v2/js/${name}`, async (request, reply) => {
      void reply.header('cache-control', cacheControl).header('etag', bundle.etag);
      if (request.headers['if-none-match'] === bundle.etag) return reply.code(304).send();
      return reply.type('text/javascript; charset=utf-8').send(bundle.body);
    });
  }
}
