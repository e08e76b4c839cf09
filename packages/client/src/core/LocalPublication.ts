import type { PublishParams, StreamInfo, UpdateStreamParams } from '@parlor/protocol';
import type { FrameProtection } from './e2ee/FrameEncryption.js';
import type { Logger } from './Logger.js';
import type { OpusSendOptions } from './opusParameters.js';
import { PeerTransport } from './PeerTransport.js';
import type { SignalingClient } from './SignalingClient.js';
import { TypedEmitter } from './TypedEmitter.js';
import type { VideoEncoding } from './videoEncodings.js';

/** Why a published stream ended, as the publisher is told (OpenTok's reasons, plus `unpublished`). */
export type PublicationEndReason =
  | 'unpublished'
  | 'clientDisconnected'
  | 'forceDisconnected'
  | 'forceUnpublished'
  | 'mediaStopped'
  | 'networkDisconnected';

export interface LocalPublicationOptions {
  readonly stream: StreamInfo;
  /** What the stream was announced with, to announce it again on the session's new node. */
  readonly params: PublishParams;
  /** What is sent; a track the publisher swaps in it goes to later subscribers too (see `replaceTrack`). */
  readonly media: MediaStream;
  /** How each peer connection sends the video (see `videoSendEncodings`). */
  readonly videoEncodings: readonly VideoEncoding[];
  /** What each peer connection asks of the audio encoder. Default: the browser's defaults. */
  readonly opus?: OpusSendOptions;
  readonly signaling: SignalingClient;
  readonly configuration: () => RTCConfiguration;
  readonly logger: Logger;
  /** End-to-end encrypted sessions: encrypts what each peer connection sends. Default: none. */
  readonly frames?: FrameProtection | undefined;
}

interface LocalPublicationEvents {
  /** A subscriber's peer connection was created; it is forgotten once closed. */
  subscriberAdded: [transport: PeerTransport];
  /** The stream ended; its peer connections are closed. */
  closed: [reason: PublicationEndReason];
  /** The session moved to another node, where the media goes on as a new stream of the client's new connection. */
  moved: [stream: StreamInfo];
}

/**
 * A stream this client publishes: its media and one sending peer connection per subscriber,
 * created when the server announces a subscription.
 */
export class LocalPublication extends TypedEmitter<LocalPublicationEvents> {
  #stream: StreamInfo;
  readonly #params: PublishParams;
  readonly #media: MediaStream;
  readonly #videoEncodings: readonly VideoEncoding[];
  readonly #opus: OpusSendOptions;
  readonly #signaling: SignalingClient;
  readonly #configuration: () => RTCConfiguration;
  readonly #logger: Logger;
  readonly #frames: FrameProtection | undefined;
  readonly #transports = new Map<string, PeerTransport>();
  #closed = false;

  constructor(options: LocalPublicationOptions) {
    super((event, error) => {
      options.logger.error(`a listener of the publication "${event}" event threw`, error);
    });
    this.#stream = options.stream;
    this.#params = options.params;
    this.#media = options.media;
    this.#videoEncodings = options.videoEncodings;
    this.#opus = options.opus ?? {};
    this.#signaling = options.signaling;
    this.#configuration = options.configuration;
    this.#logger = options.logger;
    this.#frames = options.frames;
  }

  get stream(): StreamInfo {
    return this.#stream;
  }

  get streamId(): string {
    return this.#stream.streamId;
  }

  /** What announcing the stream again takes: what it was announced with, as it is now. */
  get publishParams(): PublishParams {
    return { ...this.#params, hasAudio: this.#stream.hasAudio, hasVideo: this.#stream.hasVideo };
  }

  get transports(): readonly PeerTransport[] {
    return [...this.#transports.values()];
  }

  /**
   * Starts sending to a new subscriber: a peer connection that offers at once; `paused`: that
   * sends nothing until told (adaptive routing).
   */
  addSubscriber(subscriptionId: string, connectionId: string, paused = false): void {
    if (this.#closed || this.#transports.has(subscriptionId)) return;
    const transport = PeerTransport.createSender(
      {
        subscriptionId,
        remoteConnectionId: connectionId,
        configuration: this.#configuration(),
        signaling: this.#signaling,
        logger: this.#logger,
        frames: this.#frames,
      },
      this.#media,
      this.#videoEncodings,
      this.#opus,
      paused,
    );
    this.#transports.set(subscriptionId, transport);
    transport.on('closed', () => {
      this.#transports.delete(subscriptionId);
    });
    this.safeEmit('subscriberAdded', transport);
  }

  /** Sends the track in place of the one of its kind to every subscriber, without renegotiating. */
  async replaceTrack(track: MediaStreamTrack): Promise<void> {
    await Promise.all(this.transports.map((transport) => transport.replaceTrack(track)));
  }

  /**
   * Tells the others that audio or video was turned on or off (`videoReason` `quality` when the
   * publisher's audio fallback did it), or that the video's size changed.
   */
  async update(
    changes: Pick<UpdateStreamParams, 'hasAudio' | 'hasVideo' | 'videoReason' | 'videoDimensions'>,
  ): Promise<void> {
    const { videoReason: _reason, ...properties } = changes;
    this.#stream = { ...this.#stream, ...properties };
    if (this.#closed) return;
    await this.#signaling.request('updateStream', { streamId: this.streamId, ...changes });
  }

  /** The stream's properties changed on the server (a moderator muted it). */
  changed(changes: Partial<Pick<StreamInfo, 'hasAudio' | 'hasVideo'>>): void {
    this.#stream = { ...this.#stream, ...changes };
  }

  /**
   * The session moved to another node: the media goes on as `stream` there, a new stream of the
   * client's new connection, to the subscribers it will have there (those of the old node are gone).
   */
  moved(stream: StreamInfo): void {
    if (this.#closed) return;
    for (const transport of this.#transports.values()) transport.close();
    this.#transports.clear();
    this.#stream = stream;
    this.safeEmit('moved', stream);
  }

  /** Asks the server to end the stream; `mediaStopped` when the source went away. */
  async unpublish(reason: 'unpublished' | 'mediaStopped'): Promise<void> {
    if (this.#closed) return;
    this.close(reason);
    await this.#signaling.request('unpublish', {
      streamId: this.streamId,
      ...(reason === 'mediaStopped' ? { reason } : {}),
    });
  }

  /** Ends the stream locally: closes every peer connection. Idempotent. */
  close(reason: PublicationEndReason): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const transport of this.#transports.values()) transport.close();
    this.#transports.clear();
    this.safeEmit('closed', reason);
  }
}
