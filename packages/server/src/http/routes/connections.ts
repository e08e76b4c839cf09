import type { FastifyInstance } from 'fastify';
import { ParlorError } from '@parlor/protocol';
import { liveRoomOf, type LiveSessionRouteOptions } from './liveSession.js';

/** Connections of a live session (contracts/server-api.md §7): list them, or force one out. */
export async function connectionRoutes(
  app: FastifyInstance,
  options: LiveSessionRouteOptions,
): Promise<void> {
  // The shape the Java SDK's ConnectionList reads; it accepts no other top-level field.
  app.get('/session/:sessionId/connection', async (request) => {
    const { sessionId } = request.params as { sessionId: string };
    const connections = (await liveRoomOf(options, request.apiKey, sessionId))?.connections ?? [];
    return {
      count: connections.length,
      projectId: request.apiKey,
      sessionId,
      items: connections.map((connection) => ({
        connectionId: connection.id,
        connectionState: 'Connected',
        createdAt: connection.creationTime,
      })),
    };
  });

  app.delete('/session/:sessionId/connection/:connectionId', async (request, reply) => {
    const { sessionId, connectionId } = request.params as { sessionId: string; connectionId: string };
    const room = await liveRoomOf(options, request.apiKey, sessionId);
    if (!room) throw new ParlorError('CONNECTION_NOT_FOUND', connectionId);
    room.forceDisconnect(null, connectionId);
    return reply.code(204).send();
  });
}
