import type {
  ArchiveInfo,
  Capabilities,
  ClientToServer,
  ConnectionDestroyedReason,
  ConnectionInfo,
  EventFrame,
  MediaMode,
  MediaPath,
  PublishParams,
  ServerToClient,
  SessionConnected,
  StreamDestroyedReason,
  StreamInfo,
  StreamPropertyChanged,
  SubscribeParams,
  VideoFallbackEvent,
} from '@parlor/protocol';
import { ClientError, clientErrorCodes } from './ClientError.js';
import type { FrameEncryption } from './e2ee/FrameEncryption.js';
import { rtcConfiguration, type IceConfig } from './iceConfig.js';
import { LocalPublication } from './LocalPublication.js';
import { MediaPathSwitch } from './MediaPathSwitch.js';
import type { Logger } from './Logger.js';
import type { OpusSendOptions } from './opusParameters.js';
import { PeerTransport } from './PeerTransport.js';
import { SignalingClient, type SignalingEnd } from './SignalingClient.js';
import { clientPlatform, reportConnectFailure, sdkVersion, Telemetry } from './Telemetry.js';
import { TransportQuality, type QualityScore } from './TransportQuality.js';
import { TypedEmitter } from './TypedEmitter.js';
import type { VideoEncoding } from './videoEncodings.js';

export interface SessionEngineOptions {
  /** Base URL of the Parlor server. */
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly sessionId: string;
  /** Which ICE servers peer connections use. Default: the server's list. */
  readonly iceConfig?: IceConfig | undefined;
  readonly logger: Logger;
  /** Encrypts and decrypts media when the session is end-to-end encrypted. Default: none (such a session cannot publish). */
  readonly frameEncryption?: FrameEncryption | undefined;
  /**
   * Whether the client joins the session again where it is now when its node of a cluster goes
   * away or hands it over, and publishes again (OpenTok's `sessionMigration`). Default: true.
   */
  readonly sessionMigration?: boolean | undefined;
}

/**
 * Why this client's connection ended (OpenTok's `sessionDisconnected` reasons): `serverRotation`
 * when the session moved to another node and the client does not migrate.
 */
export type SessionEndReason =
  'clientDisconnected' | 'forceDisconnected' | 'networkDisconnected' | 'serverRotation';

/**
 * How long a peer connection to the router may take to connect before the server hears that the
 * client cannot reach the router, ms (a loaded machine's ICE-TCP fallback takes a few seconds).
 */
const routerCheckMs = 20_000;

/** The requests that need nothing but a connected session: signals and moderation. */
export type SessionRequest =
  'signal' | 'forceDisconnect' | 'forceUnpublish' | 'forceMuteStream' | 'forceMuteAll' | 'disableForceMute';

export type SessionEngineState = 'new' | 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/**
 * What a subscriber wants of a stream's video (routed sessions): the largest size and the frame
 * rate; null for no limit. Left out: unchanged (none, when subscribing).
 */
export type VideoPreferenceChanges = Omit<SubscribeParams, 'streamId'>;

interface SessionEngineEvents {
  /** Another client joined (also once per client present at connect time, after `connect`). */
  connectionCreated: [connection: ConnectionInfo];
  connectionDestroyed: [connection: ConnectionInfo, reason: ConnectionDestroyedReason];
  /** Another client's stream (never this client's own). */
  streamCreated: [stream: StreamInfo];
  streamDestroyed: [stream: StreamInfo, reason: StreamDestroyedReason];
  streamPropertyChanged: [change: StreamPropertyChanged, stream: StreamInfo];
  signal: [signal: ServerToClient['signal']];
  /** A moderator muted the audio of one of this client's streams. */
  muteForced: [publication: LocalPublication];
  /**
   * Routed sessions: the router stopped or restarted the video of one of this client's
   * subscriptions because of its link (subscriber audio fallback), or warned it might.
   */
  videoFallback: [transport: PeerTransport, event: VideoFallbackEvent];
  /** A publishing or subscribing transport's quality scores changed (every 2 s at most). */
  qualityScore: [transport: PeerTransport, score: QualityScore];
  /**
   * Adaptive routing: a subscription plays from another path now (the router's, or straight from
   * the publisher), over `carrier`; `transport` is the subscription's own.
   */
  mediaPathChanged: [transport: PeerTransport, path: MediaPath, carrier: PeerTransport];
  /** End-to-end encrypted sessions: a subscription's media started or stopped opening with this client's secret. */
  decryption: [transport: PeerTransport, matches: boolean];
  /** An archive started recording the session (also once per archive running at connect time). */
  archiveStarted: [archive: ArchiveInfo];
  archiveStopped: [archiveId: string];
  reconnecting: [];
  reconnected: [];
  /**
   * The session was joined again as a new connection on the node hosting it now (after the
   * `streamDestroyed` and `connectionDestroyed` of everything the old one knew); the
   * publications are being published again, each telling `moved`.
   */
  migrated: [];
  /** The connection ended; every publication and subscription has been closed. */
  disconnected: [reason: SessionEndReason];
}

/**
 * A client's presence in one session, independent of any facade: the signaling link, the
 * session's connections and streams as the server reports them, the streams this client
 * publishes and the peer transports of its subscriptions, with negotiation routed to them.
 */
export class SessionEngine extends TypedEmitter<SessionEngineEvents> {
  readonly sessionId: string;
  readonly #apiKey: string;
  readonly #apiUrl: string;
  readonly #logger: Logger;
  readonly #signaling: SignalingClient;
  readonly #frameEncryption: FrameEncryption | undefined;
  readonly #migrates: boolean;
  #iceConfig: IceConfig | undefined;
  #state: SessionEngineState = 'new';
  #joined: SessionConnected | null = null;
  readonly #streams = new Map<string, StreamInfo>();
  /** The other connections in the session. */
  readonly #connections = new Map<string, ConnectionInfo>();
  readonly #publications = new Map<string, LocalPublication>();
  /** Every live peer transport by subscription, publishing and subscribing alike. */
  readonly #transports = new Map<string, PeerTransport>();
  /** The stream each live transport carries. */
  readonly #transportStreams = new Map<PeerTransport, string>();
  /** What this client tells the session's Inspector. */
  readonly telemetry: Telemetry;
  /** Adaptive routing: each subscription's choice of path, by its subscription ID. */
  readonly #paths = new Map<string, MediaPathSwitch>();
  /** Why the server ended the connection, when it said so before closing the socket. */
  #serverEndReason: SessionEndReason | null = null;

  constructor(options: SessionEngineOptions) {
    super((event, error) => {
      options.logger.error(`a listener of the session "${event}" event threw`, error);
    });
    this.sessionId = options.sessionId;
    this.#apiKey = options.apiKey;
    this.#apiUrl = options.apiUrl;
    this.#iceConfig = options.iceConfig;
    this.#logger = options.logger;
    this.#frameEncryption = options.frameEncryption;
    this.#migrates = options.sessionMigration ?? true;
    this.#frameEncryption?.on('decryption', (subscriptionId, matches) => {
      const transport = this.#transports.get(subscriptionId);
      if (transport) this.safeEmit('decryption', transport, matches);
    });
    this.#signaling = new SignalingClient({
      apiUrl: options.apiUrl,
      logger: options.logger,
      migrate: this.#migrates,
    });
    this.telemetry = new Telemetry({
      send: (records) => this.#signaling.request('telemetry', { records }),
    });
    this.#signaling.on('event', (frame) => {
      this.#onEvent(frame);
    });
    this.#signaling.on('reconnecting', () => {
      this.telemetry.event('reconnecting', {});
      this.#setState('reconnecting');
      this.safeEmit('reconnecting');
    });
    this.#signaling.on('reconnected', ({ iceServers }) => {
      // TURN credentials may have expired while the link was down: later peer connections use fresh ones.
      if (this.#joined) this.#joined = { ...this.#joined, iceServers };
      this.#setState('connected');
      this.telemetry.event('reconnected', {});
      this.safeEmit('reconnected');
    });
    this.#signaling.on('migrated', (joined) => {
      this.#migrated(joined);
    });
    this.#signaling.on('closed', (end) => {
      this.#end(end);
    });
  }

  get state(): SessionEngineState {
    return this.#state;
  }

  /** This client's own connection, once connected. */
  get connection(): ConnectionInfo | null {
    return this.#joined?.connection ?? null;
  }

  get capabilities(): Capabilities | null {
    return this.#joined?.capabilities ?? null;
  }

  /** Whether the session's media goes peer to peer or through the Media Router, once connected. */
  get mediaMode(): MediaMode | null {
    return this.#joined?.mediaMode ?? null;
  }

  /** Whether the session's media is end-to-end encrypted, once connected. */
  get e2ee(): boolean {
    return this.#joined?.e2ee ?? false;
  }

  /**
   * Joins the session. The connections, streams and archives already there are reported by
   * `connectionCreated`, `streamCreated` and `archiveStarted` events once `announcePresent()` is called, so that
   * a facade can announce the connection itself first.
   */
  async connect(token: string): Promise<void> {
    if (this.#state !== 'new')
      throw new ClientError(clientErrorCodes.connectFailed, 'connect was already called');
    this.#setState('connecting');
    const startedAt = Date.now();
    try {
      this.#joined = await this.#signaling.connect({
        sessionId: this.sessionId,
        token,
        apiKey: this.#apiKey,
      });
    } catch (error) {
      this.#setState('disconnected');
      this.telemetry.close();
      reportConnectFailure({
        apiUrl: this.#apiUrl,
        apiKey: this.#apiKey,
        sessionId: this.sessionId,
        token,
        code: error instanceof ClientError ? error.code : clientErrorCodes.connectFailed,
        message: error instanceof Error ? error.message : String(error),
        ms: Date.now() - startedAt,
        ...clientPlatform(typeof navigator === 'undefined' ? '' : navigator.userAgent),
        sdkVersion,
      });
      throw error;
    }
    this.#setState('connected');
    this.telemetry.event('connect', {
      ok: true,
      ms: Date.now() - startedAt,
      ...clientPlatform(typeof navigator === 'undefined' ? '' : navigator.userAgent),
      sdkVersion,
      mediaMode: this.#joined.mediaMode,
    });
    this.telemetry.active = true;
    this.#logger.info(`connected to ${this.sessionId} as ${this.#joined.connection.connectionId}`);
  }

  /** Emits `connectionCreated`, `streamCreated` and `archiveStarted` for what was in the session when it joined. */
  announcePresent(): void {
    const joined = this.#joined;
    if (!joined) return;
    const own = joined.connection.connectionId;
    for (const connection of joined.connections) {
      if (connection.connectionId !== own) this.#connectionCreated(connection);
    }
    for (const stream of joined.streams) {
      if (stream.connectionId !== own) this.#streamCreated(stream);
    }
    for (const archive of joined.archives) this.safeEmit('archiveStarted', archive);
  }

  /**
   * Announces a stream and returns its publication, which then serves each subscriber with the
   * video in these encodings and the audio as `opus` asks.
   */
  async publish(
    media: MediaStream,
    params: PublishParams,
    videoEncodings: readonly VideoEncoding[],
    opus: OpusSendOptions = {},
  ): Promise<LocalPublication> {
    this.#assertConnected('publish');
    const frames = this.#frames();
    if (this.e2ee) {
      if (!frames?.api)
        throw new ClientError(
          clientErrorCodes.unableToPublish,
          'this browser cannot encrypt media end to end',
        );
      if (!frames.hasSecret) {
        throw new ClientError(
          clientErrorCodes.encryptionSecretMissing,
          'the session is end-to-end encrypted: set an encryption secret before publishing',
        );
      }
      await frames.ready();
    }
    const { stream } = await this.#attempt('publish', undefined, this.#signaling.request('publish', params));
    const publication = new LocalPublication({
      stream,
      params,
      media,
      videoEncodings,
      opus,
      signaling: this.#signaling,
      configuration: () => this.#rtcConfiguration(),
      logger: this.#logger,
      frames,
    });
    this.#publications.set(stream.streamId, publication);
    publication.on('subscriberAdded', (transport) => {
      this.#route(transport, stream.streamId, params.frameRate);
      if (transport.remoteConnectionId === 'router') this.#reportRouterFailure(transport);
    });
    publication.on('closed', () => {
      this.#publications.delete(publication.streamId);
    });
    return publication;
  }

  /**
   * Subscribes to a stream: a receiving peer transport, negotiating once the
   * publisher offers. The video preferences matter in routed sessions.
   */
  async subscribe(streamId: string, preferences: VideoPreferenceChanges = {}): Promise<PeerTransport> {
    this.#assertConnected('subscribe');
    // Its own stream too: routed sessions send it back through the router (as OpenTok's
    // `testNetwork`, which the pre-call network test uses); relayed ones refuse.
    const stream = this.#streams.get(streamId) ?? this.#publications.get(streamId)?.stream;
    if (!stream)
      throw new ClientError(clientErrorCodes.unableToSubscribe, `no stream ${streamId} in the session`);
    // The key first: frames that come before it would not open, and read as the wrong secret.
    await this.#frames()
      ?.ready()
      .catch(() => undefined);
    const { subscriptionId } = await this.#attempt(
      'subscribe',
      streamId,
      this.#signaling.request('subscribe', { streamId, ...preferences }),
    );
    const transport = PeerTransport.createReceiver({
      subscriptionId,
      remoteConnectionId: stream.connectionId,
      configuration: this.#rtcConfiguration(),
      signaling: this.#signaling,
      logger: this.#logger,
      frames: this.#frames(),
    });
    this.#route(transport, streamId, stream.frameRate);
    if (this.mediaMode === 'routed') this.#reportRouterFailure(transport);
    return transport;
  }

  /** Changes what a subscription wants of the stream's video. */
  async updateSubscription(transport: PeerTransport, changes: VideoPreferenceChanges): Promise<void> {
    this.#assertConnected('updateSubscription');
    await this.#signaling.request('updateSubscription', {
      subscriptionId: transport.subscriptionId,
      ...changes,
    });
  }

  /** Stops receiving: closes the transport and tells the server. */
  unsubscribe(transport: PeerTransport): void {
    if (transport.closed) return;
    transport.close();
    if (this.#state !== 'connected' && this.#state !== 'reconnecting') return;
    this.#signaling
      .request('unsubscribe', { subscriptionId: transport.subscriptionId })
      .catch((error: unknown) => {
        this.#logger.debug('unsubscribe was not acknowledged', error);
      });
  }

  /** Sends a signal or a moderation request. */
  request<M extends SessionRequest>(
    method: M,
    params: ClientToServer[M]['params'],
  ): Promise<ClientToServer[M]['result']> {
    if (this.#state !== 'connected' && this.#state !== 'reconnecting') {
      return Promise.reject(ClientError.notConnected(method));
    }
    return this.#signaling.request(method, params);
  }

  /** Which ICE servers later peer connections use. */
  setIceConfig(iceConfig: IceConfig): void {
    this.#iceConfig = iceConfig;
  }

  /** Leaves the session. Idempotent; `disconnected` follows with `clientDisconnected`. */
  disconnect(): void {
    // What waits goes out before the socket closes.
    this.telemetry.flush();
    this.#signaling.close();
  }

  #rtcConfiguration(): RTCConfiguration {
    const configuration = rtcConfiguration(this.#joined?.iceServers ?? [], this.#iceConfig);
    return this.#frames()?.configure(configuration) ?? configuration;
  }

  /** The frame encryption, in an end-to-end encrypted session. */
  #frames(): FrameEncryption | undefined {
    return this.e2ee ? this.#frameEncryption : undefined;
  }

  /** Tells the Inspector how an attempt went: success, or failure with its code. */
  async #attempt<T>(
    type: 'publish' | 'subscribe',
    streamId: string | undefined,
    attempt: Promise<T>,
  ): Promise<T> {
    try {
      const result = await attempt;
      const id = streamId ?? (result as { stream?: StreamInfo }).stream?.streamId;
      this.telemetry.event(type, { ok: true }, id);
      return result;
    } catch (error) {
      const code = error instanceof ClientError ? error.code : null;
      const message = error instanceof Error ? error.message.slice(0, 200) : null;
      this.telemetry.event(type, { ok: false, code, message }, streamId);
      throw error;
    }
  }

  #route(transport: PeerTransport, streamId: string, frameRate: number | undefined): void {
    this.#transports.set(transport.subscriptionId, transport);
    this.#transportStreams.set(transport, streamId);
    const quality = new TransportQuality({
      transport,
      streamId,
      telemetry: this.telemetry,
      ...(frameRate === undefined ? {} : { targetFrameRate: frameRate }),
    });
    quality.on('score', (score) => {
      this.safeEmit('qualityScore', transport, score);
    });
    transport.on('closed', () => {
      quality.close();
      this.#transports.delete(transport.subscriptionId);
      this.#transportStreams.delete(transport);
    });
  }

  /**
   * Routed sessions: tells the server when a peer connection to the router fails, or is not
   * connected `routerCheckMs` after it was made, so that a client that cannot reach the router
   * shows in the media stats, metrics and Inspector (under adaptive routing its media may still
   * go peer to peer, and nothing else would say so; ICE may take long to give up, or never).
   */
  #reportRouterFailure(transport: PeerTransport): void {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const done = (): void => {
      if (timer) clearTimeout(timer);
      timer = null;
      transport.off('stateChanged', changed);
    };
    const report = (): void => {
      done();
      this.#signaling
        .request('mediaPathFailed', { subscriptionId: transport.subscriptionId, path: 'routed' })
        .catch((error: unknown) => {
          this.#logger.debug('the unreachable router was not acknowledged', error);
        });
    };
    const changed = (state: string): void => {
      if (state === 'connected') done();
      else if (state === 'failed') report();
    };
    transport.on('stateChanged', changed);
    transport.on('closed', done);
    timer = setTimeout(report, routerCheckMs);
  }

  /** The subscription's path switch, made on first use; undefined for a subscription that is not this client's. */
  #pathSwitch(subscriptionId: string, streamId: string): MediaPathSwitch | undefined {
    const existing = this.#paths.get(subscriptionId);
    if (existing) return existing;
    const routed = this.#transports.get(subscriptionId);
    if (routed?.role !== 'receiver') return undefined;
    const paths = new MediaPathSwitch({
      routed,
      createDirect: (directId) => {
        const direct = PeerTransport.createReceiver({
          subscriptionId: directId,
          remoteConnectionId: routed.remoteConnectionId,
          configuration: this.#rtcConfiguration(),
          signaling: this.#signaling,
          logger: this.#logger,
          frames: this.#frames(),
        });
        this.#route(direct, streamId, this.#streams.get(streamId)?.frameRate);
        return direct;
      },
      playing: async (path) => {
        await this.#signaling.request('mediaPathPlaying', { subscriptionId, path });
      },
      failed: async (path) => {
        await this.#signaling.request('mediaPathFailed', { subscriptionId, path });
      },
      carries: () => {
        const stream = this.#streams.get(streamId);
        return { video: stream?.hasVideo ?? true, audio: stream?.hasAudio ?? true };
      },
      logger: this.#logger,
    });
    paths.on('switched', (path, carrier) => {
      this.safeEmit('mediaPathChanged', routed, path, carrier);
    });
    routed.on('closed', () => {
      paths.close();
      this.#paths.delete(subscriptionId);
    });
    this.#paths.set(subscriptionId, paths);
    return paths;
  }

  #onEvent(frame: EventFrame): void {
    switch (frame.event) {
      case 'connectionCreated':
        this.#connectionCreated(frame.data.connection);
        break;
      case 'connectionDestroyed':
        this.#connections.delete(frame.data.connection.connectionId);
        this.safeEmit('connectionDestroyed', frame.data.connection, frame.data.reason);
        break;
      case 'streamCreated':
        this.#streamCreated(frame.data.stream);
        break;
      case 'streamDestroyed':
        this.#streamDestroyed(frame.data.stream, frame.data.reason);
        break;
      case 'streamPropertyChanged':
        this.#streamPropertyChanged(frame.data);
        break;
      case 'signal':
        this.safeEmit('signal', frame.data);
        break;
      case 'muteForced': {
        const publication = this.#publications.get(frame.data.streamId);
        if (!publication) break;
        publication.changed({ hasAudio: false });
        this.safeEmit('muteForced', publication);
        break;
      }
      case 'forceMuteChanged':
        // Streams published while it is on arrive muted (`hasAudio` false): nothing to do here.
        this.#logger.info(`session-wide mute ${frame.data.active ? 'on' : 'off'}`);
        break;
      case 'archiveStarted':
        this.safeEmit('archiveStarted', frame.data);
        break;
      case 'archiveStopped':
        this.safeEmit('archiveStopped', frame.data.id);
        break;
      case 'sessionDisconnected':
        // A client that migrates joins the session again rather than end.
        if (frame.data.reason !== 'serverRotation' || !this.#migrates)
          this.#serverEndReason = frame.data.reason;
        break;
      case 'subscriptionCreated':
        this.#publications
          .get(frame.data.streamId)
          ?.addSubscriber(frame.data.subscriptionId, frame.data.subscriber, frame.data.paused ?? false);
        break;
      case 'sendPath':
        this.#transports
          .get(frame.data.subscriptionId)
          ?.setSending(frame.data.send)
          .catch((error: unknown) => {
            this.#logger.warn('the media path could not be paused or resumed', error);
          });
        break;
      case 'mediaPath':
        this.#pathSwitch(frame.data.subscriptionId, frame.data.streamId)?.setPath(
          frame.data.path,
          frame.data.directSubscriptionId,
        );
        break;
      case 'encodingsChanged':
        this.#transports
          .get(frame.data.subscriptionId)
          ?.setActiveEncodings(frame.data.encodings)
          .catch((error: unknown) => {
            this.#logger.warn('the encodings the router asked for could not be set', error);
          });
        break;
      case 'videoFallback': {
        const transport = this.#transports.get(frame.data.subscriptionId);
        if (!transport) break;
        this.telemetry.event(frame.data.event, { reason: 'quality' }, this.#transportStreams.get(transport));
        this.safeEmit('videoFallback', transport, frame.data.event);
        break;
      }
      case 'subscriptionDestroyed':
        this.#transports.get(frame.data.subscriptionId)?.close();
        break;
      case 'offer':
      case 'answer':
        void this.#transports.get(frame.data.subscriptionId)?.handleDescription(frame.event, frame.data.sdp);
        break;
      case 'iceCandidate':
        void this.#transports.get(frame.data.subscriptionId)?.handleCandidate(frame.data.candidate);
        break;
    }
  }

  #connectionCreated(connection: ConnectionInfo): void {
    this.#connections.set(connection.connectionId, connection);
    this.safeEmit('connectionCreated', connection);
  }

  /**
   * Joined again on the session's new node: nothing of the old node goes on. Every peer
   * connection closes; the others' streams and connections end for this client (they come
   * back as new ones, as their clients join again); then this client's streams are published
   * again, as new streams of its new connection.
   */
  #migrated(joined: SessionConnected): void {
    for (const transport of [...this.#transports.values()]) transport.close();
    for (const stream of [...this.#streams.values()]) this.#streamDestroyed(stream, 'networkDisconnected');
    for (const connection of [...this.#connections.values()]) {
      this.#connections.delete(connection.connectionId);
      this.safeEmit('connectionDestroyed', connection, 'networkDisconnected');
    }
    this.#joined = joined;
    this.#serverEndReason = null;
    this.#setState('connected');
    this.#logger.info(`joined ${this.sessionId} again as ${joined.connection.connectionId}`);
    this.safeEmit('migrated');
    for (const publication of [...this.#publications.values()]) void this.#republish(publication);
  }

  async #republish(publication: LocalPublication): Promise<void> {
    const previous = publication.streamId;
    try {
      const { stream } = await this.#signaling.request('publish', publication.publishParams);
      if (this.#publications.get(previous) !== publication) return;
      this.#publications.delete(previous);
      this.#publications.set(stream.streamId, publication);
      publication.moved(stream);
    } catch (error) {
      this.#logger.warn(`stream ${previous} could not be published again`, error);
      publication.close('networkDisconnected');
    }
  }

  #streamCreated(stream: StreamInfo): void {
    this.#streams.set(stream.streamId, stream);
    this.safeEmit('streamCreated', stream);
  }

  #streamDestroyed(stream: StreamInfo, reason: StreamDestroyedReason): void {
    const publication = this.#publications.get(stream.streamId);
    if (publication) {
      // This client's own stream, ended by a moderator: only the publication is told.
      publication.close(reason);
      return;
    }
    this.#streams.delete(stream.streamId);
    this.safeEmit('streamDestroyed', stream, reason);
  }

  #streamPropertyChanged(change: StreamPropertyChanged): void {
    const stream = this.#streams.get(change.streamId);
    if (!stream) return;
    const updated = { ...stream, [change.changedProperty]: change.newValue };
    this.#streams.set(stream.streamId, updated);
    this.safeEmit('streamPropertyChanged', change, updated);
  }

  #end(end: SignalingEnd): void {
    if (this.#state === 'disconnected') return;
    const reason: SessionEndReason =
      end === 'left' ? 'clientDisconnected' : (this.#serverEndReason ?? 'networkDisconnected');
    this.#setState('disconnected');
    // OpenTok's streams have no `serverRotation` end: theirs ended with the link.
    const streamEnd = reason === 'serverRotation' ? 'networkDisconnected' : reason;
    for (const publication of [...this.#publications.values()]) publication.close(streamEnd);
    for (const transport of [...this.#transports.values()]) transport.close();
    this.telemetry.close();
    this.#streams.clear();
    this.#connections.clear();
    this.#logger.info(`disconnected from ${this.sessionId}: ${reason}`);
    this.safeEmit('disconnected', reason);
  }

  #assertConnected(operation: string): void {
    if (this.#state !== 'connected' && this.#state !== 'reconnecting')
      throw ClientError.notConnected(operation);
  }

  #setState(state: SessionEngineState): void {
    if (state === this.#state) return;
    this.#logger.debug(`session ${this.#state} -> ${state}`);
    this.#state = state;
  }
}
