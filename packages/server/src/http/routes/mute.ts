import type { FastifyInstance } from 'fastify';
import { ParlorError } from '@parlor/protocol';
import { liveRoomOf, objectBody, type LiveSessionRouteOptions } from './liveSession.js';

/** Force mute (contracts/server-api.md §7): one stream, or the whole session until disabled. */
export async function muteRoutes(app: FastifyInstance, options: LiveSessionRouteOptions): Promise<void> {
  app.post('/session/:sessionId/stream/:streamId/mute', async (request) => {
    const { sessionId, streamId } = request.params as { sessionId: string; streamId: string };
    const room = await liveRoomOf(options, request.apiKey, sessionId);
    if (!room) throw new ParlorError('STREAM_NOT_FOUND', streamId);
    room.forceMuteStream(null, streamId);
    return projectBody(request.apiKey);
  });

  app.post('/session/:sessionId/mute', async (request) => {
    const { sessionId } = request.params as { sessionId: string };
    const body = objectBody(request.body);
    const active = booleanOf(body.active);
    if (active === undefined) throw new ParlorError('INVALID_REQUEST', 'active must be true or false');
    // The Ruby SDK sends its `excluded_streams` option camel-cased, as `excludedStreams`.
    const excludedStreamIds = body.excludedStreamIds ?? body.excludedStreams ?? [];
    if (!Array.isArray(excludedStreamIds) || !excludedStreamIds.every((id) => typeof id === 'string')) {
      throw new ParlorError('INVALID_REQUEST', 'excludedStreamIds must be a list of stream IDs');
    }
    const room = await liveRoomOf(options, request.apiKey, sessionId);
    if (active) room?.forceMuteAll(null, excludedStreamIds);
    else room?.disableForceMute(null);
    return projectBody(request.apiKey);
  });
}

/** A JSON boolean, or the string the Ruby SDK sends in its place ("true", "false"). */
function booleanOf(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  return undefined;
}

/** The answer OpenTok documents for mute calls: the project. Every SDK ignores it. */
function projectBody(apiKey: string): object {
  return { id: apiKey, status: 'ACTIVE', environment: 'standard' };
}
