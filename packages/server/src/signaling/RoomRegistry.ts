import type { Logger } from 'pino';
import type { VerifiedToken } from '../auth/ClientTokenVerifier.js';
import type { AdaptiveRoutingOptions } from './AdaptiveMedia.js';
import type { RemoteRouter } from '../media/worker/RemoteRouter.js';
import type { SessionRecord } from '../store/SessionRepository.js';
import { TypedEmitter } from '../TypedEmitter.js';
import type { ConnectionLimits, ConnectionSink, RoomConnection } from './RoomConnection.js';
import { SessionRoom } from './SessionRoom.js';

export interface RoomRegistryOptions {
  /** How long a client whose socket dropped may take to resume, in ms. Default: 20000. */
  readonly reconnectGraceMs?: number;
  /**
   * What each connection keeps and may cost. Defaults: the latest 512 events and at most 1 MiB of
   * them for a resuming client (as much as a socket may have unsent, so that a client dropped for
   * being slow can still resume); 4 MiB/s of fan-out (an 8 kB signal to 500 members is 4 MiB: one
   * a second; a 100-byte one, about 17 a second).
   */
  readonly connectionLimits?: Partial<ConnectionLimits>;
  /** Connections one token may have in its session at once, those waiting to resume included (apps often hand one token to everyone). Default: 100. */
  readonly maxConnectionsPerToken?: number;
  readonly logger: Logger;
  /** Makes the Media Router of each routed session. Default: none (routed sessions relay). */
  readonly createRouter?: () => RemoteRouter;
  /** Routed sessions go peer to peer while they can (see `AdaptiveMedia`); null for never. Default: null. */
  readonly adaptiveRouting?: AdaptiveRoutingOptions | null;
}

export interface RoomRegistryObserverEvents {
  newRoom: [room: SessionRoom];
}

/** The live sessions: one `SessionRoom` per session that has clients connected. */
export class RoomRegistry {
  readonly observer: TypedEmitter<RoomRegistryObserverEvents>;
  readonly #rooms = new Map<string, SessionRoom>();
  readonly #reconnectGraceMs: number;
  readonly #connectionLimits: ConnectionLimits;
  readonly #maxConnectionsPerToken: number;
  readonly #logger: Logger;
  readonly #createRouter: (() => RemoteRouter) | undefined;
  readonly #adaptiveRouting: AdaptiveRoutingOptions | null;

  constructor(options: RoomRegistryOptions) {
    this.#createRouter = options.createRouter;
    this.#adaptiveRouting = options.adaptiveRouting ?? null;
    this.#reconnectGraceMs = options.reconnectGraceMs ?? 20_000;
    this.#connectionLimits = {
      replayBufferSize: 512,
      replayBufferBytes: 1024 * 1024,
      fanOutBytesPerSecond: 4 * 1024 * 1024,
      ...options.connectionLimits,
    };
    this.#maxConnectionsPerToken = options.maxConnectionsPerToken ?? 100;
    this.#logger = options.logger;
    this.observer = new TypedEmitter((event, error) => {
      this.#logger.error({ err: error, event }, 'room registry listener failed');
    });
  }

  /** The room of a session, while any client is connected to it. */
  get(sessionId: string): SessionRoom | undefined {
    return this.#rooms.get(sessionId);
  }

  /** Every live room. */
  get all(): SessionRoom[] {
    return [...this.#rooms.values()];
  }

  /** Connects a client to the session's room, opening the room for the first client. */
  join(
    session: SessionRecord,
    token: VerifiedToken,
    tokenKey: string,
    sink: ConnectionSink,
  ): { room: SessionRoom; connection: RoomConnection; resumeSecret: string } {
    let room = this.#rooms.get(session.sessionId);
    if (!room) {
      const opened = new SessionRoom({
        session,
        reconnectGraceMs: this.#reconnectGraceMs,
        connectionLimits: this.#connectionLimits,
        maxConnectionsPerToken: this.#maxConnectionsPerToken,
        logger: this.#logger,
        ...(this.#createRouter ? { createRouter: this.#createRouter } : {}),
        adaptiveRouting: this.#adaptiveRouting,
      });
      opened.on('close', () => {
        this.#rooms.delete(opened.sessionId);
      });
      this.#rooms.set(opened.sessionId, opened);
      this.observer.safeEmit('newRoom', opened);
      room = opened;
    }
    return { room, ...room.join(token, tokenKey, sink) };
  }

  /** Closes every room (the server is shutting down). */
  close(): void {
    for (const room of [...this.#rooms.values()]) room.close();
  }
}
