import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { WebSocket } from '@fastify/websocket';
import type { RawData } from 'ws';
import {
  ParlorError,
  capabilitiesOf,
  type ArchiveInfo,
  decodeSessionId,
  signalingCloseCodes,
  signalingLimits,
  signalingProtocolVersion,
  type ClientFrameReader,
  type ClientToServer,
  type ConnectParams,
  type IceServer,
  type RequestFrame,
  type ResponseFrame,
  type ResumeParams,
  type UpdateSubscriptionParams,
} from '@parlor/protocol';
import type { ClientTokenVerifier, VerifiedToken } from '../auth/ClientTokenVerifier.js';
import type { TokenRenewal } from '../auth/TokenRenewal.js';
import { TokenError } from '../auth/TokenError.js';
import { noVideoPreferences, type VideoPreferences } from '../media/router/Subscription.js';
import type { SessionService } from '../sessions/SessionService.js';
import type { SessionRecord } from '../store/SessionRepository.js';
import { TypedEmitter } from '../TypedEmitter.js';
import type { ConnectionSink, RoomConnection } from './RoomConnection.js';
import type { RoomRegistry } from './RoomRegistry.js';
import { SendQueue, type OutgoingFrame, type SendQueueLimits } from './SendQueue.js';
import type { SendScheduler } from './SendScheduler.js';
import type { SessionRoom } from './SessionRoom.js';
import { TokenBucket } from './TokenBucket.js';

export interface ClientChannelOptions {
  readonly rooms: RoomRegistry;
  readonly sessions: SessionService;
  readonly tokens: ClientTokenVerifier;
  readonly reader: ClientFrameReader;
  /** STUN and TURN servers for a connection, with credentials of its own. */
  readonly iceServersFor: (connectionId: string, sessionId: string) => readonly IceServer[];
  /** The archives recording a session now, announced to each client that connects. */
  readonly archivesOf: (sessionId: string) => readonly ArchiveInfo[];
  /** Messages per second the client may send, in bursts of twice that. */
  readonly messagesPerSecond: number;
  /** Largest frame the channel reads; a larger one is answered with an error. */
  readonly maxMessageBytes: number;
  /** What the client may leave unread; past it the socket is cut off (its connection can resume). */
  readonly sendQueue: SendQueueLimits;
  /** Writes the queued frames of every socket in slices. */
  readonly scheduler: SendScheduler;
  /** How long the client has to connect before the socket is closed, in ms. */
  readonly connectTimeoutMs: number;
  /** How long a socket the server closes has to answer the closing handshake before it is cut off, in ms. */
  readonly closeTimeoutMs: number;
  /** Whether the client may connect to a session here: null at once, or a promise that rejects with the reason. */
  readonly admit: (sessionId: string) => Promise<void> | null;
  /** A cluster's renewal of connected clients' tokens; null on a node on its own (a client never joins elsewhere). */
  readonly tokenRenewal: TokenRenewal | null;
  readonly logger: Logger;
}

/** `open`: the socket is up, no connection yet; `connected`: it carries a connection. */
type ChannelState = 'open' | 'connected' | 'closed';

/** What a request handler produced: the result, and what to do once the client has it. */
interface Handled {
  readonly result: ClientToServer[keyof ClientToServer]['result'];
  readonly afterReply?: () => void;
}

/** Socket close codes by which a client says it is leaving rather than losing its link. */
const leavingCodes: ReadonlySet<number> = new Set([1000, 1001, 1005]);

const empty = {};

/**
 * One client's WebSocket: reads and validates its frames, limits their rate, carries out its
 * requests on its session's room and answers each, and carries the connection's events. A
 * malformed or refused request gets an error answer and changes nothing else.
 */
export class ClientChannel extends TypedEmitter<{ close: [] }> implements ConnectionSink {
  readonly #socket: WebSocket;
  readonly #options: ClientChannelOptions;
  readonly #bucket: TokenBucket;
  /** Invalid frames the client may still send before its socket is closed. */
  readonly #invalidFrames: TokenBucket;
  readonly #queue: SendQueue;
  readonly #connectTimer: NodeJS.Timeout;
  #closeTimer: NodeJS.Timeout | undefined;
  /** Sends the connection a fresh token, at half a renewed token's life. */
  #renewalTimer: NodeJS.Timeout | undefined;
  #logger: Logger;
  #state: ChannelState = 'open';
  /** A connect is reading its token and session, or waiting for the server's admission. */
  #connecting = false;
  #room: SessionRoom | null = null;
  #connection: RoomConnection | null = null;
  /** Whether the client answered the last ping (or sent anything since). */
  #alive = true;

  /** `tcp` is the connection under the WebSocket, corked while several frames are written. */
  constructor(socket: WebSocket, tcp: Socket, options: ClientChannelOptions) {
    super((event, error) => {
      this.#logger.error({ err: error, event }, 'channel listener failed');
    });
    this.#socket = socket;
    this.#options = options;
    this.#logger = options.logger;
    this.#bucket = new TokenBucket({
      ratePerSecond: options.messagesPerSecond,
      capacity: 2 * options.messagesPerSecond,
    });
    this.#invalidFrames = new TokenBucket({
      ratePerSecond: signalingLimits.maxInvalidFrames / (signalingLimits.invalidFrameWindowMs / 1000),
      capacity: signalingLimits.maxInvalidFrames,
    });
    this.#queue = new SendQueue(
      {
        write: (frame, written) => {
          if (typeof frame === 'string') {
            socket.send(frame, written);
            return;
          }
          // One message in three fragments: the shared data is written as is, never copied.
          socket.send(frame.head, { fin: false });
          socket.send(frame.body, { binary: false, fin: false });
          socket.send(frame.tail, { fin: true }, written);
        },
        cork: () => {
          tcp.cork();
        },
        uncork: () => {
          tcp.uncork();
        },
      },
      options.scheduler,
      options.sendQueue,
    );
    this.#connectTimer = setTimeout(() => {
      if (this.#state === 'open') this.close(signalingCloseCodes.policyViolation, 'connect timed out');
    }, options.connectTimeoutMs);
    socket.on('message', (data, isBinary) => {
      this.#onMessage(data, isBinary);
    });
    socket.on('pong', () => {
      this.#alive = true;
    });
    socket.on('close', (code) => {
      this.#onSocketClose(code);
    });
  }

  /** Pings the client; a client that did not answer the previous ping is cut off. */
  heartbeat(): void {
    if (!this.#alive) {
      this.#logger.debug('no pong: terminating the socket');
      this.#socket.terminate();
      return;
    }
    this.#alive = false;
    this.#socket.ping();
  }

  deliver(frame: OutgoingFrame, broadcast: boolean): void {
    this.#send(frame, !broadcast);
  }

  replaced(): void {
    this.#release();
    this.close(signalingCloseCodes.resumedElsewhere, 'resumed on another socket');
  }

  /** Closes the socket; one whose client does not answer in time is cut off. */
  close(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#queue.close(true);
    this.#socket.close(code, reason);
    this.#closeTimer = setTimeout(() => {
      this.#socket.terminate();
    }, this.#options.closeTimeoutMs);
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    this.#alive = true;
    if (this.#state === 'closed') return;
    const withinRate = this.#bucket.take();
    const bytes = Buffer.isBuffer(data)
      ? data
      : Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.from(data);
    if (isBinary) {
      this.#invalid(withinRate, null, new ParlorError('INVALID_REQUEST', 'binary frames are not supported'));
      return;
    }
    if (bytes.length > this.#options.maxMessageBytes) {
      const detail = `${bytes.length} bytes, the limit is ${this.#options.maxMessageBytes}`;
      this.#invalid(withinRate, null, new ParlorError('MESSAGE_TOO_LARGE', detail));
      return;
    }
    const parsed = this.#options.reader.read(bytes.toString('utf8'));
    if (!parsed.ok) {
      this.#invalid(withinRate, parsed.id, new ParlorError('INVALID_REQUEST', parsed.problem));
      return;
    }
    const { request } = parsed;
    if (!withinRate) {
      this.#replyError(request.id, new ParlorError('RATE_LIMITED', `${request.method} was not carried out`));
      return;
    }
    this.#logger.debug({ method: request.method, id: request.id }, 'request');
    let handled: Handled | Promise<Handled>;
    try {
      handled = this.#handle(request);
    } catch (error) {
      this.#replyError(request.id, this.#asParlorError(error, request.method));
      return;
    }
    if (handled instanceof Promise) {
      handled.then(
        (done) => {
          this.#reply(request.id, done);
        },
        (error: unknown) => {
          this.#replyError(request.id, this.#asParlorError(error, request.method));
        },
      );
      return;
    }
    this.#reply(request.id, handled);
  }

  #reply(id: number, handled: Handled): void {
    this.#send(JSON.stringify({ id, ok: true, result: handled.result } satisfies ResponseFrame), true);
    handled.afterReply?.();
  }

  /**
   * A frame that is not a valid request: answered while within the client's rate, and the
   * socket closed with 1008 once the client has sent too many.
   */
  #invalid(withinRate: boolean, id: number | null, error: ParlorError): void {
    if (!this.#invalidFrames.take()) {
      this.#logger.warn({ problem: error.message }, 'too many invalid frames: closing the socket');
      this.close(signalingCloseCodes.policyViolation, 'too many invalid frames');
      return;
    }
    if (withinRate) this.#replyError(id, error);
  }

  /** Carries out the request: at once, or (`connect`, which reads the store) once it is done. */
  #handle(request: RequestFrame): Handled | Promise<Handled> {
    if (request.method === 'ping') return { result: empty };
    if (request.method === 'connect') return this.#connect(request.params);
    if (request.method === 'resume') return this.#resume(request.params);
    if (!this.#room || !this.#connection)
      throw new ParlorError('NOT_CONNECTED', `connect before ${request.method}`);
    const room = this.#room;
    const connection = this.#connection;
    switch (request.method) {
      case 'disconnect':
        return {
          result: empty,
          afterReply: () => {
            connection.close('clientDisconnected');
          },
        };
      case 'publish': {
        const published = room.publish(connection, request.params);
        return {
          result: published,
          afterReply: () => {
            room.published(connection, published.stream.streamId);
          },
        };
      }
      case 'unpublish':
        room.unpublish(connection, request.params.streamId, request.params.reason ?? 'clientDisconnected');
        return { result: empty };
      case 'updateStream':
        room.updateStream(connection, request.params);
        return { result: empty };
      case 'subscribe': {
        const subscriptionId = room.subscribe(connection, request.params.streamId, {
          ...noVideoPreferences,
          ...preferenceChanges(request.params),
        });
        return {
          result: { subscriptionId },
          afterReply: () => {
            room.subscribed(connection, subscriptionId);
          },
        };
      }
      case 'unsubscribe':
        room.unsubscribe(connection, request.params.subscriptionId);
        return { result: empty };
      case 'updateSubscription':
        room.updateSubscription(connection, request.params.subscriptionId, preferenceChanges(request.params));
        return { result: empty };
      case 'mediaPathPlaying':
        room.mediaPathPlaying(connection, request.params.subscriptionId, request.params.path);
        return { result: empty };
      case 'mediaPathFailed':
        room.mediaPathFailed(connection, request.params.subscriptionId, request.params.path);
        return { result: empty };
      case 'offer':
      case 'answer':
        room.negotiate(connection, request.params.subscriptionId, {
          kind: request.method,
          sdp: request.params.sdp,
        });
        return { result: empty };
      case 'iceCandidate':
        room.negotiate(connection, request.params.subscriptionId, {
          kind: 'iceCandidate',
          candidate: request.params.candidate,
        });
        return { result: empty };
      case 'signal': {
        const { to, type = '', data = '' } = request.params;
        room.signal(connection, to, type, data);
        return { result: empty };
      }
      case 'telemetry':
        room.telemetry(connection, request.params.records);
        return { result: empty };
      case 'forceDisconnect':
        room.forceDisconnect(connection, request.params.connectionId);
        return { result: empty };
      case 'forceUnpublish':
        room.forceUnpublish(connection, request.params.streamId);
        return { result: empty };
      case 'forceMuteStream':
        room.forceMuteStream(connection, request.params.streamId);
        return { result: empty };
      case 'forceMuteAll':
        room.forceMuteAll(connection, request.params.excludedStreamIds);
        return { result: empty };
      case 'disableForceMute':
        room.disableForceMute(connection);
        return { result: empty };
    }
  }

  async #connect(params: ConnectParams): Promise<Handled> {
    this.#assertCanJoin(params.protocolVersion);
    if (!decodeSessionId(params.sessionId)) throw new ParlorError('INVALID_SESSION_ID', 'not a session ID');
    // Until the client has joined, the channel takes no other connect or resume.
    this.#connecting = true;
    let token: VerifiedToken;
    let session: SessionRecord;
    try {
      token = await this.#verify(params.token);
      if (params.apiKey !== undefined && params.apiKey !== token.apiKey) {
        throw new ParlorError('AUTH_FAILED', 'the token is for another API key');
      }
      if (token.sessionId !== params.sessionId) {
        throw new ParlorError('INVALID_SESSION_ID', 'the token is for another session');
      }
      session = await this.#options.sessions.get(token.apiKey, token.sessionId);
      // The server admits the client at once, or after a cluster's check that this node owns the session.
      await this.#options.admit(session.sessionId);
    } finally {
      this.#connecting = false;
    }
    // A renewed token counts as the token it descends from.
    const tokenKey = token.renewalOf ?? createHash('sha256').update(params.token).digest('base64url');
    const renewedToken = await this.#options.tokenRenewal?.renew(token, tokenKey);
    if (this.#state !== 'open') throw new ParlorError('CONNECT_FAILED', 'the socket closed while connecting');
    return this.#join(session, token, tokenKey, renewedToken);
  }

  #join(
    session: SessionRecord,
    token: VerifiedToken,
    tokenKey: string,
    renewedToken: string | undefined,
  ): Handled {
    const { room, connection, resumeSecret } = this.#options.rooms.join(session, token, tokenKey, this);
    this.#attach(room, connection);
    if (renewedToken !== undefined) this.#scheduleRenewal(connection);
    return {
      result: {
        sessionId: room.sessionId,
        mediaMode: room.mediaMode,
        e2ee: room.e2ee,
        connection: connection.info,
        connections: room.connections.map((member) => member.info),
        streams: room.streams.map((stream) => stream.info),
        capabilities: capabilitiesOf(token.role),
        iceServers: [...this.#options.iceServersFor(connection.id, room.sessionId)],
        archives: [...this.#options.archivesOf(room.sessionId)],
        resume: { secret: resumeSecret, graceMs: room.reconnectGraceMs },
        ...(renewedToken === undefined ? {} : { renewedToken }),
      },
    };
  }

  /** While the connection lasts (on this socket or a resuming one), sends it a fresh token at half a token's life. */
  #scheduleRenewal(connection: RoomConnection): void {
    const renewal = this.#options.tokenRenewal;
    if (!renewal) return;
    this.#renewalTimer = setInterval(
      () => {
        if (this.#connection !== connection) return;
        renewal.renew(connection.token, connection.tokenKey).then(
          (token) => {
            if (token !== undefined && this.#connection === connection)
              connection.send('tokenRenewed', { token });
          },
          (error: unknown) => {
            this.#logger.debug({ err: (error as Error).message }, 'token not renewed');
          },
        );
      },
      (renewal.lifetimeSeconds * 1000) / 2,
    );
    this.#renewalTimer.unref();
  }

  #resume(params: ResumeParams): Handled {
    this.#assertCanJoin(params.protocolVersion);
    const room = this.#options.rooms.get(params.sessionId);
    if (!room) throw new ParlorError('CONNECT_FAILED', 'the connection has ended; connect again');
    const { connection, missed } = room.resume(
      params.connectionId,
      params.resumeSecret,
      params.lastSeq,
      this,
    );
    this.#attach(room, connection);
    this.#scheduleRenewal(connection);
    return {
      result: {
        connection: connection.info,
        iceServers: [...this.#options.iceServersFor(connection.id, room.sessionId)],
      },
      afterReply: () => {
        for (const frame of missed) this.#send(frame, false);
      },
    };
  }

  #assertCanJoin(protocolVersion: number): void {
    if (this.#state === 'connected') throw new ParlorError('CONNECT_FAILED', 'already connected');
    if (this.#connecting) throw new ParlorError('CONNECT_FAILED', 'already connecting');
    if (protocolVersion !== signalingProtocolVersion) {
      throw new ParlorError(
        'CONNECT_FAILED',
        `protocol version ${protocolVersion} is not supported; this server speaks ${signalingProtocolVersion}`,
      );
    }
  }

  /** Verifies the token; a session that does not exist is an invalid session ID, as in OpenTok. */
  async #verify(token: string): Promise<VerifiedToken> {
    try {
      return await this.#options.tokens.verify(token);
    } catch (error) {
      if (error instanceof TokenError && error.reason === 'unknown-session') {
        throw new ParlorError('SESSION_NOT_FOUND', error.message, { cause: error });
      }
      throw error;
    }
  }

  #attach(room: SessionRoom, connection: RoomConnection): void {
    clearTimeout(this.#connectTimer);
    this.#state = 'connected';
    this.#room = room;
    this.#connection = connection;
    this.#logger = this.#options.logger.child({ sessionId: room.sessionId, connectionId: connection.id });
    connection.on('close', this.#onConnectionClose);
    connection.on('roomClose', this.#onRoomClose);
  }

  /** Lets go of the connection without ending it. */
  #release(): void {
    this.#connection?.off('close', this.#onConnectionClose);
    this.#connection?.off('roomClose', this.#onRoomClose);
    this.#connection = null;
    this.#room = null;
  }

  readonly #onConnectionClose = (): void => {
    this.#release();
    this.close(signalingCloseCodes.normal, 'disconnected');
  };

  readonly #onRoomClose = (moved: boolean): void => {
    this.#release();
    if (moved) this.close(signalingCloseCodes.moved, 'the session moved to another node');
    else this.close(signalingCloseCodes.goingAway, 'server shutting down');
  };

  #onSocketClose(code: number): void {
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#closeTimer);
    clearInterval(this.#renewalTimer);
    this.#state = 'closed';
    this.#queue.close(false);
    const connection = this.#connection;
    this.#release();
    if (connection && leavingCodes.has(code)) connection.close('clientDisconnected');
    else connection?.detach();
    this.safeEmit('close');
  }

  /**
   * Queues a frame for the socket, written at once when `urgent` and nothing waits before it. A
   * client that leaves too much unread is cut off, as on a network failure: its connection
   * waits to be resumed, and ends with networkDisconnected if it is not.
   */
  #send(frame: OutgoingFrame, urgent: boolean): void {
    if (this.#state === 'closed' || this.#socket.readyState !== this.#socket.OPEN) return;
    if (this.#queue.push(frame, urgent)) return;
    this.#logger.warn(
      { unsentFrames: this.#queue.frames, unsentBytes: this.#queue.bytes },
      'client too slow: cutting its socket off',
    );
    this.#state = 'closed';
    this.#queue.close(false);
    this.#socket.terminate();
  }

  #replyError(id: number | null, error: ParlorError): void {
    this.#logger.debug({ id, code: error.code, message: error.message }, 'request refused');
    const frame: ResponseFrame = { id, ok: false, error: { code: error.code, message: error.message } };
    this.#send(JSON.stringify(frame), true);
  }

  #asParlorError(error: unknown, method: string): ParlorError {
    if (error instanceof ParlorError) return error;
    this.#logger.error({ err: error, method }, 'request failed');
    return new ParlorError('INTERNAL', undefined, { cause: error });
  }
}

/** The video preferences a `subscribe` or `updateSubscription` sets; those it leaves out are absent. */
function preferenceChanges(
  params: Pick<UpdateSubscriptionParams, 'preferredResolution' | 'preferredFrameRate'>,
): Partial<VideoPreferences> {
  const changes: { -readonly [K in keyof VideoPreferences]?: VideoPreferences[K] } = {};
  if (params.preferredResolution !== undefined) changes.resolution = params.preferredResolution;
  if (params.preferredFrameRate !== undefined) changes.frameRate = params.preferredFrameRate;
  return changes;
}
