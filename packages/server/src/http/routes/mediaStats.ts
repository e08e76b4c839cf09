import type { FastifyInstance } from 'fastify';
import { liveRoomOf, type LiveSessionRouteOptions } from './liveSession.js';

/**
 * The Media Router's view of a live session (Parlor's own admin API, authenticated like the
 * rest): per published track the packets and bytes received, per subscription and track the
 * packets, bytes and retransmissions sent, the loss, jitter and round-trip time its receiver
 * reports tell, and its downlink estimate; whether its media worker sheds load. Empty while nobody is connected, and for relayed
 * sessions, whose media never reaches the server. For every live stream, relayed ones too,
 * whether it has video and when its publisher's audio fallback last turned it off or on.
 */
export async function mediaStatsRoutes(
  app: FastifyInstance,
  options: LiveSessionRouteOptions,
): Promise<void> {
  app.get('/session/:sessionId/media', async (request) => {
    const { sessionId } = request.params as { sessionId: string };
    const session = await options.sessions.get(request.apiKey, sessionId);
    const room = await liveRoomOf(options, request.apiKey, sessionId);
    const stats = await room?.mediaStats();
    const streams = (room?.streams ?? []).map(({ info, lastVideoQualityChange }) => ({
      streamId: info.streamId,
      hasVideo: info.hasVideo,
      lastVideoQualityChange,
    }));
    return {
      sessionId,
      mediaMode: session.mediaMode,
      streams,
      publications: [],
      subscriptions: [],
      ...stats,
    };
  });
}
