import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ParlorError } from '@parlor/protocol';
import type { ClientTokenVerifier } from '../../auth/ClientTokenVerifier.js';
import type { CredentialLookup } from '../../auth/projectLookup.js';
import type { InspectorService } from '../../inspector/InspectorService.js';
import { projectInPathAuth } from '../projectAuth.js';

export interface InspectorRouteOptions {
  readonly inspector: InspectorService;
  readonly lookup: CredentialLookup;
  readonly tokens: ClientTokenVerifier;
}

/** The header by which a moderator token of the session opens its Inspector data instead of the project's credentials. */
const tokenHeader = 'x-parlor-token';

/** The page's files, by path: file name under public/inspector and content type. */
const files: Readonly<Record<string, readonly [string, string]>> = {
  '/inspector': ['index.html', 'text/html; charset=utf-8'],
  '/inspector/inspector.js': ['inspector.js', 'text/javascript; charset=utf-8'],
  '/inspector/inspector.css': ['inspector.css', 'text/css; charset=utf-8'],
};

// The same from src/http/routes and dist/http/routes.
const publicDir = new URL('../../../public/inspector/', import.meta.url);

/**
 * The Inspector: the page at `/inspector` (`?sessionId=…` opens that session), and its data as
 * JSON under the project, authenticated as the rest of the REST API, or for one session's data
 * by a moderator token of that session in `X-Parlor-Token`:
 * `GET /v2/project/:apiKey/session/:sessionId/inspector`, the session's timeline, and
 * `GET /v2/project/:apiKey/inspector/sessions`, the project's sessions the Inspector has, the
 * most recently active first. Calls are answered from the store, on any node.
 */
export async function inspectorRoutes(app: FastifyInstance, options: InspectorRouteOptions): Promise<void> {
  for (const [path, [file, type]] of Object.entries(files)) {
    const body = readFileSync(new URL(file, publicDir));
    app.get(path, async (_request, reply) => reply.type(type).header('cache-control', 'no-cache').send(body));
  }
  const projectAuth = projectInPathAuth(options.lookup);
  app.get(
    '/v2/project/:apiKey/session/:sessionId/inspector',
    {
      onRequest: async (request) => {
        if (request.headers[tokenHeader] === undefined) return projectAuth(request);
        await tokenAuth(request, options.tokens);
      },
    },
    async (request) => {
      const { sessionId } = request.params as { sessionId: string };
      const timeline = await options.inspector.timeline(request.apiKey, sessionId);
      if (!timeline)
        throw new ParlorError('SESSION_NOT_FOUND', 'the Inspector has no records of this session');
      return timeline;
    },
  );
  app.get(
    '/v2/project/:apiKey/inspector/sessions',
    {
      onRequest: projectAuth,
      schema: {
        querystring: {
          type: 'object',
          properties: { count: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
        },
      },
    },
    async (request) => {
      const { count } = request.query as { count: number };
      const sessions = await options.inspector.recentSessions(request.apiKey, count);
      return { count: sessions.length, items: sessions };
    },
  );
}

/** A moderator token opens the data of its own session only. */
async function tokenAuth(request: FastifyRequest, tokens: ClientTokenVerifier): Promise<void> {
  const header = request.headers[tokenHeader];
  const token = Array.isArray(header) ? header[0] : header;
  const { apiKey, sessionId } = request.params as { apiKey: string; sessionId: string };
  const verified = await tokens.verify(token ?? '').catch(() => null);
  if (
    !verified ||
    verified.role !== 'moderator' ||
    verified.apiKey !== apiKey ||
    verified.sessionId !== sessionId ||
    verified.expiresAt * 1000 < Date.now()
  ) {
    throw new ParlorError('AUTH_FAILED', 'the token is not a valid moderator token of this session');
  }
  request.apiKey = apiKey;
}
