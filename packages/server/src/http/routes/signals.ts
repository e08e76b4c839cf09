import type { FastifyInstance } from 'fastify';
import { ParlorError, signalProblem } from '@parlor/protocol';
import { liveRoomOf, objectBody, type LiveSessionRouteOptions } from './liveSession.js';

/** Signals from the application server (contracts/server-api.md §7): `from` is null for clients. */
export async function signalRoutes(app: FastifyInstance, options: LiveSessionRouteOptions): Promise<void> {
  app.post('/session/:sessionId/signal', async (request, reply) => {
    const { sessionId } = request.params as { sessionId: string };
    const { type, data } = readSignal(request.body);
    (await liveRoomOf(options, request.apiKey, sessionId))?.signal(null, undefined, type, data);
    return reply.code(204).send();
  });

  app.post('/session/:sessionId/connection/:connectionId/signal', async (request, reply) => {
    const { sessionId, connectionId } = request.params as { sessionId: string; connectionId: string };
    const { type, data } = readSignal(request.body);
    const room = await liveRoomOf(options, request.apiKey, sessionId);
    if (!room) throw new ParlorError('CONNECTION_NOT_FOUND', connectionId);
    room.signal(null, connectionId, type, data);
    return reply.code(204).send();
  });
}

/** The signal of a request body: `type` and `data`, each "" when absent; 400 or 413 when invalid. */
function readSignal(body: unknown): { type: string; data: string } {
  const { type = '', data = '' } = objectBody(body);
  const problem = signalProblem(type, data);
  if (problem) throw new ParlorError(problem.id, problem.detail);
  return { type: type as string, data: data as string };
}
