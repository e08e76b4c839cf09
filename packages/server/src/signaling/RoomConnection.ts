import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import {
  ParlorError,
  rolePermissions,
  type ConnectionDestroyedReason,
  type ConnectionInfo,
  type Permissions,
  type ServerEvent,
  type ServerToClient,
} from '@parlor/protocol';
import type { VerifiedToken } from '../auth/ClientTokenVerifier.js';
import { TypedEmitter } from '../TypedEmitter.js';
import { InvalidStateError } from '../InvalidStateError.js';
import type { OutgoingFrame } from './SendQueue.js';
import { TokenBucket } from './TokenBucket.js';

/** `connected`: a socket carries it; `away`: its socket dropped and it may resume; `closed`. */
export type ConnectionState = 'connected' | 'away' | 'closed';

/** Where a connection's frames go: the socket that carries it at the moment. */
export interface ConnectionSink {
  /**
   * Sends one frame (JSON text). A `broadcast` frame goes to many connections at once and may
   * reach this one a little later, never after a later frame.
   */
  deliver(frame: OutgoingFrame, broadcast: boolean): void;
  /** Another socket resumed the connection; this one must stop carrying it. */
  replaced(): void;
  /** The server makes this connection's media (a SIP call): it has no peer-to-peer path. Default: false. */
  readonly serverSide?: boolean;
}

export interface RoomConnectionEvents {
  /** The connection ended; its room cleans up after it. */
  close: [reason: ConnectionDestroyedReason];
  /** The connection ended because its room closed: the server is shutting down, or the session `moved` to another node. */
  roomClose: [moved: boolean];
}

export interface RoomConnectionObserverEvents {
  stateChange: [state: ConnectionState];
  close: [];
}

/** What a connection keeps for its client, and what its client may make the server do. */
export interface ConnectionLimits {
  /** How many of its latest events the connection keeps for a resuming client. */
  readonly replayBufferSize: number;
  /** How many characters of its latest events' data it keeps at most (the latest event always). */
  readonly replayBufferBytes: number;
  /**
   * Characters per second of frames the client's requests may make the server send, each copy of
   * a broadcast counted, in bursts of one second's worth (a broadcast that costs more goes
   * through when the budget is not spent, and the next waits until its cost is paid back).
   */
  readonly fanOutBytesPerSecond: number;
}

export interface RoomConnectionOptions extends ConnectionLimits {
  readonly token: VerifiedToken;
  /** Identifies the token the client connected with, to count the connections of each token. */
  readonly tokenKey: string;
  readonly sink: ConnectionSink;
  /** How long the connection waits for its client to resume after its socket drops, in ms. */
  readonly reconnectGraceMs: number;
  readonly logger: Logger;
}

/** One event as sent, kept for replay; the data is serialized once for every recipient. */
interface SentEvent {
  readonly event: ServerEvent;
  readonly json: string;
}

/**
 * A client's connection to a session. It outlives the socket that carries it: when the socket
 * drops it waits `reconnectGraceMs` for the client to resume on another one, and every event
 * it is sent carries a sequence number so that the client can have the ones it missed again.
 */
export class RoomConnection extends TypedEmitter<RoomConnectionEvents> {
  readonly id = randomUUID();
  /** Unix milliseconds. */
  readonly creationTime = Date.now();
  readonly token: VerifiedToken;
  readonly permissions: Permissions;
  readonly info: ConnectionInfo;
  readonly observer: TypedEmitter<RoomConnectionObserverEvents>;
  readonly tokenKey: string;
  /** What the client must present to resume; only its hash is kept. */
  readonly #resumeSecretHash: Buffer;
  readonly #reconnectGraceMs: number;
  readonly #replayBufferSize: number;
  readonly #replayBufferBytes: number;
  readonly #fanOut: TokenBucket;
  readonly #logger: Logger;
  #sink: ConnectionSink | null;
  #state: ConnectionState = 'connected';
  /** `seq` of the last event sent. */
  #seq = 0;
  /** The latest events, oldest first; the last one has `seq` = `#seq`. */
  readonly #sent: SentEvent[] = [];
  /** Characters of data in `#sent`. */
  #sentBytes = 0;
  #graceTimer: NodeJS.Timeout | undefined;

  /** The connection and the secret its client resumes it with (handed out once). */
  static create(options: RoomConnectionOptions): { connection: RoomConnection; resumeSecret: string } {
    const resumeSecret = randomBytes(32).toString('base64url');
    return { connection: new RoomConnection(options, resumeSecret), resumeSecret };
  }

  private constructor(options: RoomConnectionOptions, resumeSecret: string) {
    const onListenerError = (event: string, error: unknown): void => {
      this.#logger.error({ err: error, event }, 'connection listener failed');
    };
    super(onListenerError);
    this.observer = new TypedEmitter(onListenerError);
    this.token = options.token;
    this.tokenKey = options.tokenKey;
    this.permissions = rolePermissions[options.token.role];
    this.info = {
      connectionId: this.id,
      creationTime: this.creationTime,
      data: options.token.connectionData,
    };
    this.#resumeSecretHash = hash(resumeSecret);
    this.#sink = options.sink;
    this.#reconnectGraceMs = options.reconnectGraceMs;
    this.#replayBufferSize = options.replayBufferSize;
    this.#replayBufferBytes = options.replayBufferBytes;
    // The connection, not the socket, holds the budget: resuming on a new socket does not refill it.
    this.#fanOut = new TokenBucket({
      ratePerSecond: options.fanOutBytesPerSecond,
      capacity: options.fanOutBytesPerSecond,
    });
    this.#logger = options.logger.child({ connectionId: this.id });
    this.#logger.info({ role: options.token.role }, 'connection created');
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  send<E extends ServerEvent>(event: E, data: ServerToClient[E]): void {
    this.sendSerialized(event, JSON.stringify(data));
  }

  /** Sends an event whose data is already JSON. */
  sendSerialized(event: ServerEvent, json: string): void {
    const seq = this.#keep(event, json);
    this.#sink?.deliver(eventFrame({ event, json }, seq), false);
  }

  /**
   * Sends an event of a broadcast: its data serialized once for every recipient, and when large
   * also encoded once (`utf8`), each recipient's frame sharing it.
   */
  sendShared(event: ServerEvent, json: string, utf8: Buffer | null): void {
    const seq = this.#keep(event, json);
    this.#sink?.deliver(
      utf8
        ? { head: `{"event":"${event}","seq":${seq},"data":`, body: utf8, tail: '}' }
        : eventFrame({ event, json }, seq),
      true,
    );
  }

  /** Numbers the event and keeps it for a resume; returns its `seq`. */
  #keep(event: ServerEvent, json: string): number {
    this.#assertOpen('send');
    this.#seq += 1;
    const sent = { event, json };
    this.#sent.push(sent);
    this.#sentBytes += json.length;
    while (
      this.#sent.length > this.#replayBufferSize ||
      (this.#sentBytes > this.#replayBufferBytes && this.#sent.length > 1)
    ) {
      this.#sentBytes -= (this.#sent.shift() as SentEvent).json.length;
    }
    return this.#seq;
  }

  /**
   * Charges the work of sending `copies` frames of `bytes` characters to the client's fan-out
   * budget; false, charging nothing, when the budget is spent.
   */
  spendFanOut(copies: number, bytes: number): boolean {
    return this.#fanOut.take(copies * (bytes + frameOverheadBytes));
  }

  /** The socket dropped: keep the connection for the grace period, then end it. */
  detach(): void {
    if (this.#state !== 'connected') return;
    this.#sink = null;
    if (this.#reconnectGraceMs === 0) {
      this.close('networkDisconnected');
      return;
    }
    this.#setState('away');
    this.#graceTimer = setTimeout(() => {
      this.close('networkDisconnected');
    }, this.#reconnectGraceMs);
  }

  /**
   * Moves the connection onto a new socket. Returns the frames of the events after `lastSeq`,
   * for the caller to send once it has answered. A client that missed more events than the
   * connection keeps cannot resume, and the connection ends.
   */
  resume(resumeSecret: string, lastSeq: number, sink: ConnectionSink): string[] {
    this.#assertOpen('resume');
    if (!timingSafeEqual(hash(resumeSecret), this.#resumeSecretHash)) {
      throw new ParlorError('AUTH_FAILED', 'wrong resume secret');
    }
    if (lastSeq > this.#seq) {
      throw new ParlorError(
        'CONNECT_FAILED',
        `lastSeq ${lastSeq} is ahead of the last event sent (${this.#seq})`,
      );
    }
    const missed = this.#seq - lastSeq;
    if (missed > this.#sent.length) {
      this.close('networkDisconnected');
      throw new ParlorError('CONNECT_FAILED', `${missed} events were missed, more than can be replayed`);
    }
    clearTimeout(this.#graceTimer);
    const previous = this.#sink;
    this.#sink = sink;
    previous?.replaced();
    this.#setState('connected');
    const firstMissed = this.#seq - missed + 1;
    return this.#sent
      .slice(this.#sent.length - missed)
      .map((sent, index) => eventFrame(sent, firstMissed + index));
  }

  /** Ends the connection; idempotent. */
  close(reason: ConnectionDestroyedReason): void {
    if (!this.#end(reason)) return;
    this.safeEmit('close', reason);
  }

  /** Ends the connection because its room closed; `moved` when the session goes on on another node. */
  roomClosed(moved: boolean): void {
    if (!this.#end(moved ? 'sessionMoved' : 'roomClosed')) return;
    this.safeEmit('roomClose', moved);
  }

  #end(reason: string): boolean {
    if (this.#state === 'closed') return false;
    clearTimeout(this.#graceTimer);
    this.#sink = null;
    this.#sent.length = 0;
    this.#sentBytes = 0;
    this.#setState('closed', reason);
    this.observer.safeEmit('close');
    return true;
  }

  #setState(state: ConnectionState, reason?: string): void {
    if (state === this.#state) return;
    this.#logger.info({ reason }, `connection ${this.#state} -> ${state}`);
    this.#state = state;
    this.observer.safeEmit('stateChange', state);
  }

  #assertOpen(what: string): void {
    if (this.#state === 'closed') throw new InvalidStateError(`cannot ${what}: the connection is closed`);
  }
}

/**
 * What a frame costs beyond its characters, in characters: a write to a socket costs about as
 * much as copying this many, so that many tiny frames are not free.
 */
const frameOverheadBytes = 256;

function hash(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

function eventFrame(sent: SentEvent, seq: number): string {
  // Built by hand so that the data, serialized once per broadcast, is not serialized again.
  return `{"event":"${sent.event}","seq":${seq},"data":${sent.json}}`;
}
