import type { PublishParams } from '@parlor/protocol';
import { ClientError, clientErrorCodes } from '../core/ClientError.js';
import type { LocalPublication, PublicationEndReason } from '../core/LocalPublication.js';
import { acquireMedia, defaultFrameRate, type MediaOptions } from '../core/localMedia.js';
import {
  PublisherFallback,
  type PublisherFallbackRecord,
  type PublisherFallbackStats,
} from '../core/PublisherFallback.js';
import type { SessionEngine } from '../core/SessionEngine.js';
import { isScalable, videoSendEncodings } from '../core/videoEncodings.js';
import { newId, type Completion, type OTContext } from './context.js';
import { toOTError, type OTError } from './errors.js';
import { createEvent, type EventOf } from './OTEvent.js';
import { OTEventEmitter } from './OTEventEmitter.js';
import type { Session } from './Session.js';
import { Stream } from './Stream.js';
import { VideoWidget, type WidgetOptions, type WidgetTarget } from './widget.js';

/** The properties of `OT.initPublisher` this SDK honours (client-api.md §1.3). */
export interface PublisherProperties extends WidgetOptions, MediaOptions {
  /** Send audio from the start. Default: true. */
  readonly publishAudio?: boolean;
  /** Send video from the start. Default: true. */
  readonly publishVideo?: boolean;
  /** The stream's name, which every client sees. Default: "". */
  readonly name?: string;
  /** Show the local video mirrored. Default: true for a camera, false for a track of the application's. */
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
   * Audio fallback. `publisher`: this publisher stops sending video when its uplink cannot carry
   * it, and sends it again when it can (relayed and routed sessions). `subscriber` (routed
   * sessions): the router may stop sending this stream's video to a subscriber whose link cannot
   * carry it, its audio going on, and sends it again once the link recovers. Default: publisher
   * false, subscriber true.
   */
  readonly audioFallback?: { readonly publisher?: boolean; readonly subscriber?: boolean };
  /** Deprecated by OpenTok.js for `audioFallback.subscriber`, which wins when both are given. */
  readonly audioFallbackEnabled?: boolean;
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
  readonly #media: Promise<MediaStream>;
  #mediaStream: MediaStream | undefined;
  #publishAudio: boolean;
  #publishVideo: boolean;
  #session: Session | undefined;
  #publication: LocalPublication | undefined;
  /** Publisher audio fallback of the latest publication, when `audioFallback.publisher` is on. */
  #fallback: PublisherFallback | undefined;
  #stream: Stream | undefined;
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
    this.#properties = properties;
    this.#publishAudio = properties.publishAudio ?? true;
    this.#publishVideo = properties.publishVideo ?? true;
    this.#widget = new VideoWidget('publisher', this.id, target, properties);
    this.#widget.video.muted = true;
    const appTrack = properties.videoSource instanceof MediaStreamTrack;
    if (properties.mirror ?? !appTrack) this.#widget.video.style.transform = 'scaleX(-1)';
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
    return this.#mediaStream !== undefined;
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
    for (const track of this.#mediaStream?.getVideoTracks() ?? []) track.enabled = value;
    this.#fallback?.setActive(value);
    const publication = this.#publication;
    const hasVideo = value && this.#fallback?.videoOff !== true;
    if (
      publication &&
      this.#mediaStream?.getVideoTracks().length &&
      publication.stream.hasVideo !== hasVideo
    ) {
      publication.update({ hasVideo }).catch((error: unknown) => {
        this.#context.logger.warn('the video change was not acknowledged', error);
      });
      this.#stream?._update(publication.stream);
    }
    completion?.();
    return this;
  }

  /** The microphone track, if any. */
  getAudioSource(): MediaStreamTrack | undefined {
    return this.#mediaStream?.getAudioTracks()[0];
  }

  /** The video source: its device, whether it is a camera or the application's own track, and the track. */
  getVideoSource(): {
    deviceId: string | null;
    type: 'camera' | 'custom' | null;
    track: MediaStreamTrack | null;
  } {
    const track = this.#mediaStream?.getVideoTracks()[0];
    if (!track) return { deviceId: null, type: null, track: null };
    const custom = this.#properties.videoSource instanceof MediaStreamTrack;
    return { deviceId: track.getSettings().deviceId ?? null, type: custom ? 'custom' : 'camera', track };
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
    const reports = await this.getRtcStatsReport();
    const stats = reports.map(({ subscriberId, connectionId, rtcStatsReport }) => ({
      subscriberId,
      connectionId,
      stats: outboundStats(rtcStatsReport),
    }));
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
    for (const track of this.#mediaStream?.getTracks() ?? []) {
      if (track !== this.#properties.audioSource && track !== this.#properties.videoSource) track.stop();
    }
    this.#widget.remove();
    this.#session?._publisherDestroyed(this);
    this.dispatch(createEvent('destroyed', this, {}));
    return this;
  }

  /** @internal Publishes into the session once the media is there. */
  async _publish(session: Session, engine: SessionEngine, connection: NonNullable<Session['connection']>) {
    if (this.#publication) return;
    const media = await this.#media;
    if (this.#isDestroyed()) {
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
    const videoType = this.#properties.videoSource instanceof MediaStreamTrack ? 'custom' : 'camera';
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
    const publication = await engine.publish(media, params, videoEncodings);
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
    if (video && this.#properties.audioFallback?.publisher === true) this.#watchUplink(publication);
    if (hasAudio && !publication.stream.hasAudio) this._muteForced();
    this.dispatch(createEvent('streamCreated', this, { stream: this.#stream }));
  }

  /** @internal Ends the publication at the application's request. */
  _unpublish(): void {
    void this.#publication?.unpublish('unpublished').catch((error: unknown) => {
      this.#context.logger.warn('unpublish was not acknowledged', error);
    });
  }

  /** @internal A moderator muted this publisher. */
  _muteForced(): void {
    this.#publishAudio = false;
    this.#applyAudio(false);
    this.dispatch(createEvent('muteForced', this, {}));
  }

  #watchUplink(publication: LocalPublication): void {
    const fallback = new PublisherFallback({ publication, logger: this.#context.logger });
    this.#fallback = fallback;
    fallback.on('change', (record) => {
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

  /** Read through a method: `destroy()` may run while `_publish` awaits. */
  #isDestroyed(): boolean {
    return this.#destroyed;
  }

  #mediaReady(media: MediaStream, completion: Completion | undefined): void {
    if (this.#destroyed) {
      for (const track of media.getTracks()) track.stop();
      return;
    }
    this.#mediaStream = media;
    for (const track of media.getAudioTracks()) track.enabled = this.#publishAudio;
    for (const track of media.getVideoTracks()) track.enabled = this.#publishVideo;
    for (const track of media.getTracks()) {
      track.addEventListener('ended', () => {
        this.#mediaStopped(track);
      });
    }
    this.#widget.video.srcObject = media;
    this.dispatch(createEvent('accessAllowed', this, {}));
    this.dispatch(createEvent('videoElementCreated', this, { element: this.#widget.video }));
    completion?.();
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
    const tracks = this.#mediaStream?.getAudioTracks();
    for (const track of tracks ?? []) track.enabled = enabled;
    const publication = this.#publication;
    if (!publication || !tracks?.length) return;
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
