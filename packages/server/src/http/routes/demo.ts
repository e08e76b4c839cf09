import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { OpenTok } from '@parlor/server-sdk';
import type { SessionSettings } from '@parlor/protocol';
import type { SessionService } from '../../sessions/SessionService.js';

export interface DemoRouteOptions {
  readonly sessions: SessionService;
  /** The project whose sessions and tokens the demo uses (the default project). */
  readonly project: { readonly apiKey: string; readonly apiSecret: string };
}

/** The demo's static files, by path: file name under public/demo and content type. */
const files: Readonly<Record<string, readonly [string, string]>> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/demo/demo.js': ['demo.js', 'text/javascript; charset=utf-8'],
  '/demo/demo.css': ['demo.css', 'text/css; charset=utf-8'],
};

// The same from src/http/routes and dist/http/routes.
const publicDir = new URL('../../../public/demo/', import.meta.url);

const demoSession: SessionSettings = {
  mediaMode: 'relayed',
  archiveMode: 'manual',
  location: null,
  e2ee: false,
  archiveName: null,
  archiveResolution: null,
};

/**
 * The demo at `/`: a video chat page like OpenTok's basic sample, and
 * `GET /demo/credentials?session=ID`, which reuses that relayed session of the default project
 * (or creates one) and mints a publisher token for it, signed as the official SDKs sign them.
 */
export async function demoRoutes(app: FastifyInstance, options: DemoRouteOptions): Promise<void> {
  const { apiKey, apiSecret } = options.project;
  const opentok = new OpenTok(apiKey, apiSecret);
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
          properties: { session: { type: 'string', maxLength: 255 } },
        },
      },
    },
    async (request, reply) => {
      const { session } = request.query as { session?: string };
      const sessionId =
        reusableSession(options.sessions, apiKey, session) ??
        options.sessions.create(apiKey, demoSession).sessionId;
      const token = opentok.generateToken(sessionId, { role: 'publisher' });
      return reply.header('cache-control', 'no-store').send({ apiKey, sessionId, token });
    },
  );
}

/** The session, when it is a relayed session of the demo's project; otherwise undefined. */
function reusableSession(
  sessions: SessionService,
  apiKey: string,
  sessionId: string | undefined,
): string | undefined {
  if (sessionId === undefined || sessionId === '') return undefined;
  try {
    return sessions.get(apiKey, sessionId).mediaMode === 'relayed' ? sessionId : undefined;
  } catch {
    return undefined;
  }
}
