import type { FastifyInstance } from 'fastify';
import { ParlorError } from '@parlor/protocol';
import type { RoomStream } from '../../signaling/SessionRoom.js';
import { liveRoomOf, objectBody, type LiveSessionRouteOptions } from './liveSession.js';

/** Streams of a live session (contracts/server-api.md §7): list, get, set layout classes. */
export async function streamRoutes(app: FastifyInstance, options: LiveSessionRouteOptions): Promise<void> {
  app.get('/session/:sessionId/stream', async (request) => {
    const { sessionId } = request.params as { sessionId: string };
    const streams = (await liveRoomOf(options, request.apiKey, sessionId))?.streams ?? [];
    return { count: streams.length, items: streams.map(restStream) };
  });

  app.get('/session/:sessionId/stream/:streamId', async (request) => {
    const { sessionId, streamId } = request.params as { sessionId: string; streamId: string };
    const stream = (await liveRoomOf(options, request.apiKey, sessionId))?.stream(streamId);
    if (!stream) throw new ParlorError('STREAM_NOT_FOUND', streamId);
    return restStream(stream);
  });

  app.put('/session/:sessionId/stream', async (request, reply) => {
    const { sessionId } = request.params as { sessionId: string };
    const items = readClassLists(objectBody(request.body).items);
    const room = await liveRoomOf(options, request.apiKey, sessionId);
    if (!room && items.length > 0) {
      throw new ParlorError('INVALID_REQUEST', `no stream ${items[0]?.id ?? ''} in the session`);
    }
    room?.setLayoutClassLists(items);
    return reply.code(200).send();
  });
}

/** A stream as OpenTok's REST API shows it; a stream that names no video type is a camera. */
function restStream({ info, layoutClassList }: RoomStream): object {
  return { id: info.streamId, videoType: info.videoType ?? 'camera', name: info.name, layoutClassList };
}

function readClassLists(items: unknown): { id: string; layoutClassList: string[] }[] {
  const invalid = new ParlorError(
    'INVALID_REQUEST',
    'items must be a list of {id, layoutClassList: [strings]}',
  );
  if (!Array.isArray(items)) throw invalid;
  return items.map((item: unknown) => {
    if (typeof item !== 'object' || item === null) throw invalid;
    const { id, layoutClassList } = item as Record<string, unknown>;
    if (typeof id !== 'string' || !Array.isArray(layoutClassList)) throw invalid;
    if (!layoutClassList.every((name) => typeof name === 'string')) throw invalid;
    return { id, layoutClassList };
  });
}
