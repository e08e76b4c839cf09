import { InvalidStateError } from '../../InvalidStateError.js';
import { TypedEmitter } from '../../TypedEmitter.js';
import type { UdpMux } from '../ice/UdpMux.js';
import { headerExtensionUris, type MediaSection } from '../rtpParameters.js';
import {
  acceptPublisherMedia,
  answerPublisher,
  offerSubscriber,
  parseDescription,
  type LocalTransport,
  type RemoteDescription,
} from '../sdp/sdp.js';
import type { DataPlane } from '../srtp/dataPlane.js';
import type { DtlsCertificate } from '../transport/DtlsCertificate.js';
import { DtlsSrtpTransport } from '../transport/DtlsSrtpTransport.js';
import type { DtlsHandshaker } from '../transport/DtlsHandshaker.js';
import type { HandshakeLimiter } from '../transport/HandshakeLimiter.js';
import { Publication, type EncodingState } from './Publication.js';
import { Subscription, type VideoPreferences } from './Subscription.js';
import type {
  VideoFallbackChange,
  VideoFallbackEvent,
  VideoFallbackSettings,
  VideoFallbackState,
} from './VideoFallback.js';

export type { EncodingState };

export interface MediaRouterEvents {
  /**
   * The encodings of a publication's video that some subscriber needs changed: the publisher
   * should send the active ones and pause the others (to save its uplink and CPU).
   */
  encodingsChanged: [publication: Publication, encodings: readonly EncodingState[]];
  /** A subscriber's link could not carry video any more, or can again: tell it (reason `quality`). */
  videoFallback: [subscription: Subscription, event: VideoFallbackEvent];
}

/**
 * How publishers learn what their uplink carries: `transport-wide`, transport-wide congestion
 * control feedback for every packet they number (their estimate then sees the uplink's queue),
 * with REMB following their uplink's loss for those that number none; `remb`, REMB at the
 * maximum and loss reports only (their estimate then moves by loss alone).
 */
export const publisherFeedbacks = ['transport-wide', 'remb'] as const;
export type PublisherFeedback = (typeof publisherFeedbacks)[number];

export interface MediaRouterOptions {
  /** The UDP socket every peer of this router reaches. */
  readonly mux: UdpMux;
  readonly certificate: DtlsCertificate;
  /** The address announced in ICE candidates (the host's public address). */
  readonly announcedAddress: string;
  /** The bitrate video publishers are told they may reach (REMB), bits/s. Default: 2,500,000. */
  readonly maxVideoBitrate?: number;
  /** See `publisherFeedbacks`. Default: `transport-wide`. */
  readonly publisherFeedback?: PublisherFeedback;
  /** Audio fallback's thresholds for subscribers; null turns it off. Default: ours. */
  readonly videoFallback?: VideoFallbackSettings | null;
  /** Where SRTP's cryptography runs. Default: `defaultDataPlane`, native when the addon built. */
  readonly dataPlane?: DataPlane;
  /** Bounds the DTLS handshakes of the worker the router runs in. Default: none, no bound. */
  readonly handshakes?: HandshakeLimiter;
  /** Where DTLS handshakes run. Default: werift on this thread. */
  readonly handshaker?: DtlsHandshaker;
}

/** How one subscriber receives a publication. */
export interface SubscribeOptions {
  /** What it wants of the video. Default: no limit. */
  readonly preferences?: VideoPreferences;
  /**
   * Whether its video may be turned off when its link cannot carry it (OpenTok's subscriber audio
   * fallback, which the stream's publisher chooses); nothing turns it on when the router's
   * `videoFallback` is null. Default: true.
   */
  readonly audioFallback?: boolean;
}

/** Counters of one track, for stats. */
export interface TrackStats {
  readonly kind: MediaSection['kind'];
  readonly packets: number;
  readonly bytes: number;
}

/** A forwarded track's counters, with what the subscriber's receiver reports tell. */
export interface ForwardedTrackStats extends TrackStats {
  readonly retransmissions: number;
  /** Share of packets lost in the subscriber's last report interval, 0–1. */
  readonly fractionLost: number;
  readonly packetsLost: number;
  readonly jitterMs: number;
  readonly rttMs: number | null;
  /** The layer forwarded (its RID, or null without simulcast), and the one the router moves to. */
  readonly layer: string | null;
  readonly targetLayer: string | null;
  /** The highest temporal layer forwarded, and the one wanted. */
  readonly temporalLayer: number;
  readonly targetTemporalLayer: number;
  /** Switches between simulcast layers so far. */
  readonly layerSwitches: number;
  /** Audio fallback of video: on, warned, or off for this subscriber; null for audio. */
  readonly videoFallback: VideoFallbackState | null;
  /** Its last change: when (Unix ms), what the subscriber was told, and the link reading why. */
  readonly lastVideoFallback: VideoFallbackChange | null;
}

/** One simulcast layer (or the one encoding) of a published track. */
export interface LayerStats {
  /** Its RID; null without simulcast. */
  readonly rid: string | null;
  /** False while the router has the publisher pause it, because no one needs it. */
  readonly active: boolean;
  /** From its last keyframe that told; 0 before. */
  readonly width: number;
  readonly height: number;
  /** Over the last second it flowed, all temporal layers. */
  readonly bitrate: number;
  readonly frameRate: number;
  /** Frames per second with temporal layers 0..t, by t. */
  readonly temporalFrameRates: readonly number[];
  readonly packets: number;
  /**
   * Packets its uplink lost (gaps the router saw), those the router asked the publisher to resend
   * (each request counts), and those resent in time.
   */
  readonly uplinkLost: number;
  readonly resendsRequested: number;
  readonly repaired: number;
  /** Keyframe requests (PLI) the router sent the publisher for this layer. */
  readonly keyframeRequests: number;
}

export interface PublishedTrackStats extends TrackStats {
  readonly layers: readonly LayerStats[];
}

export interface PublicationStats {
  readonly id: string;
  /** SRTP and SRTCP packets from the publisher that failed authentication or were replays. */
  readonly srtpRejected: number;
  readonly tracks: readonly PublishedTrackStats[];
}

export interface SubscriptionStats {
  readonly id: string;
  readonly publicationId: string;
  /** What the subscriber's downlink carries for video (see `Subscription.estimatedBitrate`), bits/s. */
  readonly estimatedBitrate: number | null;
  /** Keyframe requests (PLI or FIR) the subscriber sent. */
  readonly keyframeRequests: number;
  readonly tracks: readonly ForwardedTrackStats[];
}

export interface RouterStats {
  /** Whether its worker, overloaded, holds every subscriber's video at the lowest layer. */
  readonly shedding: boolean;
  readonly publications: readonly PublicationStats[];
  readonly subscriptions: readonly SubscriptionStats[];
}

/**
 * What the router takes of each section of a publisher's offer (null where it takes nothing);
 * throws a TypeError when it can forward no track at all.
 */
function forwardableMedia(
  offer: RemoteDescription,
  feedback: PublisherFeedback = 'transport-wide',
): (MediaSection | null)[] {
  // No RTX from publishers: retransmissions then keep the original SSRC and payload type, and
  // each simulcast layer is one SSRC, learnt from its RID.
  const accepted = acceptPublisherMedia(offer).map(
    (media) =>
      media && {
        ...media,
        codecs: media.codecs.map(({ rtxPayloadType: _rtx, ...codec }) =>
          feedback === 'remb'
            ? { ...codec, feedback: codec.feedback.filter((f) => f !== 'transport-cc') }
            : codec,
        ),
        extensions:
          feedback === 'remb'
            ? media.extensions.filter((extension) => extension.uri !== headerExtensionUris.transportWideCc)
            : media.extensions,
      },
  );
  if (accepted.every((media) => media === null))
    throw new TypeError('the offer has no track the router can forward');
  return accepted;
}

/** Throws the TypeError `MediaRouter.publish` would throw for this offer, without a router. */
export function checkPublisherOffer(offerSdp: string): void {
  forwardableMedia(parseDescription(offerSdp));
}

/**
 * One session's Media Router: each publisher sends its tracks once, and the router forwards
 * them to every subscription. It speaks SDP at its edge and knows nothing of signaling.
 */
export class MediaRouter extends TypedEmitter<MediaRouterEvents> {
  readonly #options: MediaRouterOptions & { readonly maxVideoBitrate: number };
  /** With the transport each publishes on. */
  readonly #publications = new Map<Publication, DtlsSrtpTransport>();
  readonly #subscriptions = new Map<Subscription, Publication>();
  #shedding = false;
  #closed = false;

  constructor(options: MediaRouterOptions) {
    super();
    this.#options = { maxVideoBitrate: 2_500_000, ...options };
  }

  /** Answers a publisher's offer; media flows once ICE and DTLS complete. */
  publish(offerSdp: string): { publication: Publication; answerSdp: string } {
    this.#assertOpen();
    const offer = parseDescription(offerSdp);
    const accepted = forwardableMedia(offer, this.#options.publisherFeedback ?? 'transport-wide');
    const sections = accepted.filter((media) => media !== null);
    const endpoint = this.#options.mux.createEndpoint();
    const transport = new DtlsSrtpTransport({
      endpoint,
      certificate: this.#options.certificate,
      dataPlane: this.#options.dataPlane,
      ...(this.#options.handshakes ? { handshakes: this.#options.handshakes } : {}),
      ...(this.#options.handshaker ? { handshaker: this.#options.handshaker } : {}),
      remoteFingerprint: offer.fingerprint,
    });
    const publication = new Publication({
      transport,
      sections,
      maxVideoBitrate: this.#options.maxVideoBitrate,
      feedback: this.#options.publisherFeedback ?? 'transport-wide',
    });
    this.#publications.set(publication, transport);
    publication.on('encodingsChanged', (encodings) => {
      this.safeEmit('encodingsChanged', publication, encodings);
    });
    transport.on('stateChange', (state) => {
      if (state === 'closed') endpoint.close();
    });
    return { publication, answerSdp: answerPublisher(offer, accepted, this.#local(endpoint)) };
  }

  /** Offers a subscriber the tracks of a publication; give its answer to `answer`. */
  subscribe(
    publication: Publication,
    options: SubscribeOptions = {},
  ): { subscription: Subscription; offerSdp: string } {
    this.#assertOpen();
    if (!this.#publications.has(publication) || publication.closed)
      throw new InvalidStateError('unknown or closed publication');
    const endpoint = this.#options.mux.createEndpoint();
    const transport = new DtlsSrtpTransport({
      endpoint,
      certificate: this.#options.certificate,
      dataPlane: this.#options.dataPlane,
      ...(this.#options.handshakes ? { handshakes: this.#options.handshakes } : {}),
      ...(this.#options.handshaker ? { handshaker: this.#options.handshaker } : {}),
    });
    transport.on('stateChange', (state) => {
      if (state === 'closed') endpoint.close();
    });
    const { preferences, audioFallback = true } = options;
    const videoFallback = audioFallback ? this.#options.videoFallback : null;
    const subscription = new Subscription(transport, publication, {
      ...(preferences ? { preferences } : {}),
      ...(videoFallback === undefined ? {} : { videoFallback }),
    });
    subscription.on('videoFallback', (event) => {
      this.safeEmit('videoFallback', subscription, event);
    });
    this.#subscriptions.set(subscription, publication);
    if (this.#shedding) subscription.setShedding(true);
    const offerSdp = offerSubscriber(
      subscription.tracks.map((track) => ({
        section: track.section,
        ssrc: track.ssrc,
        rtxSsrc: track.rtx?.ssrc,
        cname: publication.id,
        streamId: publication.id,
        trackId: `${publication.id}-${track.section.mid}`,
      })),
      this.#local(endpoint),
    );
    return { subscription, offerSdp };
  }

  /** Completes a subscription with the subscriber's answer. */
  answer(subscription: Subscription, answerSdp: string): void {
    this.#assertOpen();
    subscription.setRemoteDescription(parseDescription(answerSdp));
  }

  /** Changes what a subscriber wants of the video it receives. */
  setPreferences(subscription: Subscription, preferences: VideoPreferences): void {
    this.#assertOpen();
    subscription.setPreferences(preferences);
  }

  /** Holds every subscriber's video at the lowest layer (an overloaded worker), or lets it go. */
  setShedding(shedding: boolean): void {
    this.#shedding = shedding;
    for (const subscription of this.#subscriptions.keys()) subscription.setShedding(shedding);
  }

  unpublish(publication: Publication): void {
    for (const [subscription, source] of this.#subscriptions)
      if (source === publication) this.unsubscribe(subscription);
    publication.close();
    this.#publications.delete(publication);
  }

  unsubscribe(subscription: Subscription): void {
    subscription.close();
    this.#subscriptions.delete(subscription);
  }

  stats(): RouterStats {
    for (const subscription of this.#subscriptions.keys()) subscription.readForwarding();
    return {
      shedding: this.#shedding,
      publications: [...this.#publications].map(([publication, transport]) => ({
        id: publication.id,
        srtpRejected: transport.srtpRejected,
        tracks: publication.tracks.map((t) => ({
          kind: t.kind,
          packets: t.packetsIn,
          bytes: t.bytesIn,
          layers: t.layers.map((layer) => ({
            rid: layer.rid,
            active: layer.active,
            width: layer.width,
            height: layer.height,
            bitrate: layer.bitrates.at(-1) ?? 0,
            frameRate: layer.frameRates.at(-1) ?? 0,
            temporalFrameRates: layer.frameRates,
            packets: layer.packetsIn,
            uplinkLost: layer.resends?.counts.missed ?? 0,
            resendsRequested: layer.resends?.counts.requested ?? 0,
            repaired: layer.resends?.counts.repaired ?? 0,
            keyframeRequests: layer.keyframeRequests,
          })),
        })),
      })),
      subscriptions: [...this.#subscriptions].map(([subscription, publication]) => ({
        id: subscription.id,
        publicationId: publication.id,
        estimatedBitrate: subscription.estimatedBitrate,
        keyframeRequests: subscription.keyframeRequests,
        tracks: subscription.tracks.map((t) => ({
          kind: t.source.kind,
          packets: t.packetsOut,
          bytes: t.bytesOut,
          retransmissions: t.retransmissions,
          fractionLost: t.fractionLost,
          packetsLost: t.packetsLost,
          jitterMs: t.jitterMs,
          rttMs: t.rttMs,
          layer: t.layer?.rid ?? null,
          targetLayer: t.targetLayer?.rid ?? null,
          temporalLayer: t.temporalLayer,
          targetTemporalLayer: t.targetTemporalLayer,
          layerSwitches: t.layerSwitches,
          videoFallback: t.fallback?.state ?? null,
          lastVideoFallback: t.fallback?.lastChange ?? null,
        })),
      })),
    };
  }

  /** Closes every publication and subscription; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const publication of [...this.#publications.keys()]) this.unpublish(publication);
  }

  #local(endpoint: { usernameFragment: string; password: string }): LocalTransport {
    return {
      iceUfrag: endpoint.usernameFragment,
      icePwd: endpoint.password,
      fingerprint: `sha-256 ${this.#options.certificate.fingerprint}`,
      candidates: [
        { ip: this.#options.announcedAddress, port: this.#options.mux.port },
        ...(this.#options.mux.acceptsTcp
          ? [{ ip: this.#options.announcedAddress, port: this.#options.mux.port, protocol: 'tcp' as const }]
          : []),
      ],
    };
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidStateError('the media router is closed');
  }
}
