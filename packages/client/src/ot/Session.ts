import {
  signalProblem,
  errorCatalogue,
  type Capabilities,
  type ClientToServer,
  type ConnectionDestroyedReason,
  type ConnectionInfo,
  type StreamDestroyedReason,
  type StreamInfo,
  type StreamPropertyChanged,
} from '@parlor/protocol';
import { ClientError, clientErrorCodes } from '../core/ClientError.js';
import { FrameEncryption } from '../core/e2ee/FrameEncryption.js';
import { isValidSecret, secretLength } from '../core/e2ee/frameKeys.js';
import type { IceConfig } from '../core/iceConfig.js';
import { SessionEngine, type SessionEndReason, type SessionRequest } from '../core/SessionEngine.js';
import { Connection } from './Connection.js';
import { complete, type Completion, type OTContext } from './context.js';
import { OTError, toOTError } from './errors.js';
import { createEvent, type EventOf } from './OTEvent.js';
import { OTEventEmitter } from './OTEventEmitter.js';
import { Publisher, type PublisherProperties } from './Publisher.js';
import { Stream } from './Stream.js';
import { Subscriber, type SubscriberProperties } from './Subscriber.js';
import type { WidgetTarget } from './widget.js';

/** The options of `OT.initSession` this SDK honours. */
export interface SessionOptions {
  /** Base URL of the Parlor server. Default: the server the SDK script was loaded from. */
  readonly apiUrl?: string;
  /** STUN/TURN servers for peer connections. Default: the server's list. */
  readonly iceConfig?: IceConfig;
  /** The secret of an end-to-end encrypted session, 8 to 256 characters; see `setEncryptionSecret`. */
  readonly encryptionSecret?: string;
  /**
   * When the session's node of a cluster goes away (it died, drained or lost the session), join
   * the session again where it is placed now and publish again, between `sessionReconnecting`
   * and `sessionReconnected`; false ends the session with `serverRotation` (or
   * `networkDisconnected` when the node died). Default: true (OpenTok.js's is false: its
   * servers rotate rarely, a cluster's nodes may come and go).
   */
  readonly sessionMigration?: boolean;
}

/** A signal: its `type` is `signal:TYPE` for a typed signal, else `signal`; `from` is null from the REST API. */
export type SignalEvent = EventOf<string, { data: string; from: Connection | null }>;

export interface SessionEvents {
  sessionConnected: EventOf<'sessionConnected'>;
  /** Cancelable: the default destroys the session's publishers and subscribers. */
  sessionDisconnected: EventOf<'sessionDisconnected', { reason: SessionEndReason }>;
  sessionReconnecting: EventOf<'sessionReconnecting'>;
  sessionReconnected: EventOf<'sessionReconnected'>;
  connectionCreated: EventOf<'connectionCreated', { connection: Connection }>;
  connectionDestroyed: EventOf<
    'connectionDestroyed',
    { connection: Connection; reason: ConnectionDestroyedReason }
  >;
  streamCreated: EventOf<'streamCreated', { stream: Stream }>;
  /** Cancelable: the default destroys the stream's subscribers. */
  streamDestroyed: EventOf<'streamDestroyed', { stream: Stream; reason: StreamDestroyedReason }>;
  streamPropertyChanged: EventOf<
    'streamPropertyChanged',
    {
      stream: Stream;
      changedProperty: StreamPropertyChanged['changedProperty'];
      oldValue: unknown;
      newValue: unknown;
    }
  >;
  /** This client's audio was muted by a moderator. */
  muteForced: EventOf<'muteForced'>;
  /** An archive started recording the session; also on connect for an archive already running. */
  archiveStarted: EventOf<'archiveStarted', { id: string; name: string }>;
  archiveStopped: EventOf<'archiveStopped', { id: string }>;
  signal: SignalEvent;
  [typed: `signal:${string}`]: SignalEvent;
}

/** The completion of `signal`: an error with code 400, 404, 413 or 500, as OpenTok.js reports them. */
export interface SignalOptions {
  readonly type?: string;
  readonly data?: string;
  /** The one recipient; every connection, this one included, when absent. */
  readonly to?: Connection;
  /** Send signals made while reconnecting once reconnected, rather than fail them. Default: true. */
  readonly retryAfterReconnect?: boolean;
}

type Promised<Args extends unknown[], R> = ((...args: Args) => R) & {
  promise: (...args: Args) => Promise<void>;
};

/** OpenTok.js's Session: a connection to one session, its clients, streams and signals. */
export class Session extends OTEventEmitter<SessionEvents> {
  readonly sessionId: string;
  /** What this client's token allows, each 1 or 0; empty until connected. */
  readonly capabilities: Partial<Capabilities> = {};
  readonly #apiKey: string;
  readonly #context: OTContext;
  readonly #options: SessionOptions;
  #iceConfig: IceConfig | undefined;
  readonly #frames: FrameEncryption;
  /** `encryptionSecret` was given and is not a valid secret: connecting fails with 6004. */
  readonly #initialSecretInvalid: boolean;
  #engine: SessionEngine | undefined;
  #connection: Connection | undefined;
  readonly #connections = new Map<string, Connection>();
  readonly #streams = new Map<string, Stream>();
  readonly #publishers = new Set<Publisher>();
  readonly #subscribers = new Set<Subscriber>();

  /**
   * Joins the session with a token; `completion(error?)` follows `sessionConnected` and the events
   * of the connections and streams already there. Errors:
   * 1004 (token refused), 1005 (bad session ID), 1006 (cannot reach the server).
   */
  readonly connect: Promised<[token: string, completion?: Completion], void>;

  /** Publishes a publisher, or creates one first from a target and properties. */
  readonly publish: {
    (publisher: Publisher, completion?: Completion): Publisher;
    (target?: WidgetTarget, properties?: PublisherProperties, completion?: Completion): Publisher;
    promise(publisher: Publisher): Promise<void>;
  };

  /** Subscribes to another client's stream; `completion(error?)` follows once media flows. */
  readonly subscribe: {
    (
      stream: Stream,
      target?: WidgetTarget,
      properties?: SubscriberProperties,
      completion?: Completion,
    ): Subscriber;
    (stream: Stream, target: WidgetTarget, completion: Completion): Subscriber;
    promise(stream: Stream, target?: WidgetTarget, properties?: SubscriberProperties): Promise<void>;
  };

  /** @internal Use `OT.initSession`. */
  constructor(context: OTContext, apiKey: string, sessionId: string, options: SessionOptions = {}) {
    super(context.logger);
    this.#context = context;
    this.#apiKey = apiKey;
    this.sessionId = sessionId;
    this.#options = options;
    this.#iceConfig = options.iceConfig;
    this.#frames = new FrameEncryption(sessionId, context.logger);
    const secret = options.encryptionSecret;
    this.#initialSecretInvalid = secret !== undefined && !isValidSecret(secret);
    if (secret !== undefined && !this.#initialSecretInvalid) {
      this.#frames.setSecret(secret).catch((error: unknown) => {
        context.logger.error('the encryption key could not be derived', error);
      });
    }

    const connect = (token: string, completion?: Completion): void => {
      complete(this.#connect(token), completion);
    };
    this.connect = Object.assign(connect, { promise: (token: string) => this.#connect(token) });

    const publish = (...args: unknown[]): Publisher => {
      const { publisher, completion } = this.#publishArguments(args);
      complete(this.#publish(publisher), completion);
      return publisher;
    };
    this.publish = Object.assign(publish, {
      promise: (publisher: Publisher) => this.#publish(publisher),
    });

    const subscribe = (
      stream: Stream,
      target?: WidgetTarget,
      properties?: unknown,
      completion?: Completion,
    ) => {
      const props = typeof properties === 'function' ? {} : ((properties ?? {}) as SubscriberProperties);
      const done = typeof properties === 'function' ? (properties as Completion) : completion;
      return this.#subscribe(stream, target, props, done);
    };
    this.subscribe = Object.assign(subscribe, {
      promise: (stream: Stream, target?: WidgetTarget, properties: SubscriberProperties = {}) =>
        new Promise<void>((resolve, reject) => {
          this.#subscribe(stream, target, properties, (error) => {
            if (error) reject(error);
            else resolve();
          });
        }),
    });
  }

  /** This client's own connection while connected; null before and after, as OpenTok.js (pages test it). */
  get connection(): Connection | null {
    return this.#connection ?? null;
  }

  isConnected(): boolean {
    return this.#engine?.state === 'connected' || this.#engine?.state === 'reconnecting';
  }

  /** Leaves the session; `sessionDisconnected` follows with reason `clientDisconnected`. */
  disconnect(): void {
    this.#engine?.disconnect();
  }

  /** Ends the publisher's stream; the publisher gets `streamDestroyed` with reason `unpublished`. */
  unpublish(publisher: Publisher): void {
    publisher._unpublish();
  }

  /** Stops receiving the subscriber's stream and removes its element. */
  unsubscribe(subscriber: Subscriber): void {
    subscriber._destroy('unsubscribe');
  }

  /**
   * Sends a signal to one connection or to all. Errors go to the completion: 400 (bad type or
   * data), 404 (no such connection), 413 (too large), 500 (not connected).
   */
  signal(signal: SignalOptions, completion?: Completion): void {
    complete(this.#signal(signal), completion);
  }

  /** Ends another client's connection (moderators). Errors: 1010, 1520. */
  forceDisconnect(connection: Connection | string, completion?: Completion): void {
    const connectionId = typeof connection === 'string' ? connection : connection.connectionId;
    complete(this.#request('forceDisconnect', { connectionId }), completion);
  }

  /** Ends another client's stream (moderators). Errors: 1010, 1530, 1535. */
  forceUnpublish(stream: Stream | string, completion?: Completion): void {
    const streamId = typeof stream === 'string' ? stream : stream.streamId;
    complete(this.#request('forceUnpublish', { streamId }), completion);
  }

  /** Mutes one stream's audio (moderators). */
  forceMuteStream(stream: Stream | string): Promise<void> {
    return this.#request('forceMuteStream', {
      streamId: typeof stream === 'string' ? stream : stream.streamId,
    });
  }

  /** Mutes every stream but the excluded ones, and streams published later until `disableForceMute`. */
  forceMuteAll(excludedStreams: readonly Stream[] = []): Promise<void> {
    return this.#request('forceMuteAll', {
      excludedStreamIds: excludedStreams.map((stream) => stream.streamId),
    });
  }

  /** Lets streams published from now on keep their audio. */
  disableForceMute(): Promise<void> {
    return this.#request('disableForceMute', {});
  }

  /** The publisher of this client that publishes the stream, if any. */
  getPublisherForStream(stream: Stream): Publisher | undefined {
    return [...this.#publishers].find((publisher) => publisher.stream?.streamId === stream.streamId);
  }

  /** This client's subscribers to the stream. */
  getSubscribersForStream(stream: Stream): Subscriber[] {
    return [...this.#subscribers].filter((subscriber) => subscriber.stream.streamId === stream.streamId);
  }

  /** Which STUN/TURN servers peer connections made from now on use. */
  setIceConfig(iceConfig: IceConfig): void {
    this.#iceConfig = iceConfig;
    this.#engine?.setIceConfig(iceConfig);
  }

  /**
   * The secret this client encrypts its media with, and decrypts others' with, in an end-to-end
   * encrypted session; set it again to rotate: for a few seconds the previous secret still
   * decrypts. Rejects with 6004 (`OT_INVALID_ENCRYPTION_SECRET`) unless 8 to 256 characters.
   */
  async setEncryptionSecret(secret: string): Promise<void> {
    if (!isValidSecret(secret)) throw invalidSecret();
    await this.#frames.setSecret(secret);
  }

  /** @internal */
  _publisherDestroyed(publisher: Publisher): void {
    this.#publishers.delete(publisher);
  }

  /** @internal */
  _subscriberDestroyed(subscriber: Subscriber): void {
    this.#subscribers.delete(subscriber);
  }

  async #connect(token: string): Promise<void> {
    // A session disconnected may connect again, as OpenTok.js's (the samples' hang-up buttons do).
    if (this.#engine && this.#engine.state !== 'disconnected')
      throw new OTError('OT_INVALID_PARAMETER', 'connect was already called', 1011);
    if (this.#initialSecretInvalid) throw invalidSecret();
    const apiUrl = this.#options.apiUrl ?? this.#context.apiUrl;
    if (apiUrl === undefined) {
      throw new OTError('OT_INVALID_PARAMETER', 'no apiUrl: load the SDK from Parlor or pass apiUrl', 1011);
    }
    const engine = new SessionEngine({
      apiUrl,
      apiKey: this.#apiKey,
      sessionId: this.sessionId,
      iceConfig: this.#iceConfig,
      logger: this.#context.logger,
      frameEncryption: this.#frames,
      sessionMigration: this.#options.sessionMigration,
    });
    this.#engine = engine;
    this.#listen(engine);
    try {
      await engine.connect(token);
    } catch (error) {
      this.#engine = undefined;
      const failure = toOTError(error);
      this.#context.reportException(failure, this);
      throw failure;
    }
    const own = engine.connection as ConnectionInfo;
    this.#connection = new Connection(own);
    this.#connections.set(own.connectionId, this.#connection);
    Object.assign(this.capabilities, engine.capabilities);
    this.dispatch(createEvent('sessionConnected', this, {}));
    // At once, before any later event from the server can be handled: they may concern these.
    engine.announcePresent();
  }

  #listen(engine: SessionEngine): void {
    engine.on('connectionCreated', (info) => {
      const connection = new Connection(info);
      this.#connections.set(info.connectionId, connection);
      this.dispatch(createEvent('connectionCreated', this, { connection }));
    });
    engine.on('connectionDestroyed', (info, reason) => {
      const connection = this.#connections.get(info.connectionId) ?? new Connection(info);
      this.#connections.delete(info.connectionId);
      this.dispatch(createEvent('connectionDestroyed', this, { connection, reason }));
    });
    engine.on('streamCreated', (info) => {
      const stream = new Stream(info, this.#connectionOf(info));
      this.#streams.set(info.streamId, stream);
      this.dispatch(createEvent('streamCreated', this, { stream }));
    });
    engine.on('streamDestroyed', (info, reason) => {
      const stream = this.#streams.get(info.streamId) ?? new Stream(info, this.#connectionOf(info));
      this.#streams.delete(info.streamId);
      this.dispatch(createEvent('streamDestroyed', this, { stream, reason }, true), () => {
        for (const subscriber of this.getSubscribersForStream(stream)) subscriber._destroy(reason);
      });
    });
    engine.on('streamPropertyChanged', (change, info) => {
      const stream = this.#streams.get(info.streamId);
      if (!stream) return;
      stream._update(info);
      const { changedProperty, oldValue, newValue } = change;
      this.dispatch(
        createEvent('streamPropertyChanged', this, { stream, changedProperty, oldValue, newValue }),
      );
      if (change.changedProperty !== 'hasVideo') return;
      for (const subscriber of this.getSubscribersForStream(stream))
        subscriber._hasVideoChanged(change.newValue, change.reason ?? 'publishVideo');
    });
    engine.on('videoFallback', (transport, event) => {
      for (const subscriber of this.#subscribers) subscriber._videoFallback(transport, event);
    });
    engine.on('qualityScore', (transport, score) => {
      for (const subscriber of this.#subscribers) subscriber._qualityScore(transport, score);
      for (const publisher of this.#publishers) publisher._qualityScore(transport, score);
    });
    engine.on('mediaPathChanged', (transport, path, carrier) => {
      for (const subscriber of this.#subscribers) subscriber._mediaPathChanged(transport, path, carrier);
    });
    engine.on('decryption', (transport, matches) => {
      for (const subscriber of this.#subscribers) subscriber._decryption(transport, matches);
    });
    engine.on('signal', ({ from, type, data }) => {
      const sender = from === null ? null : (this.#connections.get(from) ?? null);
      // One event, typed `signal:TYPE` when the signal has a type: the generic `signal` handlers
      // get it first, then that type's.
      const event = createEvent(type === '' ? 'signal' : `signal:${type}`, this, { data, from: sender });
      this.dispatchTo('signal', event);
      if (type !== '') this.dispatch(event);
    });
    engine.on('muteForced', (publication) => {
      const publisher = [...this.#publishers].find(
        (candidate) => candidate.stream?.streamId === publication.streamId,
      );
      publisher?._muteForced();
      this.dispatch(createEvent('muteForced', this, {}));
    });
    engine.on('archiveStarted', ({ id, name }) => {
      this.dispatch(createEvent('archiveStarted', this, { id, name }));
    });
    engine.on('archiveStopped', (id) => {
      this.dispatch(createEvent('archiveStopped', this, { id }));
    });
    engine.on('reconnecting', () => {
      this.dispatch(createEvent('sessionReconnecting', this, {}));
    });
    engine.on('reconnected', () => {
      this.dispatch(createEvent('sessionReconnected', this, {}));
    });
    engine.on('migrated', () => {
      // A new connection of this client: the old one's are gone from the others' view, as theirs from this one's.
      if (this.#connection) this.#connections.delete(this.#connection.connectionId);
      const own = engine.connection as ConnectionInfo;
      this.#connection = new Connection(own);
      this.#connections.set(own.connectionId, this.#connection);
      Object.assign(this.capabilities, engine.capabilities);
      this.dispatch(createEvent('sessionReconnected', this, {}));
      engine.announcePresent();
    });
    engine.on('disconnected', (reason) => {
      this.#connection = undefined;
      this.#frames.stop();
      this.#connections.clear();
      this.#streams.clear();
      // Publishers are not destroyed here: each published one got its own streamDestroyed, whose
      // default destroys it; one the page kept (preventDefault) stays, to publish again.
      this.dispatch(createEvent('sessionDisconnected', this, { reason }, true), () => {
        for (const subscriber of [...this.#subscribers]) subscriber._destroy(reason);
      });
    });
  }

  #connectionOf(stream: StreamInfo): Connection {
    return (
      this.#connections.get(stream.connectionId) ??
      new Connection({ connectionId: stream.connectionId, creationTime: stream.creationTime, data: '' })
    );
  }

  #publishArguments(args: unknown[]): { publisher: Publisher; completion: Completion | undefined } {
    const [first, second, third] = args;
    if (first instanceof Publisher) {
      return {
        publisher: first,
        completion: typeof second === 'function' ? (second as Completion) : undefined,
      };
    }
    const properties = typeof second === 'object' && second !== null ? (second as PublisherProperties) : {};
    const completion = [second, third].find((arg) => typeof arg === 'function') as Completion | undefined;
    const publisher = new Publisher(this.#context, first as WidgetTarget, properties);
    return { publisher, completion };
  }

  async #publish(publisher: Publisher): Promise<void> {
    const engine = this.#engine;
    const connection = this.#connection;
    try {
      if (!engine || !connection || !this.isConnected()) throw ClientError.notConnected('publish');
      this.#publishers.add(publisher);
      await publisher._publish(this, engine, connection);
    } catch (error) {
      this.#publishers.delete(publisher);
      const failure = toOTError(error);
      this.#context.reportException(failure, this);
      throw failure;
    }
  }

  #subscribe(
    stream: Stream,
    target: WidgetTarget,
    properties: SubscriberProperties,
    completion: Completion | undefined,
  ): Subscriber {
    const engine = this.#engine;
    if (!engine || !this.isConnected()) {
      const error = toOTError(ClientError.notConnected('subscribe'));
      this.#context.reportException(error, this);
      throw error;
    }
    const subscriber = new Subscriber(this.#context, this, engine, stream, target, properties, completion);
    this.#subscribers.add(subscriber);
    return subscriber;
  }

  async #signal({ type = '', data = '', to, retryAfterReconnect = true }: SignalOptions): Promise<void> {
    const problem = signalProblem(type, data);
    if (problem) throw new OTError('OT_INVALID_PARAMETER', problem.detail, errorCatalogue[problem.id].status);
    if (!this.isConnected() || (!retryAfterReconnect && this.#engine?.state === 'reconnecting')) {
      throw new OTError('OT_NOT_CONNECTED', 'signal: not connected to the session', 500);
    }
    try {
      await this.#request('signal', { type, data, ...(to ? { to: to.connectionId } : {}) });
    } catch (error) {
      // OpenTok.js reports a signal that could not be sent as 500 (not connected).
      if (error instanceof OTError && error.code === clientErrorCodes.notConnected) {
        throw new OTError('OT_NOT_CONNECTED', error.message, 500);
      }
      throw error;
    }
  }

  async #request<M extends SessionRequest>(method: M, params: ClientToServer[M]['params']): Promise<void> {
    try {
      if (!this.#engine) throw ClientError.notConnected(method);
      await this.#engine.request(method, params);
    } catch (error) {
      throw toOTError(error);
    }
  }
}

function invalidSecret(): OTError {
  return new OTError(
    'OT_INVALID_ENCRYPTION_SECRET',
    `the encryption secret must be a string of ${secretLength.min} to ${secretLength.max} characters`,
    clientErrorCodes.invalidEncryptionSecret,
  );
}
