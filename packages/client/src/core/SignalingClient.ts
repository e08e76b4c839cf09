import {
  errorCatalogue,
  signalingCloseCodes,
  signalingPath,
  signalingProtocolVersion,
  type ClientMethod,
  type ClientToServer,
  type EventFrame,
  type ServerFrame,
  type SessionConnected,
} from '@parlor/protocol';
import { ClientError, clientErrorCodes } from './ClientError.js';
import { locateHost, type SessionHost } from './connectionInfo.js';
import type { Logger } from './Logger.js';
import { TypedEmitter } from './TypedEmitter.js';

export interface SignalingClientOptions {
  /**
   * Base URL of the Parlor server, http or https. The client asks it which node hosts the
   * session (itself, when the server is one node) and opens the socket at that node's signaling
   * path; it asks again for each reconnection.
   */
  readonly apiUrl: string;
  readonly logger: Logger;
  /** How long a request waits for its response, in milliseconds. Default: 15000. */
  readonly requestTimeoutMs?: number;
  /** How often a connected client checks its link with a `ping`, in milliseconds. Default: 10000. */
  readonly pingIntervalMs?: number;
  /** How long opening a socket may take, in milliseconds. Default: 10000. */
  readonly openTimeoutMs?: number;
  /**
   * Whether the client joins the session again as a new connection when its node of a cluster
   * is gone or the session moved to another node (OpenTok's `sessionMigration`), rather than
   * ending. Default: true.
   */
  readonly migrate?: boolean;
  /** How long joining the session again may take in all, attempts and their backoff included, ms. Default: 30000. */
  readonly migrationTimeoutMs?: number;
}

const defaults = {
  requestTimeoutMs: 15_000,
  pingIntervalMs: 10_000,
  openTimeoutMs: 10_000,
  migrate: true,
  migrationTimeoutMs: 30_000,
} as const;

/** A node refused the session as another node's: the client asks where it is again, this many times in all. */
const maxConnectAttempts = 3;
const sessionElsewhereCode: number = errorCatalogue.SESSION_ELSEWHERE.status;

/**
 * Where the link is: reconnecting means the socket dropped and the connection is being resumed,
 * or the session is being joined again on its new node.
 */
export type SignalingState = 'new' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

/**
 * How the link ended: `left` by `close()`, `ended` by the server (it closed the socket
 * normally), `lost` when the socket dropped and the connection could not be resumed in time.
 */
export type SignalingEnd = 'left' | 'ended' | 'lost';

interface SignalingEvents {
  /** A server event, in order, each once (replays after a resume are dropped by `seq`). */
  event: [frame: EventFrame];
  reconnecting: [];
  /** The connection was resumed; the server handed fresh ICE servers. */
  reconnected: [resumed: ClientToServer['resume']['result']];
  /**
   * The session was joined again as a new connection on the node hosting it now: nothing of the
   * old connection goes on (its streams, subscriptions and events are gone).
   */
  migrated: [joined: SessionConnected];
  closed: [end: SignalingEnd];
}

interface PendingRequest {
  readonly method: ClientMethod;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: ClientError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface ResumeTicket {
  readonly sessionId: string;
  readonly connectionId: string;
  readonly secret: string;
  readonly graceMs: number;
}

/** How the link is being brought back: resuming the connection, or joining the session again. */
interface Reconnection {
  readonly mode: 'resume' | 'migrate';
  /** Unix ms past which no attempt starts. */
  readonly deadline: number;
  readonly attempt: number;
}

/** Delay before the n-th reconnection attempt, in milliseconds: quick first, then backing off. */
const retryDelayMs = (attempt: number): number => Math.min(250 * 2 ** attempt, 2_000);

/**
 * Codes of a join on a session's new node worth trying again: the node does not host it yet
 * (421), no node can now (503), a node did not answer (504), a drop, a timeout.
 */
const retriableJoinCodes: ReadonlySet<number> = new Set([
  sessionElsewhereCode,
  errorCatalogue.CLUSTER_UNAVAILABLE.status,
  errorCatalogue.NODE_UNREACHABLE.status,
  clientErrorCodes.connectFailed,
  clientErrorCodes.timeout,
]);

/**
 * Parlor's signaling link: one WebSocket carrying requests (each answered once, correlated by
 * id) and server events. When the socket drops, it resumes the same connection on a new socket
 * within the server's grace period, and the server replays the events it missed. In a cluster,
 * when the session moved (its node drained or lost it, the socket closing with `moved`) or its
 * node is gone (the session's connection info names another), it joins the session again as a
 * new connection where it is now, with backoff, within `migrationTimeoutMs`.
 */
export class SignalingClient extends TypedEmitter<SignalingEvents> {
  readonly #apiUrl: string;
  /** What the client connected with, for asking where its host is and joining again. */
  #credentials: { readonly sessionId: string; readonly token: string; readonly apiKey: string } | null = null;
  /** The node the connection lives on. */
  #host: SessionHost | null = null;
  readonly #logger: Logger;
  readonly #options: Required<Omit<SignalingClientOptions, 'apiUrl' | 'logger'>>;
  #state: SignalingState = 'new';
  #socket: WebSocket | null = null;
  #nextId = 1;
  readonly #pending = new Map<number, PendingRequest>();
  /** Requests made while reconnecting, sent once the connection is resumed. */
  #queued: { readonly id: number; readonly text: string }[] = [];
  #lastSeq = 0;
  #ticket: ResumeTicket | null = null;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: SignalingClientOptions) {
    super((event, error) => {
      options.logger.error(`a listener of the signaling "${event}" event threw`, error);
    });
    this.#apiUrl = options.apiUrl;
    this.#logger = options.logger;
    this.#options = {
      requestTimeoutMs: options.requestTimeoutMs ?? defaults.requestTimeoutMs,
      pingIntervalMs: options.pingIntervalMs ?? defaults.pingIntervalMs,
      openTimeoutMs: options.openTimeoutMs ?? defaults.openTimeoutMs,
      migrate: options.migrate ?? defaults.migrate,
      migrationTimeoutMs: options.migrationTimeoutMs ?? defaults.migrationTimeoutMs,
    };
  }

  /** Opens the socket and joins the session; rejects with the server's error or 1006. */
  async connect(params: { sessionId: string; token: string; apiKey: string }): Promise<SessionConnected> {
    if (this.#state !== 'new') throw new ClientError(clientErrorCodes.connectFailed, 'already connecting');
    this.#setState('connecting');
    this.#credentials = params;
    try {
      const joined = await this.#join();
      this.#ticket = ticketOf(joined);
      this.#takeToken(joined.renewedToken);
      this.#setState('connected');
      this.#startPinging();
      return joined;
    } catch (error) {
      this.#finish('left');
      throw error;
    }
  }

  /**
   * Opens a socket to the session's host and connects; a node that says the host is another is
   * asked again. Without an answer to where the host is, the node the client was given: its
   * connect then reports what is wrong (token, session, network) exactly as it always has.
   */
  async #join(): Promise<SessionConnected> {
    for (let attempt = 1; ; attempt++) {
      const host = (await this.#locate()) ?? { url: this.#apiUrl, clustered: false };
      this.#attach(await this.#open(host.url));
      try {
        const joined = await this.request('connect', this.#connectParams());
        this.#host = host;
        return joined;
      } catch (error) {
        if (!(error instanceof ClientError && error.code === sessionElsewhereCode)) throw error;
        this.#logger.info(`the node did not host ${this.#credentials?.sessionId}: asking where it is again`);
        this.#detach();
        if (attempt >= maxConnectAttempts)
          throw new ClientError(clientErrorCodes.connectFailed, error.message, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
        if (!this.#isConnecting())
          throw new ClientError(clientErrorCodes.connectFailed, 'connect: the client was closed');
      }
    }
  }

  /** Lets go of the socket without the drop handling. */
  #detach(): void {
    const socket = this.#socket;
    this.#socket = null;
    if (!socket) return;
    socket.onclose = socket.onmessage = null;
    socket.close(signalingCloseCodes.normal);
  }

  /**
   * Sends a request and resolves with its result. While reconnecting, the request waits for the
   * resumed socket; once closed, it fails with 1010.
   */
  request<M extends ClientMethod>(
    method: M,
    params: ClientToServer[M]['params'],
  ): Promise<ClientToServer[M]['result']> {
    if (this.#state === 'closed' || this.#state === 'new') {
      return Promise.reject(ClientError.notConnected(method));
    }
    const id = this.#nextId++;
    const text = JSON.stringify({ id, method, params });
    return new Promise((resolve, reject) => {
      const pending: PendingRequest = {
        method,
        resolve: resolve as (result: unknown) => void,
        reject,
        timer: undefined,
      };
      this.#pending.set(id, pending);
      if (this.#state === 'reconnecting') this.#queued.push({ id, text });
      else this.#send(id, text);
    });
  }

  /** Leaves: closes the socket normally, which the server takes as a disconnect. Idempotent. */
  close(): void {
    this.#finish('left');
  }

  #send(id: number, text: string): void {
    const pending = this.#pending.get(id);
    if (!pending || !this.#socket) return;
    pending.timer = setTimeout(() => {
      this.#pending.delete(id);
      pending.reject(ClientError.timeout(pending.method));
    }, this.#options.requestTimeoutMs);
    this.#socket.send(text);
  }

  #connectParams(): ClientToServer['connect']['params'] {
    const { sessionId = '', token = '', apiKey = '' } = this.#credentials ?? {};
    return {
      protocolVersion: signalingProtocolVersion,
      sessionId,
      token,
      ...(apiKey ? { apiKey } : {}),
    };
  }

  /**
   * A cluster renewed the client's token: locating and joining the session again (when its node
   * goes) use it from now on, the token the client was given may have expired by then.
   */
  #takeToken(token: string | undefined): void {
    if (token !== undefined && this.#credentials) this.#credentials = { ...this.#credentials, token };
  }

  /** Asks where the session is hosted now; null without an answer. */
  #locate(): Promise<SessionHost | null> {
    const credentials = this.#credentials;
    if (!credentials) return Promise.resolve({ url: this.#apiUrl, clustered: false });
    return locateHost(
      this.#apiUrl,
      credentials.sessionId,
      credentials.token,
      this.#options.openTimeoutMs,
      this.#logger,
    );
  }

  /**
   * Opens a socket to the node at `host`; rejects with 1006 when it fails or takes longer than
   * the open timeout.
   */
  #open(host: string): Promise<WebSocket> {
    const url = signalingUrl(host);
    return new Promise((resolve, reject) => {
      let socket: WebSocket;
      try {
        socket = new WebSocket(url);
      } catch (error) {
        reject(new ClientError(clientErrorCodes.connectFailed, `cannot open ${url}`, { cause: error }));
        return;
      }
      const fail = (why: string): void => {
        clearTimeout(timer);
        socket.onopen = socket.onclose = socket.onerror = null;
        socket.close();
        reject(new ClientError(clientErrorCodes.connectFailed, `cannot reach ${url}: ${why}`));
      };
      const timer = setTimeout(() => {
        fail('timed out');
      }, this.#options.openTimeoutMs);
      socket.onopen = () => {
        clearTimeout(timer);
        socket.onopen = socket.onclose = socket.onerror = null;
        resolve(socket);
      };
      socket.onerror = () => {
        fail('the socket failed');
      };
    });
  }

  #attach(socket: WebSocket): void {
    this.#socket = socket;
    socket.onmessage = (message) => {
      if (typeof message.data === 'string') this.#receive(message.data);
    };
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#dropped(event.code);
    };
  }

  #receive(text: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      this.#logger.warn('ignored a signaling frame that is not JSON');
      return;
    }
    if ('event' in frame) {
      if (frame.seq <= this.#lastSeq) return;
      this.#lastSeq = frame.seq;
      this.#logger.debug('signaling event', frame.event, frame.data);
      if (frame.event === 'tokenRenewed') this.#takeToken(frame.data.token);
      this.safeEmit('event', frame);
      return;
    }
    if (frame.id === null) {
      this.#logger.warn('the server could not read a request', frame.ok ? '' : frame.error.message);
      return;
    }
    const pending = this.#pending.get(frame.id);
    if (!pending) return;
    this.#pending.delete(frame.id);
    clearTimeout(pending.timer);
    if (frame.ok) pending.resolve(frame.result);
    else pending.reject(new ClientError(frame.error.code, frame.error.message));
  }

  #dropped(code: number): void {
    this.#socket = null;
    this.#stopPinging();
    if (this.#state === 'reconnecting') {
      // The new socket dropped before the resume or join was answered: that attempt failed.
      this.#rejectInFlight((method) => new ClientError(clientErrorCodes.connectFailed, `${method}: dropped`));
      return;
    }
    const moved = code === signalingCloseCodes.moved;
    const ended =
      code === signalingCloseCodes.normal ||
      code === signalingCloseCodes.goingAway ||
      code === signalingCloseCodes.resumedElsewhere ||
      (moved && !this.#options.migrate);
    if (this.#state !== 'connected' || ended || !this.#ticket) {
      this.#finish(this.#state === 'connected' ? 'ended' : 'lost');
      return;
    }
    this.#logger.warn(
      moved
        ? 'the session moved to another node: joining it there'
        : `the signaling socket dropped (close code ${code}); resuming`,
    );
    // Requests in flight may or may not have reached the server: they fail rather than repeat.
    this.#rejectInFlight((method) => ClientError.notConnected(`${method} (the link dropped)`));
    this.#setState('reconnecting');
    this.safeEmit('reconnecting');
    if (moved) this.#startMigration();
    else this.#retry({ mode: 'resume', deadline: Date.now() + this.#ticket.graceMs, attempt: 0 });
  }

  /** Gives up the old connection: from now on the session is joined again, as a new connection. */
  #startMigration(): void {
    // The new connection's events are numbered from 1.
    this.#lastSeq = 0;
    this.#retry({ mode: 'migrate', deadline: Date.now() + this.#options.migrationTimeoutMs, attempt: 0 });
  }

  /** Schedules the next attempt, or gives up when it would come after the deadline. */
  #retry(reconnection: Reconnection): void {
    if (this.#state !== 'reconnecting') return;
    const delay = retryDelayMs(reconnection.attempt);
    if (Date.now() + delay >= reconnection.deadline) {
      this.#finish('lost');
      return;
    }
    this.#retryTimer = setTimeout(() => {
      void this.#reconnect(reconnection);
    }, delay);
  }

  /**
   * One attempt: asks where the session is, and resumes the connection there or, when migrating,
   * joins the session there. A resume finds the session on another node of a cluster, or refused
   * there: the client migrates (when it may).
   */
  async #reconnect(reconnection: Reconnection): Promise<void> {
    const next = (): void => {
      this.#retry({ ...reconnection, attempt: reconnection.attempt + 1 });
    };
    const resuming = reconnection.mode === 'resume';
    const located = await this.#locate();
    if (!this.#isReconnecting()) return;
    // Unanswered (the token may have expired since: a resume needs none), a resume is tried
    // where the connection was.
    const host = located ?? (resuming ? this.#host : null);
    if (host === null) {
      next();
      return;
    }
    if (resuming && this.#options.migrate && host.url !== this.#host?.url) {
      this.#logger.info(`the session is on ${host.url} now: joining it there`);
      this.#startMigration();
      return;
    }
    let socket: WebSocket;
    try {
      socket = await this.#open(host.url);
    } catch {
      next();
      return;
    }
    if (!this.#isReconnecting()) {
      socket.close(signalingCloseCodes.normal);
      return;
    }
    if (resuming) await this.#resumeOn(socket, host, next);
    else await this.#joinOn(socket, host, next);
  }

  async #resumeOn(socket: WebSocket, host: SessionHost, next: () => void): Promise<void> {
    const ticket = this.#ticket;
    if (!ticket) return;
    let result: ClientToServer['resume']['result'];
    try {
      result = await this.#handshake(socket, 'resume', {
        protocolVersion: signalingProtocolVersion,
        sessionId: ticket.sessionId,
        connectionId: ticket.connectionId,
        resumeSecret: ticket.secret,
        lastSeq: this.#lastSeq,
      });
    } catch (error) {
      if (!this.#isReconnecting()) return;
      const dropped = this.#socket !== socket;
      this.#detach();
      const code = error instanceof ClientError ? error.code : 0;
      if (dropped || code === clientErrorCodes.timeout) {
        next();
      } else if (this.#options.migrate && host.clustered) {
        this.#logger.info('the node no longer has the connection: joining the session again');
        this.#startMigration();
      } else if (code === clientErrorCodes.connectFailed) {
        next();
      } else {
        this.#logger.warn('the server refused to resume the connection', error);
        this.#finish('lost');
      }
      return;
    }
    this.#restored();
    this.safeEmit('reconnected', result);
  }

  async #joinOn(socket: WebSocket, host: SessionHost, next: () => void): Promise<void> {
    let joined: SessionConnected;
    try {
      joined = await this.#handshake(socket, 'connect', this.#connectParams());
    } catch (error) {
      if (!this.#isReconnecting()) return;
      this.#detach();
      if (error instanceof ClientError && retriableJoinCodes.has(error.code)) {
        next();
      } else {
        this.#logger.warn('the server refused to join the session again', error);
        this.#finish('lost');
      }
      return;
    }
    this.#host = host;
    this.#ticket = ticketOf(joined);
    this.#takeToken(joined.renewedToken);
    this.#logger.info(`joined ${joined.sessionId} again on ${host.url}`);
    this.#restored();
    this.safeEmit('migrated', joined);
  }

  /** Sends the request that brings the link back on a new socket, ahead of the queued ones. */
  #handshake<M extends 'resume' | 'connect'>(
    socket: WebSocket,
    method: M,
    params: ClientToServer[M]['params'],
  ): Promise<ClientToServer[M]['result']> {
    const id = this.#nextId++;
    const answered = new Promise<ClientToServer[M]['result']>((resolve, reject) => {
      this.#pending.set(id, {
        method,
        resolve: (result) => {
          resolve(result as ClientToServer[M]['result']);
        },
        reject,
        timer: undefined,
      });
    });
    this.#attach(socket);
    this.#send(id, JSON.stringify({ id, method, params }));
    return answered;
  }

  /** The link is back: the requests made meanwhile go out. */
  #restored(): void {
    this.#setState('connected');
    this.#startPinging();
    const queued = this.#queued;
    this.#queued = [];
    for (const { id, text } of queued) this.#send(id, text);
  }

  /** Read through a method: the state may have changed while the connect waited. */
  #isConnecting(): boolean {
    return this.#state === 'connecting';
  }

  /** Read through a method: the state may have changed while a resume was awaited. */
  #isReconnecting(): boolean {
    return this.#state === 'reconnecting';
  }

  #startPinging(): void {
    this.#pingTimer = setInterval(() => {
      this.request('ping', {}).catch((error: unknown) => {
        // No answer in time: the link is dead even if the socket has not noticed.
        if (error instanceof ClientError && error.code === clientErrorCodes.timeout) {
          this.#socket?.close(4000);
        }
      });
    }, this.#options.pingIntervalMs);
  }

  #stopPinging(): void {
    clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
  }

  /** Rejects the requests sent on the socket that is gone; queued ones wait for the next. */
  #rejectInFlight(errorFor: (method: ClientMethod) => ClientError): void {
    const queued = new Set(this.#queued.map(({ id }) => id));
    for (const [id, pending] of this.#pending) {
      if (queued.has(id)) continue;
      clearTimeout(pending.timer);
      this.#pending.delete(id);
      pending.reject(errorFor(pending.method));
    }
  }

  #finish(end: SignalingEnd): void {
    if (this.#state === 'closed') return;
    const wasOpen = this.#state !== 'new' && this.#state !== 'connecting';
    this.#setState('closed');
    this.#stopPinging();
    clearTimeout(this.#retryTimer);
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      socket.onclose = socket.onmessage = null;
      socket.close(signalingCloseCodes.normal);
    }
    this.#queued = [];
    this.#rejectInFlight((method) =>
      wasOpen
        ? ClientError.notConnected(method)
        : new ClientError(clientErrorCodes.connectFailed, `${method}: the signaling socket closed`),
    );
    if (wasOpen) this.safeEmit('closed', end);
  }

  #setState(state: SignalingState): void {
    if (state === this.#state) return;
    this.#logger.debug(`signaling ${this.#state} -> ${state}`);
    this.#state = state;
  }
}

function ticketOf(joined: SessionConnected): ResumeTicket {
  return {
    sessionId: joined.sessionId,
    connectionId: joined.connection.connectionId,
    secret: joined.resume.secret,
    graceMs: joined.resume.graceMs,
  };
}

/** The signaling socket's URL on the server at `apiUrl` (ws for http, wss for https). */
export function signalingUrl(apiUrl: string): string {
  const url = new URL(apiUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${signalingPath}`;
  url.search = url.hash = '';
  return url.href;
}
