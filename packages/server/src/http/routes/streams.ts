import type { FastifyInstance } from 'fastify';
import type { SessionService } from '../../sessions/SessionService.js';

export interface StreamRouteOptions {
  readonly sessions: SessionService;
}

/** Stream listing under `/v2/project/:apiKey` (contracts/server-api.md §7). */
export async function streamRoutes(app: FastifyInstance, options: StreamRouteOptions): Promise<void> {
  app.get('/session/:sessionId/stream', async (request) => {
    const { sessionId } = request.params as { sessionId: string };
    options.sessions.get(request.apiKey, sessionId);
    // Live streams exist only while clients publish; signaling will supply them.
    return { count: 0, items: [] };
  });
}
