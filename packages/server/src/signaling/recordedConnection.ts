import { pino } from 'pino';
import type { EventFrame, ServerEvent, ServerToClient } from '@parlor/protocol';
import type { VerifiedToken } from '../auth/ClientTokenVerifier.js';
import { RoomConnection } from './RoomConnection.js';

/** A publisher's token to a session of its own, for tests of a room's parts. */
export const testPublisherToken: VerifiedToken = {
  format: 'jwt',
  apiKey: '12345678',
  sessionId: '1_session',
  role: 'publisher',
  connectionData: '',
  initialLayoutClassList: [],
  issuedAt: 0,
  expiresAt: 0,
};

/** A connection with no socket whose event frames are kept, parsed, for tests. */
export interface RecordedConnection {
  readonly connection: RoomConnection;
  readonly events: EventFrame[];
  /** The data of the events of one kind, and forgets every event. */
  take<E extends ServerEvent>(event: E): ServerToClient[E][];
}

export function recordedConnection(): RecordedConnection {
  const events: EventFrame[] = [];
  const { connection } = RoomConnection.create({
    token: testPublisherToken,
    sink: {
      deliver: (frame) =>
        events.push(
          JSON.parse(
            typeof frame === 'string' ? frame : `${frame.head}${frame.body.toString()}${frame.tail}`,
          ) as EventFrame,
        ),
      replaced: () => undefined,
    },
    tokenKey: 'token',
    reconnectGraceMs: 60_000,
    replayBufferSize: 100,
    replayBufferBytes: 1024 * 1024,
    fanOutBytesPerSecond: 1024 * 1024,
    logger: pino({ level: 'silent' }),
  });
  return {
    connection,
    events,
    take: <E extends ServerEvent>(event: E) => {
      const taken = events.filter((frame) => frame.event === event).map((frame) => frame.data);
      events.length = 0;
      return taken as ServerToClient[E][];
    },
  };
}
