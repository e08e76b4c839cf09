import type { Socket } from 'node:net';
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { WebSocket } from '@fastify/websocket';
import {
  ClientFrameReader,
  signalingCloseCodes,
  signalingLimits,
  signalingPath,
  type ArchiveInfo,
  type IceServer,
} from '@parlor/protocol';
import type { ClientTokenVerifier } from '../auth/ClientTokenVerifier.js';
import type { TokenRenewal } from '../auth/TokenRenewal.js';
import type { RemoteRouter } from '../media/worker/RemoteRouter.js';
import type { SessionService } from '../sessions/SessionService.js';
import { ClientChannel } from './ClientChannel.js';
import { RoomRegistry, type RoomRegistryOptions } from './RoomRegistry.js';
import type { SendQueueLimits } from './SendQueue.js';
import { SendScheduler } from './SendScheduler.js';

export interface SignalingServerOptions {
  readonly sessions: SessionService;
  readonly tokens: ClientTokenVerifier;
  readonly logger: Logger;
  /** STUN and TURN servers handed to a client at each connect and resume, fresh credentials included. Default: none. */
  readonly iceServersFor?: (connectionId: string, sessionId: string) => readonly IceServer[];
  /** How long a client whose socket dropped may take to resume, in ms. Default: 20000. */
  readonly reconnectGraceMs?: number;
  /** The archives recording a session now, announced to each client that connects. Default: none. */
  readonly archivesOf?: (sessionId: string) => readonly ArchiveInfo[];
  /** Messages per second a client may send, in bursts of twice that. Default: 50. */
  readonly messagesPerSecond?: number;
  /** How long a client has to connect once its socket is open, in ms. Default: 10000. */
  readonly connectTimeoutMs?: number;
  /** Interval of the pings that find dead sockets, in ms. Default: 15000. */
  readonly pingIntervalMs?: number;
  /**
   * What a client may leave unread before its socket is cut off (it may resume within the grace
   * period). Defaults: 1 MiB (a 500-member snapshot with 1 kB of data per connection, 550 kB,
   * fits; a client on a 1 Mbit/s link reads it all in 8 s) and 4096 frames (over a minute of a
   * busy session's events), with a write window of 64 KiB, past which frames wait in the queue
   * as references to data shared with the other recipients. 100 clients that stop reading hold
   * at most 100 × (1 MiB + 64 KiB) here, far less when what they miss is broadcasts.
   */
  readonly sendQueue?: Partial<SendQueueLimits>;
  /** Frames written to sockets per turn of the event loop, across sockets. Default: 256. */
  readonly framesPerTurn?: number;
  /** What each connection keeps for a resuming client and may make the server send; see `RoomRegistryOptions`. */
  readonly connectionLimits?: RoomRegistryOptions['connectionLimits'];
  /** Connections one token may have in a session at once. Default: 100. */
  readonly maxConnectionsPerToken?: number;
  /** Makes the Media Router of each routed session. Default: none (routed sessions relay). */
  readonly createRouter?: () => RemoteRouter;
  /** Adaptive routing of routed sessions; see `RoomRegistryOptions`. */
  readonly adaptiveRouting?: RoomRegistryOptions['adaptiveRouting'];
  /** How long a socket the server closes has to answer the closing handshake before it is cut off, in ms. Default: 1000. */
  readonly closeTimeoutMs?: number;
  /**
   * Whether a client may connect to a session here: null at once, or a promise that rejects with
   * the reason (a cluster node hosts only its own sessions). Default: every session, at once.
   */
  readonly admit?: (sessionId: string) => Promise<void> | null;
  /** Renews connected clients' tokens, in a cluster (where they may have to join elsewhere). Default: none. */
  readonly tokenRenewal?: TokenRenewal;
}

/**
 * Frames up to this size are read and, past `signalingLimits.maxMessageBytes`, refused with an
 * error answer; larger ones make the WebSocket library close the socket (1009).
 */
const transportMaxPayload = 1024 * 1024;

/**
 * The signaling endpoint: a WebSocket at `signalingPath` on the HTTP server, one `ClientChannel`
 * per socket, and the rooms of the live sessions. Any origin may connect: the client token is
 * the authentication.
 */
export class SignalingServer {
  readonly rooms: RoomRegistry;
  readonly #options: SignalingServerOptions;
  readonly #logger: Logger;
  readonly #reader = new ClientFrameReader();
  readonly #channels = new Set<ClientChannel>();
  readonly #scheduler: SendScheduler;
  readonly #sendQueue: SendQueueLimits;
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: SignalingServerOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#scheduler = new SendScheduler(
      options.framesPerTurn === undefined ? {} : { framesPerTurn: options.framesPerTurn },
    );
    this.#sendQueue = {
      maxBytes: 1024 * 1024,
      maxMessages: 4096,
      writeWindowBytes: 64 * 1024,
      ...options.sendQueue,
    };
    this.rooms = new RoomRegistry({
      reconnectGraceMs: options.reconnectGraceMs ?? 20_000,
      logger: options.logger,
      ...(options.connectionLimits ? { connectionLimits: options.connectionLimits } : {}),
      ...(options.maxConnectionsPerToken === undefined
        ? {}
        : { maxConnectionsPerToken: options.maxConnectionsPerToken }),
      ...(options.createRouter ? { createRouter: options.createRouter } : {}),
      adaptiveRouting: options.adaptiveRouting ?? null,
    });
  }

  /** Registers the endpoint on a Fastify app. */
  readonly plugin = async (app: FastifyInstance): Promise<void> => {
    await app.register(websocket, {
      options: { maxPayload: transportMaxPayload },
      errorHandler: (error, socket, request) => {
        request.log.debug({ err: error }, 'signaling socket failed');
        socket.terminate();
      },
    });
    app.get(signalingPath, { websocket: true }, (socket, request) => {
      this.#accept(socket, request.raw.socket);
    });
  };

  /**
   * Closes every room and socket: connected clients see their socket close with 1001. Sockets
   * whose client does not answer the closing handshake in time are cut off.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.rooms.close();
    for (const channel of this.#channels)
      channel.close(signalingCloseCodes.goingAway, 'server shutting down');
    this.#scheduler.close();
  }

  #accept(socket: WebSocket, tcp: Socket): void {
    if (this.#closed) {
      socket.close(signalingCloseCodes.goingAway, 'server shutting down');
      return;
    }
    const channel = new ClientChannel(socket, tcp, {
      rooms: this.rooms,
      sessions: this.#options.sessions,
      tokens: this.#options.tokens,
      reader: this.#reader,
      iceServersFor: this.#options.iceServersFor ?? (() => []),
      archivesOf: this.#options.archivesOf ?? (() => []),
      messagesPerSecond: this.#options.messagesPerSecond ?? 50,
      maxMessageBytes: signalingLimits.maxMessageBytes,
      sendQueue: this.#sendQueue,
      scheduler: this.#scheduler,
      connectTimeoutMs: this.#options.connectTimeoutMs ?? 10_000,
      closeTimeoutMs: this.#options.closeTimeoutMs ?? 1000,
      admit: this.#options.admit ?? (() => null),
      tokenRenewal: this.#options.tokenRenewal ?? null,
      logger: this.#logger,
    });
    this.#channels.add(channel);
    channel.on('close', () => {
      this.#channels.delete(channel);
    });
    this.#heartbeat ??= setInterval(() => {
      for (const each of this.#channels) each.heartbeat();
    }, this.#options.pingIntervalMs ?? 15_000);
  }
}
