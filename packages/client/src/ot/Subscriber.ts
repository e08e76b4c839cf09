import type { QualityScore } from '../core/TransportQuality.js';
import type { MediaPath, VideoFallbackEvent } from '@parlor/protocol';
import { ClientError, clientErrorCodes } from '../core/ClientError.js';
import type { PeerTransport, PeerTransportState } from '../core/PeerTransport.js';
import type { SessionEngine } from '../core/SessionEngine.js';
import { AudioLevelSampler } from './AudioLevelSampler.js';
import { newId, type Completion, type OTContext } from './context.js';
import { toOTError, type OTError } from './errors.js';
import { createEvent, type EventOf } from './OTEvent.js';
import { OTEventEmitter } from './OTEventEmitter.js';
import type { Session } from './Session.js';
import type { Stream } from './Stream.js';
import {
  checkPreferredFrameRate,
  checkPreferredResolution,
  type Dimensions,
  type PreferredResolution,
} from './videoPreferences.js';
import { VideoPreferenceSync } from './VideoPreferenceSync.js';
import { AudioLevelDisplay, VideoWidget, type WidgetOptions, type WidgetTarget } from './widget.js';

/** The properties of `session.subscribe` this SDK honours (client-api.md §1.4). */
export interface SubscriberProperties extends WidgetOptions {
  /** Play the stream's audio. Default: true. */
  readonly subscribeToAudio?: boolean;
  /** Show the stream's video. Default: true. */
  readonly subscribeToVideo?: boolean;
  /** Volume from 0 to 100. Default: 50. */
  readonly audioVolume?: number;
  /**
   * Routed sessions: the largest video size wanted, or `auto` for the size the subscriber is
   * rendered at (no preference without the default UI); the router sends the simulcast layer
   * nearest below it. Default: none (the largest the link carries).
   */
  readonly preferredResolution?: PreferredResolution;
  /** Routed sessions: the frame rate wanted (30, 15, 7 or 1). Default: none (the highest sent). */
  readonly preferredFrameRate?: number;
}

/**
 * Why video stopped or started showing: the publisher's `publishVideo`, this subscriber's
 * `subscribeToVideo`, or `quality` (audio fallback: the router's, for this subscriber's link, or
 * the publisher's, for its uplink).
 */
export type VideoChangeReason = 'publishVideo' | 'subscribeToVideo' | 'quality';

export interface SubscriberEvents {
  videoElementCreated: EventOf<'videoElementCreated', { element: HTMLVideoElement }>;
  videoDisabled: EventOf<'videoDisabled', { reason: VideoChangeReason }>;
  videoEnabled: EventOf<'videoEnabled', { reason: VideoChangeReason }>;
  /** Routed sessions: this subscriber's link is so poor that the router may soon turn its video off. */
  videoDisableWarning: EventOf<'videoDisableWarning'>;
  /** The link recovered before the video was turned off. */
  videoDisableWarningLifted: EventOf<'videoDisableWarningLifted'>;
  /** Media flows again after an interruption. */
  connected: EventOf<'connected'>;
  /** Media was interrupted (the peer connection lost its link). */
  disconnected: EventOf<'disconnected'>;
  videoDimensionsChanged: EventOf<'videoDimensionsChanged', { oldValue: Dimensions; newValue: Dimensions }>;
  /** The browser refused to play sound without a user gesture; the video plays muted. */
  audioBlocked: EventOf<'audioBlocked'>;
  /** End-to-end encrypted sessions: the stream's media opens with this client's secret (again). */
  encryptionSecretMatch: EventOf<'encryptionSecretMatch'>;
  /** The stream's media does not open with this client's secret; nothing of it is shown or played. */
  encryptionSecretMismatch: EventOf<'encryptionSecretMismatch'>;
  /** The stream's audio level, 0 to 1, about 60 times a second while listened to. */
  audioLevelUpdated: EventOf<'audioLevelUpdated', { audioLevel: number }>;
  /** Every 2 s at most, when the audio or video score (1 bad … 5 excellent) changed. */
  qualityScoreChanged: EventOf<'qualityScoreChanged', { qualityScore: QualityScore }>;
  destroyed: EventOf<'destroyed', { reason: string }>;
}

/** Received bytes and packets, OpenTok's shape. */
export interface SubscriberStats {
  readonly audio: { bytesReceived: number; packetsReceived: number; packetsLost: number };
  readonly video: {
    bytesReceived: number;
    packetsReceived: number;
    packetsLost: number;
    frameRate: number;
    width: number;
    height: number;
  };
  readonly timestamp: number;
  /** Parlor, routed sessions: whether the media comes through the router or straight from the publisher (adaptive routing). */
  readonly mediaPath?: MediaPath;
}

/** OpenTok.js's Subscriber: another client's stream, received and shown in the page. */
export class Subscriber extends OTEventEmitter<SubscriberEvents> {
  readonly id: string;
  readonly #context: OTContext;
  readonly #session: Session;
  readonly #engine: SessionEngine;
  readonly #widget: VideoWidget;
  readonly #levelDisplay: AudioLevelDisplay;
  /** The router's audio fallback turned this subscriber's video off. */
  #fallbackVideoOff = false;
  readonly #media = new MediaStream();
  /** Routed sessions only: the video preferences, kept in step with the server. */
  readonly #preferences: VideoPreferenceSync | null;
  #transport: PeerTransport | undefined;
  /** The peer connection played from: the subscription's own, or under adaptive routing the direct one. */
  #carrier: PeerTransport | undefined;
  /** Routed sessions: whether the media comes through the router or straight from the publisher. */
  #mediaPath: MediaPath = 'routed';
  /** The completion handler of `session.subscribe`, called once. */
  #completion: Completion | undefined;
  /** Whether the media last opened with this client's secret; null before any encrypted frame. */
  #secretMatches: boolean | null = null;
  /**
   * Levels from the audio-level header extension of what arrives (the sender's measure; browsers
   * send it, the router forwards it): no audio graph per subscriber, none of Chromium's silence
   * of Web Audio on remote tracks that no element plays, and cheaper than `getStats` at 60 Hz.
   */
  readonly #levels = new AudioLevelSampler(
    () => {
      return this.#transport
        ? { read: () => this.#carrier?.audioLevel() ?? 0, close: () => undefined }
        : null;
    },
    (audioLevel) => {
      this.dispatch(createEvent('audioLevelUpdated', this, { audioLevel }));
    },
  );
  #subscribeToAudio: boolean;
  #subscribeToVideo: boolean;
  #audioBlocked = false;
  #dimensions: Dimensions = { width: 0, height: 0 };
  /** Whether the peer connection has connected once (the completion handler has been called). */
  #subscribed = false;
  #destroyed = false;
  #stream: Stream;

  /** @internal Use `session.subscribe`. */
  constructor(
    context: OTContext,
    session: Session,
    engine: SessionEngine,
    stream: Stream,
    target: WidgetTarget,
    properties: SubscriberProperties,
    completion?: Completion,
  ) {
    super(context.logger);
    const preferredResolution = checkPreferredResolution(properties.preferredResolution);
    const preferredFrameRate = checkPreferredFrameRate(properties.preferredFrameRate);
    this.id = newId();
    this.#stream = stream;
    this.#context = context;
    context.subscribers._add(this);
    this.#session = session;
    this.#engine = engine;
    this.#subscribeToAudio = properties.subscribeToAudio ?? true;
    this.#subscribeToVideo = properties.subscribeToVideo ?? true;
    this.#widget = new VideoWidget('subscriber', this.id, target, properties);
    this.#widget.setName(stream.name);
    this.#levelDisplay = new AudioLevelDisplay(this.#widget, (handler, on) => {
      if (on) this.on('audioLevelUpdated', handler);
      else this.off('audioLevelUpdated', handler);
    });
    this.#updateLevelDisplay();
    this.setAudioVolume(properties.audioVolume ?? 50);
    this.#widget.video.addEventListener('resize', () => {
      this.#resized();
    });
    this.#preferences =
      engine.mediaMode === 'routed'
        ? new VideoPreferenceSync({
            resolution: preferredResolution,
            frameRate: preferredFrameRate,
            element: this.#widget.element,
          })
        : null;
    engine.subscribe(stream.streamId, this.#preferences?.subscribeWith()).then(
      (transport) => {
        this.#attach(transport, completion);
      },
      (error: unknown) => {
        this.#failed(toOTError(error), completion);
      },
    );
  }

  /** The stream received; the client's own stream follows it when it moves to the session's new node. */
  get stream(): Stream {
    return this.#stream;
  }

  /** The inserted element; undefined with `insertDefaultUI: false`. */
  get element(): HTMLElement | undefined {
    return this.#widget.element;
  }

  /** The session subscribed in, until the subscriber is destroyed (samples check it before each call). */
  get session(): Session | undefined {
    return this.#destroyed ? undefined : this.#session;
  }

  subscribeToAudio(value: boolean): this {
    this.#subscribeToAudio = value;
    for (const track of this.#media.getAudioTracks()) track.enabled = value;
    return this;
  }

  subscribeToVideo(value: boolean): this {
    const changed = value !== this.#subscribeToVideo;
    this.#subscribeToVideo = value;
    for (const track of this.#media.getVideoTracks()) track.enabled = value;
    if (changed && this.stream.hasVideo) this.#videoChanged(value, 'subscribeToVideo');
    this.#updateLevelDisplay();
    return this;
  }

  /**
   * Routed sessions: the largest video size wanted, `auto` for the rendered size, or null for
   * none; the router moves this subscriber to the simulcast layer that fits. Throws
   * OT_INVALID_PARAMETER for anything else.
   */
  setPreferredResolution(resolution: PreferredResolution | null): this {
    const checked = checkPreferredResolution(resolution);
    this.#preferences?.setResolution(checked);
    return this;
  }

  /**
   * Routed sessions: the frame rate wanted (30, 15, 7 or 1), or null for the highest; the router
   * drops the frames above it. Throws OT_INVALID_PARAMETER for anything else.
   */
  setPreferredFrameRate(frameRate: number | null): this {
    const checked = checkPreferredFrameRate(frameRate);
    this.#preferences?.setFrameRate(checked);
    return this;
  }

  /** Volume from 0 to 100. */
  setAudioVolume(volume: number): this {
    this.#widget.video.volume = Math.min(100, Math.max(0, volume)) / 100;
    return this;
  }

  getAudioVolume(): number {
    return Math.round(this.#widget.video.volume * 100);
  }

  isAudioBlocked(): boolean {
    return this.#audioBlocked;
  }

  videoWidth(): number {
    return this.#widget.video.videoWidth;
  }

  videoHeight(): number {
    return this.#widget.video.videoHeight;
  }

  /**
   * The standard statistics of the peer connection the media comes over (under adaptive routing,
   * the direct one while the stream goes peer to peer).
   */
  getRtcStatsReport(): Promise<RTCStatsReport> {
    if (!this.#carrier) {
      return Promise.reject(
        toOTError(new ClientError(clientErrorCodes.unableToSubscribe, 'not subscribed yet')),
      );
    }
    return this.#carrier.getStats();
  }

  /** Received bytes, packets and frame rate; also as a completion `(error, stats)`. */
  async getStats(completion?: (error?: OTError, stats?: SubscriberStats) => void): Promise<SubscriberStats> {
    try {
      const stats = {
        ...inboundStats(await this.getRtcStatsReport()),
        ...(this.#engine.mediaMode === 'routed' ? { mediaPath: this.#mediaPath } : {}),
      };
      completion?.(undefined, stats);
      return stats;
    } catch (error) {
      completion?.(toOTError(error));
      throw error;
    }
  }

  /**
   * @internal The stream's `hasVideo` changed: the publisher turned its video off or on
   * (`publishVideo`), or its audio fallback did (`quality`).
   */
  _hasVideoChanged(hasVideo: boolean, reason: 'publishVideo' | 'quality'): void {
    if (this.#subscribeToVideo) this.#videoChanged(hasVideo, reason);
    this.#updateLevelDisplay();
  }

  /**
   * @internal The router's audio fallback changed what it sends over a subscription's transport;
   * nothing happens when that is not this subscriber's.
   */
  _videoFallback(transport: PeerTransport, event: VideoFallbackEvent): void {
    if (transport !== this.#transport || this.#destroyed) return;
    switch (event) {
      case 'videoDisableWarning':
      case 'videoDisableWarningLifted':
        this.#widget.setVideoDisabledIndicator(event === 'videoDisableWarning' ? 'warning' : null);
        this.dispatch(createEvent(event, this, {}));
        break;
      case 'videoDisabled':
        this.#fallbackVideoOff = true;
        this.#updateLevelDisplay();
        this.#widget.setVideoDisabledIndicator('disabled');
        this.dispatch(createEvent('videoDisabled', this, { reason: 'quality' as const }));
        break;
      case 'videoEnabled':
        this.#fallbackVideoOff = false;
        this.#updateLevelDisplay();
        this.#widget.setVideoDisabledIndicator(null);
        this.dispatch(createEvent('videoEnabled', this, { reason: 'quality' as const }));
        break;
    }
  }

  /** @internal A transport's quality scores changed; nothing happens when that is not this subscriber's. */
  _qualityScore(transport: PeerTransport, qualityScore: QualityScore): void {
    if (transport !== this.#transport || this.#destroyed) return;
    this.dispatch(createEvent('qualityScoreChanged', this, { qualityScore }));
  }

  /**
   * @internal Adaptive routing: a subscription plays from another path, whose new media decodes
   * already; this subscriber's element plays that path's tracks in place of the old ones.
   */
  _mediaPathChanged(transport: PeerTransport, path: MediaPath, carrier: PeerTransport): void {
    if (transport !== this.#transport || this.#destroyed) return;
    this.#mediaPath = path;
    // Media plays: subscribed, whether or not the router's connection is up.
    if (!this.#subscribed) {
      this.#subscribed = true;
      this.#completion?.();
    }
    this.#carrier = carrier;
    const tracks = carrier.receivedTracks();
    for (const track of this.#media.getTracks()) {
      if (!tracks.includes(track)) this.#media.removeTrack(track);
    }
    for (const track of tracks) this.#addTrack(track);
  }

  /** @internal A subscription's media started or stopped opening with this client's secret. */
  _decryption(transport: PeerTransport, matches: boolean): void {
    if (transport !== this.#transport || this.#destroyed || matches === this.#secretMatches) return;
    this.#secretMatches = matches;
    this.dispatch(createEvent(matches ? 'encryptionSecretMatch' : 'encryptionSecretMismatch', this, {}));
  }

  /**
   * @internal The stream, this client's own, is published again as `stream` on the session's
   * new node (a migration ended the old one with its node): the subscription follows it there,
   * in the same element. The others' streams end instead, and the application subscribes to them
   * again on `streamCreated`; for its own stream it is told nothing to act on.
   */
  _moved(stream: Stream): void {
    if (this.#destroyed) return;
    this.#stream = stream;
    if (this.#transport) this.#engine.unsubscribe(this.#transport);
    this.#transport = undefined;
    this.#carrier = undefined;
    for (const track of this.#media.getTracks()) this.#media.removeTrack(track);
    this.#engine.subscribe(stream.streamId, this.#preferences?.subscribeWith()).then(
      (transport) => {
        this.#attach(transport, this.#completion);
      },
      (error: unknown) => {
        this.#failed(toOTError(error), undefined);
      },
    );
  }

  /** @internal Stops receiving and removes the element; `destroyed` follows. Idempotent. */
  _destroy(reason: string): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#levels.setListening(false);
    this.#context.subscribers._remove(this);
    this.#preferences?.stop();
    if (this.#transport) this.#engine.unsubscribe(this.#transport);
    this.#widget.remove();
    this.#session._subscriberDestroyed(this);
    this.dispatch(createEvent('destroyed', this, { reason }));
  }

  /** The meter shows while no video shows (OpenTok's `auto`). */
  #updateLevelDisplay(): void {
    this.#levelDisplay.update(this.#subscribeToVideo && this.stream.hasVideo && !this.#fallbackVideoOff);
  }

  /** Starts audio levels with the first listener, stops them after the last. */
  protected override listenersChanged(type: string): void {
    if (type === 'audioLevelUpdated') this.#levels.setListening(this.listenerCount(type) > 0);
  }

  #attach(transport: PeerTransport, completion: Completion | undefined): void {
    if (this.#destroyed) {
      this.#engine.unsubscribe(transport);
      return;
    }
    this.#transport = transport;
    this.#carrier = transport;
    this.#completion = completion;
    this.#preferences?.connect((changes) => {
      this.#engine.updateSubscription(transport, changes).catch((error: unknown) => {
        this.#context.logger.warn('the video preferences were not taken', error);
      });
    });
    transport.on('track', (track) => {
      if (this.#carrier === transport) this.#addTrack(track);
    });
    transport.on('stateChanged', (state) => {
      this.#transportState(state, completion);
    });
    transport.on('error', (error) => {
      if (!this.#subscribed) this.#failed(toOTError(error), completion);
    });
  }

  #addTrack(track: MediaStreamTrack): void {
    track.enabled = track.kind === 'audio' ? this.#subscribeToAudio : this.#subscribeToVideo;
    if (this.#media.getTrackById(track.id)) return;
    this.#media.addTrack(track);
    const { video } = this.#widget;
    if (video.srcObject === this.#media) return;
    video.srcObject = this.#media;
    this.dispatch(createEvent('videoElementCreated', this, { element: video }));
    video.play().catch(() => {
      // Autoplay with sound needs a user gesture on this page: play muted rather than not at all.
      this.#audioBlocked = true;
      video.muted = true;
      this.dispatch(createEvent('audioBlocked', this, {}));
      video.play().catch((error: unknown) => {
        this.#context.logger.warn('the subscriber video cannot play', error);
      });
    });
  }

  #transportState(state: PeerTransportState, completion: Completion | undefined): void {
    if (this.#carrier !== this.#transport) {
      // Adaptive routing, peer to peer: the router's connection is the spare path.
      if (state === 'failed')
        this.#context.logger.warn(
          'the Media Router cannot be reached: the stream plays peer to peer, and cannot move to the router',
        );
      return;
    }
    if (state === 'connected') {
      if (!this.#subscribed) {
        this.#subscribed = true;
        completion?.();
      } else {
        this.dispatch(createEvent('connected', this, {}));
      }
    } else if (state === 'disconnected' && this.#subscribed) {
      this.dispatch(createEvent('disconnected', this, {}));
    } else if (state === 'failed' && !this.#subscribed) {
      this.#failed(
        toOTError(
          new ClientError(clientErrorCodes.iceWorkflowFailed, 'the peer connection could not connect'),
        ),
        completion,
      );
    }
  }

  #failed(error: OTError, completion: Completion | undefined): void {
    if (this.#destroyed) return;
    this.#preferences?.stop();
    this.#context.reportException(error, this);
    completion?.(error);
  }

  #videoChanged(enabled: boolean, reason: VideoChangeReason): void {
    if (enabled) this.dispatch(createEvent('videoEnabled', this, { reason }));
    else this.dispatch(createEvent('videoDisabled', this, { reason }));
  }

  #resized(): void {
    const newValue = { width: this.videoWidth(), height: this.videoHeight() };
    const oldValue = this.#dimensions;
    if (newValue.width === oldValue.width && newValue.height === oldValue.height) return;
    this.#dimensions = newValue;
    // The first size is no change: the video just started.
    if (oldValue.width === 0 && oldValue.height === 0) return;
    this.dispatch(createEvent('videoDimensionsChanged', this, { oldValue, newValue }));
  }
}

/** Sums the inbound RTP counters of the peer connection, per kind. */
function inboundStats(report: RTCStatsReport): SubscriberStats {
  const audio = { bytesReceived: 0, packetsReceived: 0, packetsLost: 0 };
  const video = { bytesReceived: 0, packetsReceived: 0, packetsLost: 0, frameRate: 0, width: 0, height: 0 };
  report.forEach((entry: RTCStats & Record<string, unknown>) => {
    if (entry.type !== 'inbound-rtp') return;
    const target = entry.kind === 'audio' ? audio : video;
    target.bytesReceived += Number(entry.bytesReceived ?? 0);
    target.packetsReceived += Number(entry.packetsReceived ?? 0);
    target.packetsLost += Number(entry.packetsLost ?? 0);
    if (entry.kind === 'video') {
      video.frameRate = Number(entry.framesPerSecond ?? 0);
      video.width = Number(entry.frameWidth ?? 0);
      video.height = Number(entry.frameHeight ?? 0);
    }
  });
  return { audio, video, timestamp: Date.now() };
}
