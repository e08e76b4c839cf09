import type { PeerTransport } from '../core/PeerTransport.js';
import type { Telemetry } from '../core/Telemetry.js';
import type { QualityScore } from '../core/TransportQuality.js';
import type { PublishParams, StreamInfo } from '@parlor/protocol';
import { ClientError, clientErrorCodes } from '../core/ClientError.js';
import { DefaultMicrophone } from '../core/DefaultMicrophone.js';
import {
  BackgroundFilter,
  BackgroundImageError,
  hasBackgroundFilterSupport,
} from '../core/filters/BackgroundFilter.js';
import {
  hasNoiseSuppressionSupport,
  NoiseSuppression,
  parseAudioFilter,
  type AudioFilter,
} from '../core/filters/NoiseSuppression.js';
import { parseVideoFilter, type VideoFilter } from '../core/filters/videoFilter.js';
import type { LocalPublication, PublicationEndReason } from '../core/LocalPublication.js';
import {
  acquireMedia,
  acquireTrack,
  defaultFrameRate,
  isScreenSource,
  type MediaOptions,
} from '../core/localMedia.js';
import { clampAudioBitrate } from '../core/opusParameters.js';
import {
  PublisherFallback,
  type PublisherFallbackRecord,
  type PublisherFallbackStats,
} from '../core/PublisherFallback.js';
import {
  hasMediaProcessorSupport,
  PublisherTracks,
  type MediaProcessorConnector,
  type TrackKind,
} from '../core/PublisherTracks.js';
import type { SessionEngine } from '../core/SessionEngine.js';
import { isScalable, videoSendEncodings } from '../core/videoEncodings.js';
import { AudioLevelSampler, localTrackLevel } from './AudioLevelSampler.js';
import { newId, type Completion, type OTContext } from './context.js';
import { invalidParameter, notSupported, toOTError, type OTError } from './errors.js';
import { createEvent, type EventOf } from './OTEvent.js';
import { OTEventEmitter } from './OTEventEmitter.js';
import type { Session } from './Session.js';
import { Stream } from './Stream.js';
import { AudioLevelDisplay, VideoWidget, type WidgetOptions, type WidgetTarget } from './widget.js';

/** The properties of `OT.initPublisher` this SDK honours (client-api.md §1.3). */
export interface PublisherProperties extends WidgetOptions, MediaOptions {
  /** Send audio from the start. Default: true. */
  readonly publishAudio?: boolean;
  /** Send video from the start. Default: true. */
  readonly publishVideo?: boolean;
  /** The stream's name, which every client sees. Default: "". */
  readonly name?: string;
  /** Show the local video mirrored. Default: true for a camera, false for a screen or a track of the application's. */
  readonly mirror?: boolean;
  /**
   * Routed sessions: send camera or custom video in simulcast layers (quarter, half and full
   * size, as the size allows), so that the router gives each subscriber the one that suits it.
   * Default: true.
   */
  readonly scalableVideo?: boolean;
  /** Routed sessions: the same for screen-sharing video (`videoType` `screen`). Default: false. */
  readonly scalableScreenshare?: boolean;
  /**
   * Parlor, routed sessions: false keeps this stream on the Media Router, never peer to peer
   * under adaptive routing (the session stays routed while it is published). Asking for simulcast
   * (`scalableVideo`) does not: the layers start once the session moves to the router, as in
   * OpenTok. Default: true.
   */
  readonly adaptiveRouting?: boolean;
  /**
   * Audio fallback. `publisher`: this publisher stops sending video when its uplink cannot carry
   * it, and sends it again when it can (relayed and routed sessions). `subscriber` (routed
   * sessions): the router may stop sending this stream's video to a subscriber whose link cannot
   * carry it, its audio going on, and sends it again once the link recovers. Default: publisher
   * false, subscriber true.
   */
  readonly audioFallback?: { readonly publisher?: boolean; readonly subscriber?: boolean };
  /** Deprecated by OpenTok.js for `audioFallback.subscriber`, which wins when both are given. */
  readonly audioFallbackEnabled?: boolean;
  /** Send stereo audio (Opus `stereo=1; sprop-stereo=1`); pair it with `disableAudioProcessing`. Default: false. */
  readonly enableStereo?: boolean;
  /** The audio encoder's maximum, bits/s, brought into 6000–510000. Default: the browser's (32000 mono). */
  readonly audioBitrate?: number;
  /** Opus discontinuous transmission: next to nothing is sent during silence. Default: false. */
  readonly enableDtx?: boolean;
  /**
   * Background blur or replacement from the start, as `applyVideoFilter` applies it; the stream
   * is published once it is on. A filter that cannot apply is reported by OT's `exception`
   * event and the video goes unfiltered. Default: none.
   */
  readonly videoFilter?: VideoFilter;
}

export interface PublisherEvents {
  accessAllowed: EventOf<'accessAllowed'>;
  accessDenied: EventOf<'accessDenied'>;
  videoElementCreated: EventOf<'videoElementCreated', { element: HTMLVideoElement }>;
  /** This client's stream is live in the session. */
  streamCreated: EventOf<'streamCreated', { stream: Stream }>;
  /** Cancelable: the default destroys the publisher; prevent it to keep it (and publish again). */
  streamDestroyed: EventOf<'streamDestroyed', { stream: Stream; reason: PublicationEndReason }>;
  /** A source track ended. Cancelable: the default unpublishes (or destroys) the publisher. */
  mediaStopped: EventOf<'mediaStopped', { track: MediaStreamTrack }>;
  /** A moderator muted this publisher's audio. */
  muteForced: EventOf<'muteForced'>;
  /** The microphone's level, 0 to 1, about 60 times a second while listened to. */
  audioLevelUpdated: EventOf<'audioLevelUpdated', { audioLevel: number }>;
  /**
   * Every 2 s at most, when the audio or video score (1 bad … 5 excellent) of what one of its
   * peer connections sends changed: to the router, or in a relayed session to one subscriber.
   */
  qualityScoreChanged: EventOf<'qualityScoreChanged', { qualityScore: QualityScore; subscriberId: string }>;
  /**
   * The audio moved to another microphone: `setAudioSource` switched it, or the publisher, using
   * the default microphone, followed a new default (one plugged in) or left one unplugged.
   */
  audioInputDeviceChanged: EventOf<
    'audioInputDeviceChanged',
    { device: { deviceId: string; label: string; kind: 'audioInput' } }
  >;
  /** Publisher audio fallback: the uplink is congested, video may stop soon. */
  videoDisableWarning: EventOf<'videoDisableWarning'>;
  /** Publisher audio fallback: the uplink recovered before video stopped. */
  videoDisableWarningLifted: EventOf<'videoDisableWarningLifted'>;
  /** Publisher audio fallback: video stopped going to everyone; audio goes on. */
  videoDisabled: EventOf<'videoDisabled', { reason: 'quality' }>;
  /** Publisher audio fallback: the uplink carries video again, and it goes to everyone. */
  videoEnabled: EventOf<'videoEnabled', { reason: 'quality' }>;
  destroyed: EventOf<'destroyed'>;
}

/**
 * One stats entry per peer connection: per subscriber in relayed sessions, one toward the Media
 * Router (connection ID `router`) in routed sessions.
 */
export interface PublisherStats {
  readonly subscriberId: string;
  readonly connectionId: string;
  readonly stats: {
    readonly audio: { bytesSent: number; packetsSent: number; packetsLost: number };
    readonly video: { bytesSent: number; packetsSent: number; packetsLost: number; frameRate: number };
    readonly timestamp: number;
  };
  /**
   * Parlor, adaptive routing: whether this peer connection sends the stream now (the path not in
   * use stays up, paused). Present while one of the publisher's peer connections is paused.
   */
  readonly sending?: boolean;
}

/**
 * OpenTok.js's Publisher: the local camera and microphone, shown in the page, published to a
 * session with `session.publish`.
 */
export class Publisher extends OTEventEmitter<PublisherEvents> {
  readonly id: string;
  readonly #context: OTContext;
  readonly #properties: PublisherProperties;
  readonly #widget: VideoWidget;
  readonly #levelDisplay: AudioLevelDisplay;
  readonly #media: Promise<MediaStream>;
  /** What is captured and sent, once the media is there. */
  #tracks: PublisherTracks | undefined;
  readonly #levels = new AudioLevelSampler(
    () => {
      const track = this.#tracks?.stream.getAudioTracks()[0];
      return track ? localTrackLevel(track) : null;
    },
    (audioLevel) => {
      this.dispatch(createEvent('audioLevelUpdated', this, { audioLevel }));
    },
  );
  #publishAudio: boolean;
  #publishVideo: boolean;
  #session: Session | undefined;
  #publication: LocalPublication | undefined;
  /** Publisher audio fallback of the latest publication, when `audioFallback.publisher` is on. */
  #fallback: PublisherFallback | undefined;
  #stream: Stream | undefined;
  /** The built-in video filter, while it is the video's connector. */
  #videoFilter: BackgroundFilter | undefined;
  /** The built-in audio filter, while it is the audio's connector. */
  #audioFilter: NoiseSuppression | undefined;
  /** Keeps the audio on the browser's default microphone, while no source was chosen. */
  #defaultMicrophone: DefaultMicrophone | undefined;
  /** The `videoFilter` option being applied: publishing waits for it. */
  #initialFilter: Promise<void> = Promise.resolve();
  #destroyed = false;

  /** @internal Use `OT.initPublisher`. */
  constructor(
    context: OTContext,
    target: WidgetTarget,
    properties: PublisherProperties,
    completion?: Completion,
  ) {
    super(context.logger);
    this.id = newId();
    this.#context = context;
    context.publishers._add(this);
    this.#properties = properties;
    this.#publishAudio = properties.publishAudio ?? true;
    this.#publishVideo = properties.publishVideo ?? true;
    this.#widget = new VideoWidget('publisher', this.id, target, properties);
    this.#widget.video.muted = true;
    this.#levelDisplay = new AudioLevelDisplay(this.#widget, (handler, on) => {
      if (on) this.on('audioLevelUpdated', handler);
      else this.off('audioLevelUpdated', handler);
    });
    const camera =
      !(properties.videoSource instanceof MediaStreamTrack) && !isScreenSource(properties.videoSource);
    if (properties.mirror ?? camera) this.#widget.video.style.transform = 'scaleX(-1)';
    this.#media = acquireMedia(properties);
    this.#media.then(
      (media) => {
        this.#mediaReady(media, completion);
      },
      (error: unknown) => {
        this.#mediaFailed(toOTError(error), completion);
      },
    );
  }

  /** The inserted element; undefined with `insertDefaultUI: false`. */
  get element(): HTMLElement | undefined {
    return this.#widget.element;
  }

  /** Whether the camera and microphone may be used. */
  get accessAllowed(): boolean {
    return this.#tracks !== undefined;
  }

  /** The published stream, while published. */
  get stream(): Stream | undefined {
    return this.#stream;
  }

  get session(): Session | undefined {
    return this.#session;
  }

  /** Starts or stops sending audio; subscribers see `hasAudio` change. */
  publishAudio(value: boolean): this {
    this.#publishAudio = value;
    this.#applyAudio(value);
    return this;
  }

  /**
   * Starts or stops sending video; subscribers get `videoDisabled`/`videoEnabled` (reason
   * `publishVideo`). The user's choice and audio fallback are separate: the stream has video when
   * both allow it. Video the fallback turned off stays off after `publishVideo(true)` until a
   * probe, made at once, goes through (`videoEnabled`, reason `quality`); turning video off lifts
   * a fallback warning.
   */
  publishVideo(value: boolean, completion?: Completion): this {
    this.#publishVideo = value;
    this.#tracks?.setEnabled('video', value);
    this.#updateLevelDisplay();
    this.#fallback?.setActive(value);
    const publication = this.#publication;
    const hasVideo = value && this.#fallback?.videoOff !== true;
    if (publication && this.#tracks?.source('video') && publication.stream.hasVideo !== hasVideo) {
      publication.update({ hasVideo }).catch((error: unknown) => {
        this.#context.logger.warn('the video change was not acknowledged', error);
      });
      this.#stream?._update(publication.stream);
    }
    completion?.();
    return this;
  }

  /** The audio source: the microphone's track or the application's, before any processing. */
  getAudioSource(): MediaStreamTrack | undefined {
    return this.#tracks?.source('audio');
  }

  /**
   * The video source: a camera (with its device ID) or the application's own track (`custom`),
   * and the track, before any processing.
   */
  getVideoSource(): {
    deviceId: string | null;
    type: 'camera' | 'screen' | 'custom' | null;
    track: MediaStreamTrack | null;
  } {
    const track = this.#tracks?.source('video');
    if (!track) return { deviceId: null, type: null, track: null };
    if (!this.#tracks?.isCaptured('video')) return { deviceId: null, type: 'custom', track };
    if (track.getSettings().displaySurface !== undefined) return { deviceId: null, type: 'screen', track };
    return { deviceId: track.getSettings().deviceId ?? null, type: 'camera', track };
  }

  /**
   * Switches the audio to another microphone (by device ID) or to a track of the application's,
   * on the live connections, without renegotiating. Rejects with OT_NOT_SUPPORTED for a
   * publisher made without audio, OT_INVALID_PARAMETER for anything but a device ID or audio
   * track, and the capture errors of `initPublisher`.
   */
  async setAudioSource(source: string | MediaStreamTrack): Promise<undefined> {
    this.#defaultMicrophone?.close();
    this.#defaultMicrophone = undefined;
    const track = await this.#switchSource('audio', source);
    if (typeof source === 'string') this.#audioInputDeviceChanged(source, track);
    return undefined;
  }

  /** Switches the video to another camera or to a track of the application's, as `setAudioSource` does audio. */
  async setVideoSource(source: string | MediaStreamTrack): Promise<undefined> {
    await this.#switchSource('video', source);
    return undefined;
  }

  /**
   * Switches to the next camera the browser lists (after the last, the first); resolves with its
   * device ID. Rejects with OT_NOT_SUPPORTED unless the video comes from a camera.
   */
  async cycleVideo(): Promise<{ deviceId: string }> {
    await this.#media.catch(() => undefined);
    const current = this.getVideoSource();
    if (current.type !== 'camera') throw notSupported('cycleVideo: the video does not come from a camera');
    const cameras = (await navigator.mediaDevices.enumerateDevices()).filter(
      ({ kind }) => kind === 'videoinput',
    );
    const index = cameras.findIndex(({ deviceId }) => deviceId === current.deviceId);
    const next = cameras[(index + 1) % cameras.length];
    if (!next || next.deviceId === current.deviceId) return { deviceId: current.deviceId ?? '' };
    await this.#switchSource('video', next.deviceId);
    return { deviceId: next.deviceId };
  }

  /**
   * Sends the video through a media processor connector (any object with `setTrack(track)`
   * resolving with the processed track, and `destroy()`, as `@vonage/media-processor`'s), or as
   * captured again with null. The preview shows what is sent. Rejects with OT_NOT_SUPPORTED where
   * `OT.hasMediaProcessorSupport()` is false or the publisher has no video.
   */
  async setVideoMediaProcessorConnector(connector: MediaProcessorConnector | null): Promise<void> {
    await this.#setConnector('video', connector);
    // The video filter, if any, was the connector replaced.
    this.#videoFilter = undefined;
  }

  /** The same for the audio. */
  async setAudioMediaProcessorConnector(connector: MediaProcessorConnector | null): Promise<void> {
    await this.#setConnector('audio', connector);
    this.#audioFilter = undefined;
  }

  /**
   * Applies background blur (`{type: 'backgroundBlur', blurStrength: 'low' | 'high'}`) or
   * background replacement (`{type: 'backgroundReplacement', backgroundImgUrl}`) to the video,
   * in place of any filter or connector before. The person-segmentation model comes from the
   * Parlor server that served the SDK. Rejects with OT_INVALID_PARAMETER for a bad filter or an
   * image that cannot be loaded, OT_NOT_SUPPORTED where the browser cannot run it.
   */
  async applyVideoFilter(filter: VideoFilter): Promise<void> {
    let parsed: VideoFilter;
    try {
      parsed = parseVideoFilter(filter);
    } catch (error) {
      throw invalidParameter((error as Error).message);
    }
    if (!hasBackgroundFilterSupport()) {
      throw notSupported('this browser cannot filter video (breakout box, WebAssembly and WebGL 2 needed)');
    }
    const { logger } = this.#context;
    this.#videoFilter = await this.#applyFilter('video', (assetsUrl) =>
      BackgroundFilter.create({ filter: parsed, assetsUrl, logger }).catch((error: unknown) => {
        if (error instanceof BackgroundImageError) throw invalidParameter(error.message);
        throw notSupported(`the segmentation model could not run: ${String(error)}`);
      }),
    );
  }

  /** Sends the video unfiltered again and frees the filter; resolves at once without one. */
  async clearVideoFilter(): Promise<void> {
    const filter = this.#videoFilter;
    if (!filter || !this.#tracks) return;
    await this.#tracks.setConnector('video', null);
    if (this.#videoFilter === filter) this.#videoFilter = undefined;
  }

  /** The filter applied, or null. */
  getVideoFilter(): VideoFilter | null {
    return this.#videoFilter ? { ...this.#videoFilter.filter } : null;
  }

  /**
   * Applies advanced noise suppression (`{type: 'advancedNoiseSuppression'}`: RNNoise, run in
   * an AudioWorklet loaded from the Parlor server that served the SDK) to the audio, in place of
   * any connector before. Rejects with OT_INVALID_PARAMETER for another filter, OT_NOT_SUPPORTED
   * where the browser cannot run it.
   */
  async applyAudioFilter(filter: AudioFilter): Promise<void> {
    try {
      parseAudioFilter(filter);
    } catch (error) {
      throw invalidParameter((error as Error).message);
    }
    if (!hasNoiseSuppressionSupport()) throw notSupported('this browser cannot run AudioWorklets');
    this.#audioFilter = await this.#applyFilter('audio', (assetsUrl) =>
      NoiseSuppression.create(`${assetsUrl}/noise-suppression-worklet.js`).catch((error: unknown) => {
        throw notSupported(`the noise suppression worklet could not load: ${String(error)}`);
      }),
    );
  }

  /** Sends the audio unfiltered again and frees the filter; resolves at once without one. */
  async clearAudioFilter(): Promise<void> {
    const filter = this.#audioFilter;
    if (!filter || !this.#tracks) return;
    await this.#tracks.setConnector('audio', null);
    if (this.#audioFilter === filter) this.#audioFilter = undefined;
  }

  /** The filter applied, or null. */
  getAudioFilter(): AudioFilter | null {
    return this.#audioFilter ? { ...this.#audioFilter.filter } : null;
  }

  videoWidth(): number {
    return this.#widget.video.videoWidth;
  }

  videoHeight(): number {
    return this.#widget.video.videoHeight;
  }

  /** The standard statistics of each subscriber's peer connection. */
  async getRtcStatsReport(): Promise<
    { subscriberId: string; connectionId: string; rtcStatsReport: RTCStatsReport }[]
  > {
    const transports = this.#publication?.transports ?? [];
    return Promise.all(
      transports.map(async (transport) => ({
        subscriberId: transport.subscriptionId,
        connectionId: transport.remoteConnectionId,
        rtcStatsReport: await transport.getStats(),
      })),
    );
  }

  /** Sent bytes and packets per subscriber, OpenTok's shape; also as a completion `(error, stats)`. */
  async getStats(
    completion?: (error?: OTError, stats?: PublisherStats[]) => void,
  ): Promise<PublisherStats[]> {
    const transports = this.#publication?.transports ?? [];
    const paused = transports.some((transport) => !transport.sending);
    const stats = await Promise.all(
      transports.map(async (transport) => ({
        subscriberId: transport.subscriptionId,
        connectionId: transport.remoteConnectionId,
        stats: outboundStats(await transport.getStats()),
        ...(paused ? { sending: transport.sending } : {}),
      })),
    );
    completion?.(undefined, stats);
    return stats;
  }

  /**
   * Parlor's own: publisher audio fallback's state and its latest changes, oldest first, each
   * with the uplink as it was read then (estimate, loss, video sent). Null unless
   * `audioFallback.publisher` is on and the publisher has published.
   */
  getAudioFallbackStats(): PublisherFallbackStats | null {
    return this.#fallback?.stats ?? null;
  }

  /** Unpublishes if published, stops the captured tracks and removes the element. Idempotent. */
  destroy(): this {
    if (this.#destroyed) return this;
    this.#destroyed = true;
    void this.#publication?.unpublish('unpublished').catch(() => undefined);
    this.#levels.setListening(false);
    this.#defaultMicrophone?.close();
    this.#tracks?.close();
    this.#context.publishers._remove(this);
    this.#widget.remove();
    this.#session?._publisherDestroyed(this);
    this.dispatch(createEvent('destroyed', this, {}));
    return this;
  }

  /** @internal Publishes into the session once the media is there. */
  async _publish(session: Session, engine: SessionEngine, connection: NonNullable<Session['connection']>) {
    if (this.#publication) return;
    await this.#media;
    await this.#initialFilter;
    const media = this.#tracks?.stream;
    if (this.#isDestroyed() || !media) {
      throw new ClientError(clientErrorCodes.unableToPublish, 'the publisher was destroyed');
    }
    const video = media.getVideoTracks()[0];
    const hasAudio = media.getAudioTracks().length > 0 && this.#publishAudio;
    const settings = video?.getSettings();
    const params: PublishParams = {
      name: this.#properties.name ?? '',
      hasAudio,
      hasVideo: video !== undefined && this.#publishVideo,
      subscriberAudioFallback:
        this.#properties.audioFallback?.subscriber ?? this.#properties.audioFallbackEnabled ?? true,
    };
    if (this.#properties.adaptiveRouting === false) params.adaptiveRouting = false;
    const videoType = isScreenSource(this.#properties.videoSource)
      ? 'screen'
      : this.#properties.videoSource instanceof MediaStreamTrack
        ? 'custom'
        : 'camera';
    if (video) params.videoType = videoType;
    const size =
      settings?.width && settings.height ? { width: settings.width, height: settings.height } : null;
    if (size) params.videoDimensions = size;
    if (settings?.frameRate) params.frameRate = Math.min(240, settings.frameRate);
    const videoEncodings = videoSendEncodings({
      size,
      frameRate: this.#properties.frameRate ?? defaultFrameRate,
      simulcast: isScalable({
        mediaMode: engine.mediaMode ?? 'relayed',
        videoType,
        scalableVideo: this.#properties.scalableVideo,
        scalableScreenshare: this.#properties.scalableScreenshare,
      }),
    });
    const { enableStereo, audioBitrate, enableDtx } = this.#properties;
    const publication = await engine.publish(media, params, videoEncodings, {
      stereo: enableStereo === true,
      ...(audioBitrate === undefined ? {} : { maxBitrate: clampAudioBitrate(audioBitrate) }),
      dtx: enableDtx === true,
    });
    // Destroyed while the stream was being announced: it ends at once.
    if (this.#isDestroyed()) {
      await publication.unpublish('unpublished');
      return;
    }
    this.#session = session;
    this.#publication = publication;
    this.#stream = new Stream(publication.stream, connection);
    publication.on('closed', (reason) => {
      this.#unpublished(reason);
    });
    publication.on('moved', (info) => {
      this.#moved(session, info);
    });
    if (video && this.#properties.audioFallback?.publisher === true)
      this.#watchUplink(publication, engine.telemetry);
    if (hasAudio && !publication.stream.hasAudio) this._muteForced();
    this.dispatch(createEvent('streamCreated', this, { stream: this.#stream }));
  }

  /** @internal Ends the publication at the application's request. */
  _unpublish(): void {
    void this.#publication?.unpublish('unpublished').catch((error: unknown) => {
      this.#context.logger.warn('unpublish was not acknowledged', error);
    });
  }

  /** @internal A transport's quality scores changed; nothing happens when it is not one of this publisher's. */
  _qualityScore(transport: PeerTransport, qualityScore: QualityScore): void {
    if (!this.#publication?.transports.includes(transport)) return;
    this.dispatch(
      createEvent('qualityScoreChanged', this, { qualityScore, subscriberId: transport.subscriptionId }),
    );
  }

  /** @internal A moderator muted this publisher. */
  _muteForced(): void {
    this.#publishAudio = false;
    this.#applyAudio(false);
    this.dispatch(createEvent('muteForced', this, {}));
  }

  #watchUplink(publication: LocalPublication, telemetry: Telemetry): void {
    const fallback = new PublisherFallback({ publication, logger: this.#context.logger });
    this.#fallback = fallback;
    fallback.on('change', (record) => {
      const { change, availableBitrate, loss } = record;
      telemetry.event(
        change,
        { reason: 'quality', publisher: true, availableBitrate, loss },
        publication.stream.streamId,
      );
      this.#fallbackChanged(publication, record);
    });
    fallback.setActive(this.#publishVideo);
  }

  #fallbackChanged(publication: LocalPublication, { change }: PublisherFallbackRecord): void {
    switch (change) {
      case 'videoDisableWarning':
      case 'videoDisableWarningLifted':
        this.dispatch(createEvent(change, this, {}));
        break;
      case 'videoDisabled':
      case 'videoEnabled':
        if (this.#publication === publication) this.#stream?._update(publication.stream);
        this.dispatch(createEvent(change, this, { reason: 'quality' as const }));
        break;
      case 'probeStarted':
      case 'probeFailed':
        break;
    }
  }

  /** Starts audio levels with the first listener, stops them after the last. */
  protected override listenersChanged(type: string): void {
    if (type === 'audioLevelUpdated') this.#levels.setListening(this.listenerCount(type) > 0);
  }

  /** The meter shows while the preview shows no video (OpenTok's `auto`). */
  #updateLevelDisplay(): void {
    if (this.#tracks?.source('audio'))
      this.#levelDisplay.update(this.#publishVideo && this.#tracks.source('video') !== undefined);
  }

  async #switchSource(kind: TrackKind, source: string | MediaStreamTrack): Promise<MediaStreamTrack> {
    if (typeof source !== 'string' && !(source instanceof MediaStreamTrack && source.kind === kind)) {
      throw invalidParameter(`the ${kind} source must be a device ID or a ${kind} MediaStreamTrack`);
    }
    await this.#media;
    const tracks = this.#tracks;
    if (!tracks || this.#destroyed) throw notSupported('the publisher was destroyed');
    if (!tracks.source(kind)) throw notSupported(`the publisher was made without ${kind}`);
    let track: MediaStreamTrack;
    try {
      track = typeof source === 'string' ? await acquireTrack(kind, source, this.#properties) : source;
      await tracks.setSource(track, typeof source === 'string');
    } catch (error) {
      throw toOTError(error);
    }
    if (kind === 'video') this.#updateVideoDimensions(track);
    return track;
  }

  /** A video source of another size: the others see the stream's new `videoDimensions` (`streamPropertyChanged`). */
  #updateVideoDimensions(track: MediaStreamTrack): void {
    const publication = this.#publication;
    const { width, height } = track.getSettings();
    if (!publication || !width || !height) return;
    const current = publication.stream.videoDimensions;
    if (current?.width === width && current.height === height) return;
    publication.update({ videoDimensions: { width, height } }).catch((error: unknown) => {
      this.#context.logger.warn('the video size change was not acknowledged', error);
    });
    this.#stream?._update(publication.stream);
  }

  async #setConnector(kind: TrackKind, connector: MediaProcessorConnector | null): Promise<void> {
    if (!hasMediaProcessorSupport()) throw notSupported('this browser cannot process media tracks');
    if (
      connector !== null &&
      (typeof connector.setTrack !== 'function' || typeof connector.destroy !== 'function')
    ) {
      throw invalidParameter('a media processor connector has setTrack(track) and destroy()');
    }
    const tracks = await this.#liveTracks(kind);
    try {
      await tracks.setConnector(kind, connector);
    } catch (error) {
      throw invalidParameter(`the media processor connector failed: ${String(error)}`);
    }
  }

  /**
   * Loads a built-in filter from the files the SDK's server serves (`load` rejects with the
   * OpenTok error to report) and makes it the kind's connector.
   */
  async #applyFilter<Filter extends MediaProcessorConnector>(
    kind: TrackKind,
    load: (assetsUrl: string) => Promise<Filter>,
  ): Promise<Filter> {
    const apiUrl = this.#context.apiUrl;
    if (apiUrl === undefined)
      throw notSupported('the SDK was not loaded from a Parlor server: no model to load');
    const tracks = await this.#liveTracks(kind);
    const filter = await load(`${apiUrl}/v2/js/filters`);
    try {
      await tracks.setConnector(kind, filter);
    } catch (error) {
      void filter.destroy();
      throw notSupported(`the ${kind} filter could not start: ${String(error)}`);
    }
    return filter;
  }

  /** The tracks once the media is there, if the publisher is alive and has the kind. */
  async #liveTracks(kind: TrackKind): Promise<PublisherTracks> {
    await this.#media.catch(() => undefined);
    const tracks = this.#tracks;
    if (!tracks || this.#destroyed)
      throw notSupported('the publisher has no media (destroyed, or access denied)');
    if (!tracks.source(kind)) throw notSupported(`the publisher was made without ${kind}`);
    return tracks;
  }

  /** Read through a method: `destroy()` may run while `_publish` awaits. */
  #isDestroyed(): boolean {
    return this.#destroyed;
  }

  #mediaReady(media: MediaStream, completion: Completion | undefined): void {
    if (this.#destroyed) {
      for (const track of media.getTracks()) track.stop();
      return;
    }
    const { audioSource, videoSource } = this.#properties;
    const tracks = new PublisherTracks({
      media,
      given: [audioSource, videoSource].filter(
        (source): source is MediaStreamTrack => source instanceof MediaStreamTrack,
      ),
      send: async (track) => {
        if (track.kind === 'audio') this.#levels.reset();
        await this.#publication?.replaceTrack(track);
      },
      onEnded: (track) => {
        if (track.kind === 'audio' && this.#defaultMicrophone) this.#defaultMicrophone.trackEnded(track);
        else this.#mediaStopped(track);
      },
      logger: this.#context.logger,
    });
    this.#tracks = tracks;
    if (this.#followsDefaultMicrophone(tracks)) this.#followDefaultMicrophone(tracks);
    tracks.setEnabled('audio', this.#publishAudio);
    tracks.setEnabled('video', this.#publishVideo);
    this.#widget.video.srcObject = tracks.stream;
    this.#updateLevelDisplay();
    this.dispatch(createEvent('accessAllowed', this, {}));
    this.dispatch(createEvent('videoElementCreated', this, { element: this.#widget.video }));
    const { videoFilter } = this.#properties;
    if (videoFilter) {
      this.#initialFilter = this.applyVideoFilter(videoFilter).catch((error: unknown) => {
        this.#context.reportException(toOTError(error), this);
      });
    }
    completion?.();
  }

  /** Whether the application left the microphone to the browser's default (no device, track or raw constraints). */
  #followsDefaultMicrophone(tracks: PublisherTracks): boolean {
    const { audioSource, constraints } = this.#properties;
    return (
      (audioSource === undefined || audioSource === true) &&
      constraints === undefined &&
      tracks.isCaptured('audio') &&
      typeof navigator.mediaDevices.addEventListener === 'function'
    );
  }

  #followDefaultMicrophone(tracks: PublisherTracks): void {
    const { logger } = this.#context;
    this.#defaultMicrophone = new DefaultMicrophone({
      capture: () => acquireTrack('audio', true, this.#properties),
      current: () => tracks.source('audio'),
      use: (track) => tracks.setSource(track, true),
      onMoved: (track) => {
        this.#audioInputDeviceChanged(track.getSettings().deviceId ?? '', track);
      },
      onLost: (ended, error) => {
        logger.warn('no microphone took the place of the one that went away', error);
        this.#mediaStopped(ended);
      },
      logger,
    });
  }

  #audioInputDeviceChanged(deviceId: string, track: MediaStreamTrack): void {
    const device = { deviceId, label: track.label, kind: 'audioInput' as const };
    this.dispatch(createEvent('audioInputDeviceChanged', this, { device }));
  }

  #mediaFailed(error: OTError, completion: Completion | undefined): void {
    if (error.name === 'OT_USER_MEDIA_ACCESS_DENIED') this.dispatch(createEvent('accessDenied', this, {}));
    this.#context.reportException(error, this);
    completion?.(error);
  }

  #mediaStopped(track: MediaStreamTrack): void {
    if (this.#destroyed) return;
    this.dispatch(createEvent('mediaStopped', this, { track }, true), () => {
      if (this.#publication) void this.#publication.unpublish('mediaStopped').catch(() => undefined);
      else this.destroy();
    });
  }

  /** The session moved to another node: the publisher goes on there, as a new stream (its `streamCreated` again). */
  #moved(session: Session, info: StreamInfo): void {
    const connection = session.connection;
    if (!connection || this.#destroyed) return;
    const previous = this.#stream;
    this.#stream = new Stream(info, connection);
    if (previous)
      for (const subscriber of session.getSubscribersForStream(previous)) subscriber._moved(this.#stream);
    this.dispatch(createEvent('streamCreated', this, { stream: this.#stream }));
  }

  #unpublished(reason: PublicationEndReason): void {
    const stream = this.#stream;
    this.#publication = undefined;
    this.#stream = undefined;
    if (!stream || this.#destroyed) return;
    this.dispatch(createEvent('streamDestroyed', this, { stream, reason }, true), () => {
      this.destroy();
    });
  }

  #applyAudio(enabled: boolean): void {
    this.#tracks?.setEnabled('audio', enabled);
    const publication = this.#publication;
    if (!publication || !this.#tracks?.source('audio')) return;
    publication.update({ hasAudio: enabled }).catch((error: unknown) => {
      this.#context.logger.warn('the audio change was not acknowledged', error);
    });
    this.#stream?._update(publication.stream);
  }
}

/** Sums the outbound RTP counters of one peer connection, per kind (over simulcast layers too). */
function outboundStats(report: RTCStatsReport): PublisherStats['stats'] {
  const audio = { bytesSent: 0, packetsSent: 0, packetsLost: 0 };
  const video = { bytesSent: 0, packetsSent: 0, packetsLost: 0, frameRate: 0 };
  report.forEach((entry: RTCStats & Record<string, unknown>) => {
    if (entry.type === 'outbound-rtp') {
      const target = entry.kind === 'audio' ? audio : video;
      target.bytesSent += Number(entry.bytesSent ?? 0);
      target.packetsSent += Number(entry.packetsSent ?? 0);
      // Simulcast layers share the frame rate; a paused one reports none.
      if (entry.kind === 'video')
        video.frameRate = Math.max(video.frameRate, Number(entry.framesPerSecond ?? 0));
    } else if (entry.type === 'remote-inbound-rtp') {
      const target = entry.kind === 'audio' ? audio : video;
      target.packetsLost += Number(entry.packetsLost ?? 0);
    }
  });
  return { audio, video, timestamp: Date.now() };
}
