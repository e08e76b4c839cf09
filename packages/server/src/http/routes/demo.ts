import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { mediaModes, ParlorError, type MediaMode } from '@parlor/protocol';
import type { DemoService } from '../../demo/DemoService.js';

export interface DemoRouteOptions {
  readonly demo: DemoService;
}

/** The demo's static files, by path: file name under public/demo and content type. */
const files: Readonly<Record<string, readonly [string, string]>> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/demo/demo.js': ['demo.js', 'text/javascript; charset=utf-8'],
  '/demo/demo.css': ['demo.css', 'text/css; charset=utf-8'],
  '/network-test': ['network-test.html', 'text/html; charset=utf-8'],
  '/demo/network-test.js': ['network-test.js', 'text/javascript; charset=utf-8'],
};

// The same from src/http/routes and dist/http/routes.
const publicDir = new URL('../../../public/demo/', import.meta.url);

/**
 * The demo at `/` (served only with `--demo`): a video chat page like OpenTok's basic sample,
 * a "test your network" page at `/network-test` (OpenTok's pre-call network test), and
 * `GET /demo/credentials?session=ID`, a publisher token for that demo session, or for a new
 * one when the demo did not create it (routed with `mediaMode=routed`, else relayed); 429 with `Retry-After` past the demo's rate limits,
 * counted by the socket's address (a proxy's headers are not trusted here).
 */
export async function demoRoutes(app: FastifyInstance, options: DemoRouteOptions): Promise<void> {
  for (const [path, [file, type]] of Object.entries(files)) {
    const body = readFileSync(new URL(file, publicDir));
    app.get(path, async (_request, reply) => reply.type(type).header('cache-control', 'no-cache').send(body));
  }
  app.get(
    '/demo/credentials',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            session: { type: 'string', maxLength: 255 },
            mediaMode: { type: 'string', enum: mediaModes },
          },
        },
      },
    },
    async (request, reply) => {
      const { session, mediaMode } = request.query as { session?: string; mediaMode?: MediaMode };
      const answer = await options.demo.credentials(request.socket.remoteAddress ?? '', session, mediaMode);
      reply.header('cache-control', 'no-store');
      if ('retryAfterSeconds' in answer) {
        reply.header('retry-after', String(answer.retryAfterSeconds));
        throw new ParlorError('RATE_LIMITED', answer.detail);
      }
      return reply.send(answer);
    },
  );
}
