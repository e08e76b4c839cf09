import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import formBody from '@fastify/formbody';
import type { CredentialLookup } from '../auth/projectLookup.js';
import type { SessionService } from '../sessions/SessionService.js';
import { handleError, handleNotFound } from './errorHandler.js';
import { projectInPathAuth } from './projectAuth.js';
import { healthRoutes } from './routes/health.js';
import { sessionCreateRoutes } from './routes/sessionCreate.js';
import { streamRoutes } from './routes/streams.js';

export interface HttpAppOptions {
  readonly logger: FastifyBaseLogger;
  readonly sessions: SessionService;
  readonly lookup: CredentialLookup;
}

/** Parlor's HTTP surface: the REST API of contracts/server-api.md and the health check. */
export async function buildHttpApp(options: HttpAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    // One log line per lifecycle transition, not per request.
    logController: new LogController({ disableRequestLogging: true }),
    // Session IDs go into paths raw; they are at most 255 characters.
    routerOptions: { maxParamLength: 512 },
  });

  app.decorateRequest('apiKey', '');
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
  await app.register(formBody);
  app.removeContentTypeParser('application/json');
  // Some SDKs POST `Content-Type: application/json` with no body at all: that means `{}`.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') {
      done(null, {});
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error('Body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });
  // Every JSON answer says exactly `application/json`: Python's SDK compares it to that string.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.getHeader('content-type') === 'application/json; charset=utf-8') {
      reply.header('content-type', 'application/json');
    }
    return payload;
  });

  await app.register(healthRoutes);
  await app.register(sessionCreateRoutes, { sessions: options.sessions, lookup: options.lookup });
  await app.register(
    async (project) => {
      project.addHook('onRequest', projectInPathAuth(options.lookup));
      await project.register(streamRoutes, { sessions: options.sessions });
    },
    { prefix: '/v2/project/:apiKey' },
  );
  return app;
}
