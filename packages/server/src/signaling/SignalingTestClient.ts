import { WebSocket } from 'ws';
import {
  signalingPath,
  signalingProtocolVersion,
  type ClientMethod,
  type ClientToServer,
  type EventFrame,
  type ResponseFrame,
  type ResumeParams,
  type ServerEvent,
  type ServerFrame,
  type ServerToClient,
  type SessionConnected,
  type WireError,
} from '@parlor/protocol';

/** An error answer to a request: OpenTok's code and the server's message. */
export class SignalingRequestError extends Error {
  override readonly name = 'SignalingRequestError';
  readonly code: number;

  constructor(method: string, error: WireError) {
    super(`${method} refused with ${error.code}: ${error.message}`);
    this.code = error.code;
  }
}

export interface SignalingTestClientOptions {
  /** How long `request`, `nextEvent` and `nextError` wait before they fail, in ms. Default: 5000. */
  readonly timeoutMs?: number;
  /** The `Origin` header to open the socket with, as a browser page would. Default: none. */
  readonly origin?: string;
}

interface Waiter<T> {
  readonly matches: (item: T) => boolean;
  readonly resolve: (item: T) => void;
}

/** A queue of what arrived, from which each item is taken once, by whoever waits for it first. */
class Inbox<T> {
  readonly #items: T[] = [];
  readonly #waiters: Waiter<T>[] = [];

  get items(): readonly T[] {
    return this.#items;
  }

  put(item: T): void {
    const index = this.#waiters.findIndex((waiter) => waiter.matches(item));
    if (index === -1) this.#items.push(item);
    else this.#waiters.splice(index, 1)[0]?.resolve(item);
  }

  take(matches: (item: T) => boolean, timeoutMs: number, what: string): Promise<T> {
    const index = this.#items.findIndex(matches);
    if (index !== -1) return Promise.resolve(this.#items.splice(index, 1)[0] as T);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const waiter: Waiter<T> = {
        matches,
        resolve: (item) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      this.#waiters.push(waiter);
    });
  }
}

/**
 * A Node client of the signaling protocol, for tests and load generators: typed requests,
 * events taken one by one in arrival order, raw frames for misbehaving on purpose.
 */
export class SignalingTestClient {
  readonly socket: WebSocket;
  /** `seq` of the last event received. */
  lastSeq = 0;
  /** The answer to `connect`, once connected. */
  session: SessionConnected | undefined;
  /** Resolves with the close code and reason when the socket closes. */
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #timeoutMs: number;
  readonly #events = new Inbox<EventFrame>();
  /** Error answers that name no request: to frames that could not be read. */
  readonly #errors = new Inbox<WireError>();
  readonly #pending = new Map<number, (frame: ResponseFrame) => void>();
  #nextId = 1;

  private constructor(socket: WebSocket, options: SignalingTestClientOptions) {
    this.socket = socket;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    // A socket error is followed by its close, which `closed` reports.
    socket.on('error', () => undefined);
    socket.on('message', (data: Buffer) => {
      this.#onFrame(JSON.parse(data.toString('utf8')) as ServerFrame);
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString('utf8') });
      });
    });
  }

  /** Opens a socket to the signaling endpoint of the server at `baseUrl` (http or https). */
  static async open(baseUrl: string, options: SignalingTestClientOptions = {}): Promise<SignalingTestClient> {
    const url = baseUrl.replace(/^http/, 'ws') + signalingPath;
    const socket = new WebSocket(url, options.origin === undefined ? {} : { origin: options.origin });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return new SignalingTestClient(socket, options);
  }

  /** Opens a socket and connects to the session with the token. */
  static async connect(
    baseUrl: string,
    sessionId: string,
    token: string,
    options: SignalingTestClientOptions = {},
  ): Promise<SignalingTestClient> {
    const client = await SignalingTestClient.open(baseUrl, options);
    client.session = await client.request('connect', {
      protocolVersion: signalingProtocolVersion,
      sessionId,
      token,
    });
    return client;
  }

  /** This client's connection ID, once connected. */
  get connectionId(): string {
    if (!this.session) throw new Error('not connected');
    return this.session.connection.connectionId;
  }

  /** What another socket needs to resume this client's connection where it stopped. */
  get resumeParams(): ResumeParams {
    if (!this.session) throw new Error('not connected');
    return {
      protocolVersion: signalingProtocolVersion,
      sessionId: this.session.sessionId,
      connectionId: this.session.connection.connectionId,
      resumeSecret: this.session.resume.secret,
      lastSeq: this.lastSeq,
    };
  }

  /** Sends a request; resolves with its result, rejects with a `SignalingRequestError`. */
  request<M extends ClientMethod>(
    method: M,
    params: ClientToServer[M]['params'],
  ): Promise<ClientToServer[M]['result']> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`timed out after ${this.#timeoutMs} ms waiting for the answer to ${method}`));
      }, this.#timeoutMs);
      this.#pending.set(id, (frame) => {
        clearTimeout(timer);
        if (frame.ok) resolve(frame.result);
        else reject(new SignalingRequestError(method, frame.error));
      });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Sends a frame as is. */
  sendRaw(frame: string | Buffer, options: { binary?: boolean } = {}): void {
    this.socket.send(frame, { binary: options.binary ?? false });
  }

  /** Takes the next event of this name (that matches, if given a test), waiting for it if need be. */
  async nextEvent<E extends ServerEvent>(
    event: E,
    matches: (data: ServerToClient[E]) => boolean = () => true,
  ): Promise<ServerToClient[E]> {
    const frame = await this.#events.take(
      (candidate) => candidate.event === event && matches(candidate.data as ServerToClient[E]),
      this.#timeoutMs,
      `event ${event}`,
    );
    return frame.data as ServerToClient[E];
  }

  /** The events received that nobody has taken yet, oldest first. */
  get untakenEvents(): readonly EventFrame[] {
    return this.#events.items;
  }

  /** Takes the next error answer to a frame that could not be read (its `id` is null). */
  nextError(): Promise<WireError> {
    return this.#errors.take(() => true, this.#timeoutMs, 'an error answer');
  }

  /** Closes the socket with the code and waits until it is closed. */
  async close(code = 1000): Promise<{ code: number; reason: string }> {
    this.socket.close(code);
    return this.closed;
  }

  /** Cuts the link without a closing handshake, as a network failure would. */
  drop(): Promise<{ code: number; reason: string }> {
    this.socket.terminate();
    return this.closed;
  }

  #onFrame(frame: ServerFrame): void {
    if ('event' in frame) {
      this.lastSeq = frame.seq;
      this.#events.put(frame);
      return;
    }
    if (frame.id === null) {
      if (!frame.ok) this.#errors.put(frame.error);
      return;
    }
    const settle = this.#pending.get(frame.id);
    this.#pending.delete(frame.id);
    settle?.(frame);
  }
}
