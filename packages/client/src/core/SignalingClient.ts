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
import { hostOf } from './connectionInfo.js';
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
}

const defaults = { requestTimeoutMs: 15_000, pingIntervalMs: 10_000, openTimeoutMs: 10_000 } as const;

/** A node refused the session as another node's: the client asks where it is again, this many times in all. */
const maxConnectAttempts = 3;
const sessionElsewhereCode: number = errorCatalogue.SESSION_ELSEWHERE.status;

/** Where the link is: reconnecting means the socket dropped and the connection is being resumed. */
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

/** Delay before the n-th resume attempt, in milliseconds: quick first, then backing off. */
const retryDelayMs = (attempt: number): number => Math.min(250 * 2 ** attempt, 2_000);

/**
 * Parlor's signaling link: one WebSocket carrying requests (each answered once, correlated by
 * id) and server events. When the socket drops, it resumes the same connection on a new socket
 * within the server's grace period, and the server replays the events it missed.
 */
export class SignalingClient extends TypedEmitter<SignalingEvents> {
  readonly #apiUrl: string;
  /** The session and token of the connection, for asking where its host is. */
  #credentials: { readonly sessionId: string; readonly token: string } | null = null;
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
    };
  }

  /** Opens the socket and joins the session; rejects with the server's error or 1006. */
  async connect(params: { sessionId: string; token: string; apiKey: string }): Promise<SessionConnected> {
    if (this.#state !== 'new') throw new ClientError(clientErrorCodes.connectFailed, 'already connecting');
    this.#setState('connecting');
    this.#credentials = { sessionId: params.sessionId, token: params.token };
    try {
      const joined = await this.#join(params);
      this.#ticket = {
        sessionId: joined.sessionId,
        connectionId: joined.connection.connectionId,
        secret: joined.resume.secret,
        graceMs: joined.resume.graceMs,
      };
      this.#setState('connected');
      this.#startPinging();
      return joined;
    } catch (error) {
      this.#finish('left');
      throw error;
    }
  }

  /** Opens a socket to the session's host and connects; a node that says the host is another is asked again. */
  async #join(params: { sessionId: string; token: string; apiKey: string }): Promise<SessionConnected> {
    for (let attempt = 1; ; attempt++) {
      this.#attach(await this.#open());
      try {
        return await this.request('connect', {
          protocolVersion: signalingProtocolVersion,
          sessionId: params.sessionId,
          token: params.token,
          ...(params.apiKey ? { apiKey: params.apiKey } : {}),
        });
      } catch (error) {
        if (!(error instanceof ClientError && error.code === sessionElsewhereCode)) throw error;
        this.#logger.info(`the node did not host ${params.sessionId}: asking where it is again`);
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

  /**
   * Opens a socket to the session's host; rejects with 1006 when it fails or takes longer than
   * the open timeout.
   */
  async #open(): Promise<WebSocket> {
    const credentials = this.#credentials;
    const host = credentials
      ? await hostOf(
          this.#apiUrl,
          credentials.sessionId,
          credentials.token,
          this.#options.openTimeoutMs,
          this.#logger,
        )
      : this.#apiUrl;
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
      // The new socket dropped before the resume was answered: that attempt failed.
      this.#rejectInFlight((method) => new ClientError(clientErrorCodes.connectFailed, `${method}: dropped`));
      return;
    }
    const ended =
      code === signalingCloseCodes.normal ||
      code === signalingCloseCodes.goingAway ||
      code === signalingCloseCodes.resumedElsewhere;
    if (this.#state !== 'connected' || ended || !this.#ticket) {
      this.#finish(this.#state === 'connected' ? 'ended' : 'lost');
      return;
    }
    this.#logger.warn(`the signaling socket dropped (close code ${code}); resuming`);
    // Requests in flight may or may not have reached the server: they fail rather than repeat.
    this.#rejectInFlight((method) => ClientError.notConnected(`${method} (the link dropped)`));
    this.#setState('reconnecting');
    this.safeEmit('reconnecting');
    this.#retry(this.#ticket, Date.now() + this.#ticket.graceMs, 0);
  }

  /** Schedules the next resume attempt, or gives up when it would come after the deadline. */
  #retry(ticket: ResumeTicket, deadline: number, attempt: number): void {
    if (this.#state !== 'reconnecting') return;
    const delay = retryDelayMs(attempt);
    if (Date.now() + delay >= deadline) {
      this.#finish('lost');
      return;
    }
    this.#retryTimer = setTimeout(() => {
      void this.#tryResume(ticket, deadline, attempt);
    }, delay);
  }

  async #tryResume(ticket: ResumeTicket, deadline: number, attempt: number): Promise<void> {
    let socket: WebSocket;
    try {
      socket = await this.#open();
    } catch {
      this.#retry(ticket, deadline, attempt + 1);
      return;
    }
    if (this.#state !== 'reconnecting') {
      socket.close(signalingCloseCodes.normal);
      return;
    }
    const id = this.#nextId++;
    const resumed = new Promise<ClientToServer['resume']['result']>((resolve, reject) => {
      this.#pending.set(id, {
        method: 'resume',
        resolve: (result) => {
          resolve(result as ClientToServer['resume']['result']);
        },
        reject,
        timer: undefined,
      });
    });
    this.#attach(socket);
    this.#send(
      id,
      JSON.stringify({
        id,
        method: 'resume',
        params: {
          protocolVersion: signalingProtocolVersion,
          sessionId: ticket.sessionId,
          connectionId: ticket.connectionId,
          resumeSecret: ticket.secret,
          lastSeq: this.#lastSeq,
        },
      }),
    );
    let result: ClientToServer['resume']['result'];
    try {
      result = await resumed;
    } catch (error) {
      const retriable =
        error instanceof ClientError &&
        (error.code === clientErrorCodes.connectFailed || error.code === clientErrorCodes.timeout);
      if (retriable && this.#isReconnecting()) {
        this.#socket?.close();
        this.#socket = null;
        this.#retry(ticket, deadline, attempt + 1);
      } else {
        this.#logger.warn('the server refused to resume the connection', error);
        this.#finish('lost');
      }
      return;
    }
    this.#setState('connected');
    this.#startPinging();
    const queued = this.#queued;
    this.#queued = [];
    for (const { id: queuedId, text } of queued) this.#send(queuedId, text);
    this.safeEmit('reconnected', result);
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

/** The signaling socket's URL on the server at `apiUrl` (ws for http, wss for https). */
export function signalingUrl(apiUrl: string): string {
  const url = new URL(apiUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${signalingPath}`;
  url.search = url.hash = '';
  return url.href;
}
