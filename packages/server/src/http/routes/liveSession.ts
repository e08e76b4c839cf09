import { ParlorError } from '@parlor/protocol';
import type { SessionService } from '../../sessions/SessionService.js';
import type { RoomRegistry } from '../../signaling/RoomRegistry.js';
import type { SessionRoom } from '../../signaling/SessionRoom.js';

/** What the routes that act on live sessions need. */
export interface LiveSessionRouteOptions {
  readonly sessions: SessionService;
  readonly rooms: RoomRegistry;
}

/**
 * The room of a session of this project: undefined while nobody is connected to it;
 * SESSION_NOT_FOUND when the project has no such session.
 */
export async function liveRoomOf(
  options: LiveSessionRouteOptions,
  apiKey: string,
  sessionId: string,
): Promise<SessionRoom | undefined> {
  await options.sessions.get(apiKey, sessionId);
  return options.rooms.get(sessionId);
}

/** The request's JSON body as an object (an empty body is `{}`); anything else is a 400. */
export function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new ParlorError('INVALID_REQUEST', 'the body must be a JSON object');
  }
  return body as Record<string, unknown>;
}
