import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ParlorError } from '@parlor/protocol';
import type { ClientTokenVerifier } from '../../auth/ClientTokenVerifier.js';
import type { CredentialLookup } from '../../auth/projectLookup.js';
import { runInsightsQuery } from '../../inspector/insights.js';
import type { InspectorService } from '../../inspector/InspectorService.js';
import type { TimelineView } from '../../inspector/timeline.js';
import { TokenBucket } from '../../signaling/TokenBucket.js';
import { authenticateProject, projectInPathAuth } from '../projectAuth.js';

export interface InspectorRouteOptions {
  readonly inspector: InspectorService;
  readonly lookup: CredentialLookup;
  readonly tokens: ClientTokenVerifier;
}

/** The header by which a moderator token of the session opens its Inspector data instead of the project's credentials. */
const tokenHeader = 'x-parlor-token';

/**
 * How long past its expiry a token may still report its failed connect, in seconds: a connect
 * refused for an expired token is reported at once; a token leaked later reports nothing.
 */
const failureTokenGraceSeconds = 300;
/** Sessions whose failed-connect buckets are kept; past it the oldest bucket goes. */
const maxFailureBuckets = 10_000;

/** The page's files, by path: file name under public/inspector and content type. */
const files: Readonly<Record<string, readonly [string, string]>> = {
  '/inspector': ['index.html', 'text/html; charset=utf-8'],
  '/inspector/inspector.js': ['inspector.js', 'text/javascript; charset=utf-8'],
  '/inspector/inspector.css': ['inspector.css', 'text/css; charset=utf-8'],
};

// The same from src/http/routes and dist/http/routes.
const publicDir = new URL('../../../public/inspector/', import.meta.url);

/**
 * The query of a session's timeline, here and in the console's API: `?samples=N` asks for about
 * N samples and N score changes at most, each series thinned alike.
 */
export const timelineQuery = {
  schema: {
    type: 'object',
    properties: { samples: { type: 'integer', minimum: 1, maximum: 1_000_000 } },
  },
  /** The view a validated query asks for. */
  view(query: unknown): TimelineView {
    const { samples } = query as { samples?: number };
    return samples === undefined ? {} : { samples };
  },
} as const;

/** The charting library the page draws its graphs with (uPlot), served from its package. */
const chartFiles: Readonly<Record<string, readonly [string, string]>> = {
  '/inspector/uPlot.esm.js': ['uplot/dist/uPlot.esm.js', 'text/javascript; charset=utf-8'],
  '/inspector/uPlot.min.css': ['uplot/dist/uPlot.min.css', 'text/css; charset=utf-8'],
};

/**
 * The Inspector: the page at `/inspector` (`?sessionId=…` opens that session), and its data as
 * JSON under the project, authenticated as the rest of the REST API, or for one session's data
 * by a moderator token of that session in `X-Parlor-Token`:
 * `GET /v2/project/:apiKey/session/:sessionId/inspector`, the session's timeline (`?samples=N`:
 * about N samples and N score changes at most, each series thinned alike), and
 * `GET /v2/project/:apiKey/inspector/sessions`, the project's sessions the Inspector has, the
 * most recently active first; `POST /v2/project/:apiKey/session/:sessionId/inspector/connect-failure`,
 * where a client whose connect failed (so without signaling) tells of it, authenticated by its
 * token of that session (expired 5 minutes at most), 1 a second per session in bursts of 10; and
 * `POST /graphql`, the session-data path of Vonage's Insights API
 * (authenticated by the project's JWT, 5 queries a second per project in bursts of 10, a body of
 * 16 KiB at most). Calls are answered from the store, on any node.
 */
export async function inspectorRoutes(app: FastifyInstance, options: InspectorRouteOptions): Promise<void> {
  const resolve = createRequire(import.meta.url).resolve;
  const pageFiles = [
    ...Object.entries(files).map(([path, [file, type]]) => [path, new URL(file, publicDir), type] as const),
    ...Object.entries(chartFiles).map(([path, [file, type]]) => [path, resolve(file), type] as const),
  ];
  for (const [path, file, type] of pageFiles) {
    const body = readFileSync(file);
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
      schema: { querystring: timelineQuery.schema },
    },
    async (request) => {
      const { sessionId } = request.params as { sessionId: string };
      const timeline = await options.inspector.timeline(
        request.apiKey,
        sessionId,
        timelineQuery.view(request.query),
      );
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
  const failureBuckets = new Map<string, TokenBucket>();
  app.post(
    '/v2/project/:apiKey/session/:sessionId/inspector/connect-failure',
    {
      bodyLimit: 4096,
      schema: {
        body: {
          type: 'object',
          required: ['token', 'code', 'message'],
          properties: {
            token: { type: 'string', maxLength: 2048 },
            code: { type: 'integer', minimum: 0, maximum: 99_999 },
            message: { type: 'string', maxLength: 256 },
            ms: { type: 'integer', minimum: 0, maximum: 600_000 },
            ageMs: { type: 'integer', minimum: 0, maximum: 600_000, default: 0 },
            browser: { type: 'string', maxLength: 64 },
            os: { type: 'string', maxLength: 64 },
            sdkVersion: { type: 'string', maxLength: 32 },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const { apiKey, sessionId } = request.params as { apiKey: string; sessionId: string };
      const { token, ageMs, ...data } = request.body as {
        token: string;
        ageMs: number;
        code: number;
        message: string;
      };
      const verified = await options.tokens
        .verify(token, { expiredGraceSeconds: failureTokenGraceSeconds })
        .catch(() => null);
      if (!verified || verified.apiKey !== apiKey || verified.sessionId !== sessionId)
        throw new ParlorError('AUTH_FAILED', 'the token is not a token of this session');
      let bucket = failureBuckets.get(sessionId);
      if (!bucket) {
        if (failureBuckets.size >= maxFailureBuckets)
          failureBuckets.delete(failureBuckets.keys().next().value ?? '');
        bucket = new TokenBucket({ ratePerSecond: 1, capacity: 10 });
        failureBuckets.set(sessionId, bucket);
      }
      if (!bucket.take()) throw new ParlorError('RATE_LIMITED');
      options.inspector.add(sessionId, apiKey, [
        {
          at: Date.now() - ageMs,
          source: 'client',
          kind: 'event',
          type: 'connect',
          connectionId: null,
          streamId: null,
          data: { ...data, ok: false },
        },
      ]);
      return reply.code(204).send();
    },
  );
  // One bucket per authenticated project: as many as the projects, no more.
  const buckets = new Map<string, TokenBucket>();
  app.post(
    '/graphql',
    {
      bodyLimit: 16 * 1024,
      schema: {
        body: {
          type: 'object',
          required: ['query'],
          properties: {
            query: { type: 'string' },
            variables: { type: ['object', 'null'] },
            operationName: { type: ['string', 'null'] },
          },
        },
      },
    },
    async (request) => {
      const apiKey = await authenticateProject(request, options.lookup);
      let bucket = buckets.get(apiKey);
      if (!bucket) {
        bucket = new TokenBucket({ ratePerSecond: 5, capacity: 10 });
        buckets.set(apiKey, bucket);
      }
      if (!bucket.take()) throw new ParlorError('RATE_LIMITED');
      const body = request.body as {
        query: string;
        variables?: Record<string, unknown> | null;
        operationName?: string | null;
      };
      return runInsightsQuery(body, {
        apiKey,
        timeline: (sessionId, view) => options.inspector.timeline(apiKey, sessionId, view),
      });
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
