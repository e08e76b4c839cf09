import { InvalidStateError } from '../../InvalidStateError.js';
import { TypedEmitter } from '../../TypedEmitter.js';
import type { UdpMux } from '../ice/UdpMux.js';
import type { MediaSection } from '../rtpParameters.js';
import {
  acceptPublisherMedia,
  answerPublisher,
  offerSubscriber,
  parseDescription,
  type LocalTransport,
  type RemoteDescription,
} from '../sdp/sdp.js';
import type { DtlsCertificate } from '../transport/DtlsCertificate.js';
import { DtlsSrtpTransport } from '../transport/DtlsSrtpTransport.js';
import { Publication } from './Publication.js';
import { Subscription, type VideoPreferences } from './Subscription.js';

/** Whether a publisher should send one of its simulcast encodings. */
export interface EncodingState {
  readonly rid: string;
  readonly active: boolean;
}

export interface MediaRouterEvents {
  /**
   * The encodings of a publication's video that some subscriber needs changed: the publisher
   * should send the active ones and pause the others (to save its uplink and CPU).
   */
  encodingsChanged: [publication: Publication, encodings: readonly EncodingState[]];
}

export interface MediaRouterOptions {
  /** The UDP socket every peer of this router reaches. */
  readonly mux: UdpMux;
  readonly certificate: DtlsCertificate;
  /** The address announced in ICE candidates (the host's public address). */
  readonly announcedAddress: string;
  /** The bitrate video publishers are told they may reach, bits/s. Default: 2,500,000. */
  readonly maxVideoBitrate?: number;
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
}

export interface PublicationStats {
  readonly id: string;
  readonly tracks: readonly TrackStats[];
}

export interface SubscriptionStats {
  readonly id: string;
  readonly publicationId: string;
  /** The subscriber's estimate of its downlink (REMB), bits/s. */
  readonly estimatedBitrate: number | null;
  readonly tracks: readonly ForwardedTrackStats[];
}

export interface RouterStats {
  readonly publications: readonly PublicationStats[];
  readonly subscriptions: readonly SubscriptionStats[];
}

/**
 * What the router takes of each section of a publisher's offer (null where it takes nothing);
 * throws a TypeError when it can forward no track at all.
 */
function forwardableMedia(offer: RemoteDescription): (MediaSection | null)[] {
  // Until scalable video lands, one encoding per track and no RTX: retransmissions then keep
  // the original SSRC and payload type.
  const accepted = acceptPublisherMedia(offer).map(
    (media) =>
      media && {
        ...media,
        rids: [],
        codecs: media.codecs.map(({ rtxPayloadType: _rtx, ...codec }) => codec),
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
  readonly #options: Required<MediaRouterOptions>;
  readonly #publications = new Set<Publication>();
  readonly #subscriptions = new Map<Subscription, Publication>();
  #closed = false;

  constructor(options: MediaRouterOptions) {
    super();
    this.#options = { maxVideoBitrate: 2_500_000, ...options };
  }

  /** Answers a publisher's offer; media flows once ICE and DTLS complete. */
  publish(offerSdp: string): { publication: Publication; answerSdp: string } {
    this.#assertOpen();
    const offer = parseDescription(offerSdp);
    const accepted = forwardableMedia(offer);
    const sections = accepted.filter((media) => media !== null);
    const endpoint = this.#options.mux.createEndpoint();
    const transport = new DtlsSrtpTransport({
      endpoint,
      certificate: this.#options.certificate,
      remoteFingerprint: offer.fingerprint,
    });
    const publication = new Publication({
      transport,
      sections,
      maxVideoBitrate: this.#options.maxVideoBitrate,
    });
    this.#publications.add(publication);
    transport.on('stateChange', (state) => {
      if (state === 'closed') endpoint.close();
    });
    return { publication, answerSdp: answerPublisher(offer, accepted, this.#local(endpoint)) };
  }

  /** Offers a subscriber the tracks of a publication; give its answer to `answer`. */
  subscribe(
    publication: Publication,
    preferences?: VideoPreferences,
  ): { subscription: Subscription; offerSdp: string } {
    this.#assertOpen();
    if (!this.#publications.has(publication) || publication.closed)
      throw new InvalidStateError('unknown or closed publication');
    const endpoint = this.#options.mux.createEndpoint();
    const transport = new DtlsSrtpTransport({ endpoint, certificate: this.#options.certificate });
    transport.on('stateChange', (state) => {
      if (state === 'closed') endpoint.close();
    });
    const subscription = new Subscription(transport, publication, preferences);
    this.#subscriptions.set(subscription, publication);
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
    return {
      publications: [...this.#publications].map((publication) => ({
        id: publication.id,
        tracks: publication.tracks.map((t) => ({ kind: t.kind, packets: t.packetsIn, bytes: t.bytesIn })),
      })),
      subscriptions: [...this.#subscriptions].map(([subscription, publication]) => ({
        id: subscription.id,
        publicationId: publication.id,
        estimatedBitrate: subscription.estimatedBitrate,
        tracks: subscription.tracks.map((t) => ({
          kind: t.source.kind,
          packets: t.packetsOut,
          bytes: t.bytesOut,
          retransmissions: t.retransmissions,
          fractionLost: t.fractionLost,
          packetsLost: t.packetsLost,
          jitterMs: t.jitterMs,
          rttMs: t.rttMs,
        })),
      })),
    };
  }

  /** Closes every publication and subscription; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const publication of [...this.#publications]) this.unpublish(publication);
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
