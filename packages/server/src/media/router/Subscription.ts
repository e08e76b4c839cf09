import { randomInt, randomUUID } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { ntpFromUnixMs, ntpMiddle32 } from '../rtcp/ntp.js';
import { parseRtcp, serializeRtcp, type ReportBlock } from '../rtcp/rtcp.js';
import { DownlinkEstimator, type TransportFeedbackReport } from '../bwe/DownlinkEstimator.js';
import {
  appendTransportSequenceNumber,
  stripHeaderExtensions,
  transportSequenceNumberRoom,
  writeAbsSendTime,
} from '../rtp/headerExtensions.js';
import { PictureIdRewriter } from '../rtp/PictureIdRewriter.js';
import { RetransmissionBuffer } from '../rtp/RetransmissionBuffer.js';
import { readSequenceNumber, rtpHeaderLength } from '../rtp/rtpHeader.js';
import { RtpRewriter } from '../rtp/RtpRewriter.js';
import { serializeRtx, type RtxStream } from '../rtp/rtx.js';
import { headerExtensionUris, type HeaderExtension, type MediaSection } from '../rtpParameters.js';
import type { RemoteDescription } from '../sdp/sdp.js';
import type { DtlsSrtpTransport } from '../transport/DtlsSrtpTransport.js';
import { TypedEmitter } from '../../TypedEmitter.js';
import type { FanOutSlot, FanOutSlotState } from './FanOutGroup.js';
import { bitrateOf, LayerSelector, temporalLayerFor, type LayerView } from './LayerSelector.js';
import { NackLossWindow } from './NackLossWindow.js';
import { threadClock, type PeriodicTask } from './PeriodicClock.js';
import { VideoFallback, type VideoFallbackEvent, type VideoFallbackSettings } from './VideoFallback.js';
import type { Publication, PublishedLayer, PublishedTrack, RoutedPacket } from './Publication.js';

/** One track as one subscriber receives it: its own SSRC and continuous numbering. */
export interface ConsumedTrack {
  readonly source: PublishedTrack;
  /** The section offered to the subscriber. */
  readonly section: MediaSection;
  readonly ssrc: number;
  readonly payloadType: number;
  /**
   * The IDs of the publisher's header extensions offered on (`forwardedExtensions`): its other
   * elements (MID, RID, repaired RID, transport-wide numbers) are removed from what is forwarded.
   */
  readonly keptExtensionIds: ReadonlySet<number>;
  readonly rewriter: RtpRewriter;
  /**
   * The stream retransmissions go on (RFC 4588), offered for video; null for audio, and when the
   * subscriber's answer dropped RTX: lost packets are then resent as they were first sent.
   */
  rtx: RtxStream | null;
  packetsOut: number;
  bytesOut: number;
  /** RTP payload octets sent, for sender reports. */
  payloadOctetsOut: number;
  retransmissions: number;
  /**
   * Packets the subscriber asked to have resent (NACK) of those sent since the layer last
   * changed or video came back; one asked for twice counts twice.
   */
  nacked: number;
  /**
   * The share of the packets sent in the last second that the subscriber asked to have resent,
   * 0–1, as of the last tick: its loss before repair, which its receiver reports leave out once
   * retransmissions fill the gaps.
   */
  nackLoss: number;
  readonly nackLossWindow: NackLossWindow;
  /**
   * The share its own link lost since the subscriber's report before the latest, 0–1: what the
   * reports count as lost, less what never reached the router (see `RtpRewriter.skipped`).
   */
  fractionLost: number;
  reportMark: ReportMark | null;
  /** Cumulative packets lost, as the subscriber counts them. */
  packetsLost: number;
  jitterMs: number;
  /** Round-trip time from the subscriber's echo of a sender report; null until one came. */
  rttMs: number | null;
  /** `ntpMiddle32` of the last sender report sent, to match the receiver's echo. */
  lastSenderReport: number;
  /**
   * The source layer forwarded now. Simulcast video starts (and switches) at a keyframe: null
   * until the first one of its target.
   */
  layer: PublishedLayer | null;
  /** The layer the subscriber moves to at its next keyframe; null until one can be chosen. */
  targetLayer: PublishedLayer | null;
  /** The highest temporal layer forwarded now, and the one it moves to at the next chance. */
  temporalLayer: number;
  targetTemporalLayer: number;
  layerSwitches: number;
  /** Chooses the layers of video whose payload the router reads; null for audio and others. */
  readonly selector: LayerSelector | null;
  /** Turns video off when the link cannot carry the lowest layer; null for audio and others. */
  readonly fallback: VideoFallback | null;
  /** When the subscriber's last receiver report for this track came, ms; 0 before one. */
  lastReportAtMs: number;
  /** When the span that report tells of began: the report before it, ms; 0 for the first. */
  reportSpanFromMs: number;
  /** Keeps VP8/VP9 picture numbering continuous across switches and dropped frames. */
  readonly pictureIds: PictureIdRewriter | null;
  /** Packets sent with their picture numbering rewritten, by source sequence number, for resends. */
  readonly rewrittenPackets: RetransmissionBuffer | null;
}

/** A receiver report's counts, and the sequence numbers the router had skipped when it came. */
export interface ReportMark {
  readonly highestSequence: number;
  readonly packetsLost: number;
  readonly skipped: number;
}

/** The publisher's header extensions offered on to subscribers, under the publisher's IDs. */
const forwardedExtensions = new Set<string>([
  headerExtensionUris.absSendTime,
  headerExtensionUris.audioLevel,
  headerExtensionUris.videoOrientation,
]);
/** Receiver reports older than this no longer tell the link's loss, ms. */
const freshReportMs = 2500;
/** How long an active layer may send nothing before it is no longer chosen, ms. */
const stalledLayerMs = 1500;
/** How long a resumed layer has to start flowing, ms. */
const resumeGraceMs = 3000;

/** What a subscriber wants of a publication's video; null for no limit. */
export interface VideoPreferences {
  /** The largest size wanted: the router picks the largest layer that fits in it. */
  readonly resolution: { readonly width: number; readonly height: number } | null;
  /** Frames per second wanted: the router drops temporal layers above it. */
  readonly frameRate: number | null;
}

/** No limit: the highest layer the subscriber's link carries. */
export const noVideoPreferences: VideoPreferences = { resolution: null, frameRate: null };

/**
 * How often a subscription reads its NACK loss, ms; it chooses layers anew each tick while its
 * link is in doubt (audio fallback then reacts within a tick or two of the NACKs telling of
 * loss), each second otherwise, and on the subscriber's feedback.
 */
const tickMs = 250;
/** Sender reports go once a second (RFC 3550: ~5 s; browsers ~1 s). */
const ticksPerSecond = 4;
/** Size of a subscription's scratch header; browsers' headers with their extensions are under 100 bytes. */
const maxScratchHeaderLength = 256;
/** An estimate below this share of the last one has layers chosen anew at once. */
const estimateFall = 0.95;

export interface SubscriptionEvents {
  /** Audio fallback for this subscriber: tell it (reason `quality`). */
  videoFallback: [event: VideoFallbackEvent];
}

export interface SubscriptionOptions {
  readonly preferences?: VideoPreferences;
  /** Audio fallback's thresholds; null turns it off for this subscription. Default: ours. */
  readonly videoFallback?: VideoFallbackSettings | null;
}

/**
 * What the router sends one subscriber of one publication: each track rewritten to the
 * subscriber's SSRC, its losses repaired from the publication's buffer, its keyframe requests
 * passed upstream.
 */
export class Subscription extends TypedEmitter<SubscriptionEvents> {
  readonly id = randomUUID();
  readonly tracks: readonly ConsumedTrack[];
  readonly #transport: DtlsSrtpTransport;
  readonly #publication: Publication;
  readonly #forward: (packet: RoutedPacket) => void;
  readonly #tracksBySource: ReadonlyMap<PublishedTrack, ConsumedTrack>;
  readonly #tracksBySsrc: ReadonlyMap<number, ConsumedTrack>;
  /**
   * Where each forwarded packet's header is rewritten for this subscriber, then encrypted from:
   * the payload is read from the publication's packet, which all its subscriptions share.
   */
  readonly #header = Buffer.alloc(maxScratchHeaderLength);
  readonly #tick: PeriodicTask;
  #ticks = 0;
  /** The transport-wide sequence number extension offered; numbered only if the answer kept it. */
  readonly #transportWideCc: HeaderExtension;
  /** The estimate from transport-wide feedback; null when the subscriber did not take it. */
  #downlink: DownlinkEstimator | null = null;
  /** What the downlink carries for video, bits/s; null until known. */
  #estimatedBitrate: number | null = null;
  /** The audio sent over the last second, bits/s (RTP packets): the estimate less it is video's. */
  #audioBitrate = 0;
  #keyframeRequests = 0;
  #audioBytesAtSecond = 0;
  #preferences: VideoPreferences;
  /** Whether its worker is overloaded: its video is then held at the lowest layer. */
  #shedding = false;
  /**
   * On the native data plane, each track's slot in its publication's fan-out, which forwards
   * and resends its packets (the `rtp` listener is then off), and what the slot last told;
   * null on the TypeScript plane, and before the transport connected.
   */
  #slots: Map<ConsumedTrack, { readonly slot: FanOutSlot; readonly state: FanOutSlotState }> | null = null;
  #closed = false;

  constructor(transport: DtlsSrtpTransport, publication: Publication, options: SubscriptionOptions = {}) {
    super();
    this.#preferences = options.preferences ?? noVideoPreferences;
    const fallbackSettings = options.videoFallback;
    this.#transport = transport;
    this.#publication = publication;
    this.#transportWideCc = {
      id: freeExtensionId(publication.tracks.flatMap((track) => track.section.extensions)),
      uri: headerExtensionUris.transportWideCc,
    };
    this.tracks = publication.tracks.map((source, index) => {
      const [codec] = source.section.codecs;
      if (!codec) throw new TypeError('a published track has no codec');
      const ssrc = randomSsrc();
      const rtx: RtxStream | null =
        source.kind === 'video'
          ? {
              ssrc: randomSsrc(ssrc),
              payloadType: rtxPayloadTypeFor(codec.payloadType),
              sequence: randomInt(0, 0x10000),
            }
          : null;
      const layered = source.layers.length > 1;
      const forwarded = source.section.extensions.filter((extension) =>
        forwardedExtensions.has(extension.uri),
      );
      return {
        source,
        section: {
          mid: String(index),
          kind: source.kind,
          codecs: [
            {
              ...codec,
              feedback: [...codec.feedback.filter((feedback) => feedback !== 'transport-cc'), 'transport-cc'],
              ...(rtx ? { rtxPayloadType: rtx.payloadType } : {}),
            },
          ],
          extensions: [...forwarded, this.#transportWideCc],
          rids: [],
          ssrcs: [ssrc],
        },
        ssrc,
        payloadType: codec.payloadType,
        keptExtensionIds: new Set(forwarded.map((extension) => extension.id)),
        rewriter: new RtpRewriter(ssrc, codec.clockRate),
        rtx,
        packetsOut: 0,
        bytesOut: 0,
        payloadOctetsOut: 0,
        retransmissions: 0,
        nacked: 0,
        nackLoss: 0,
        nackLossWindow: new NackLossWindow(),
        fractionLost: 0,
        reportMark: null,
        packetsLost: 0,
        jitterMs: 0,
        rttMs: null,
        lastSenderReport: 0,
        layer: layered ? null : (source.layers[0] ?? null),
        targetLayer: layered ? null : (source.layers[0] ?? null),
        temporalLayer: allTemporalLayers,
        targetTemporalLayer: allTemporalLayers,
        layerSwitches: 0,
        selector: source.codec ? new LayerSelector() : null,
        fallback: source.codec && fallbackSettings !== null ? new VideoFallback(fallbackSettings) : null,
        lastReportAtMs: 0,
        reportSpanFromMs: 0,
        pictureIds: source.codec === 'vp8' || source.codec === 'vp9' ? new PictureIdRewriter() : null,
        rewrittenPackets:
          source.codec === 'vp8' || source.codec === 'vp9' ? new RetransmissionBuffer(256) : null,
      };
    });
    this.#tracksBySource = new Map(this.tracks.map((track) => [track.source, track]));
    this.#tracksBySsrc = new Map(this.tracks.map((track) => [track.ssrc, track]));
    this.#forward = (packet) => {
      this.#send(packet);
    };
    publication.on('rtp', this.#forward);
    transport.on('rtcp', (compound) => {
      this.#onRtcp(compound);
    });
    transport.on('stateChange', (state) => {
      if (state === 'connected') {
        this.#takeNativeSlots();
        // A new subscriber needs a keyframe to start decoding.
        this.#requestKeyframes();
      } else {
        this.#decideAll();
      }
    });
    // On the thread's clock, spread with the other subscriptions' ticks.
    this.#tick = threadClock().add(tickMs, () => {
      this.#readSlots();
      const second = ++this.#ticks % ticksPerSecond === 0;
      if (second) {
        this.#sendSenderReports();
        this.#measureAudioBitrate();
      }
      this.#measureNackLoss();
      if (second || this.#linkInDoubt()) this.#selectLayers();
      // A path the peer's checks moved to reaches the slots of every track, audio's too.
      if (second) this.#decideAll();
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Keyframe requests (PLI or FIR) the subscriber sent. */
  get keyframeRequests(): number {
    return this.#keyframeRequests;
  }

  /**
   * What the subscriber's downlink carries for video, bits/s: from its transport-wide feedback
   * (less the audio sent), or its own estimate (REMB) when it did not take transport-wide
   * numbering; null until known (from feedback: until the link first pushed back).
   */
  get estimatedBitrate(): number | null {
    return this.#estimatedBitrate;
  }

  get preferences(): VideoPreferences {
    return this.#preferences;
  }

  /** Changes what the subscriber wants of the video; the router moves it to the layer that fits. */
  setPreferences(preferences: VideoPreferences): void {
    this.#readSlots();
    this.#preferences = preferences;
    this.#selectLayers();
  }

  /**
   * While its worker is overloaded, holds the video at the lowest layer whatever the subscriber
   * wants (about a quarter of the top layer's packets, so a quarter of the forwarding work),
   * switching at keyframes as usual; then back to what fits.
   */
  setShedding(shedding: boolean): void {
    if (shedding === this.#shedding) return;
    this.#readSlots();
    this.#shedding = shedding;
    this.#selectLayers();
  }

  /**
   * Completes the subscription with the subscriber's answer: its DTLS fingerprint, for each
   * track whether it kept RTX (the codec's `rtx` payload type with the same `apt`), and whether
   * it took transport-wide numbering and feedback on every track.
   */
  setRemoteDescription(answer: RemoteDescription): void {
    let transportWideCc = true;
    for (const track of this.tracks) {
      const media = answer.media.find((candidate) => candidate.mid === track.section.mid);
      const codec = media?.codecs.find((candidate) => candidate.payloadType === track.payloadType);
      if (codec?.rtxPayloadType !== track.rtx?.payloadType) track.rtx = null;
      const offered = this.#transportWideCc;
      if (
        !media?.extensions.some(
          (extension) => extension.id === offered.id && extension.uri === offered.uri,
        ) ||
        !codec?.feedback.includes('transport-cc')
      )
        transportWideCc = false;
    }
    this.#downlink = transportWideCc ? new DownlinkEstimator() : null;
    if (this.#slots) for (const { slot } of this.#slots.values()) this.#numberForFeedback(slot);
    this.#transport.setRemoteFingerprint(answer.fingerprint);
  }

  /**
   * Brings the tracks' layers and counters up to what the native data plane did (they follow it
   * on ticks and feedback otherwise); nothing to do on the TypeScript plane.
   */
  readForwarding(): void {
    this.#readSlots();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#tick.cancel();
    this.#publication.off('rtp', this.#forward);
    if (this.#slots) for (const { slot } of this.#slots.values()) slot.close();
    for (const track of this.tracks) this.#publication.setDemand(track, null);
    this.#transport.close();
  }

  #send(packet: RoutedPacket): void {
    const track = this.#tracksBySource.get(packet.layer.track);
    if (!track || this.#transport.state !== 'connected') return;
    if (this.#slots) {
      this.#awaitTargets(track);
      return;
    }
    const { video } = packet;
    if (track.fallback && !track.fallback.forwardsVideo) return;
    if (packet.layer !== track.layer) {
      // Simulcast: a subscriber starts, and changes layer, at a keyframe of the layer it moves to.
      if (track.targetLayer === null) this.#selectLayer(track, Date.now());
      if (packet.layer !== track.targetLayer || !video?.keyframe) return;
      if (track.layer) track.layerSwitches++;
      track.layer = packet.layer;
      track.rewriter.switchSource();
      track.pictureIds?.switchSource();
    }
    if (video && !this.#admitsTemporalLayer(track, packet)) {
      track.rewriter.drop(packet.data);
      track.pictureIds?.drop(video);
      return;
    }
    let data = packet.data;
    if (video && track.pictureIds?.map(video)) {
      data = Buffer.from(data);
      track.pictureIds.write(data, video);
      track.rewrittenPackets?.store(readSequenceNumber(packet.data), data);
    }
    const header = this.#rewriteHeader(
      track,
      data,
      'first',
      packet.atMs,
      packet.atPerformanceMs,
      packet.absSendTimeOffset,
    );
    if (!header) return;
    this.#transport.sendRtp(data, header);
    track.packetsOut++;
    track.bytesOut += data.length;
    track.payloadOctetsOut += data.length - rtpHeaderLength(data);
  }

  /**
   * The native data plane, once the transport connected on a UDP path: each track gets a slot in
   * its publication's fan-out, which forwards from then on. Over ICE-TCP (or an IPv6 path) the
   * subscription stays on the TypeScript plane, with the addon's SRTP.
   */
  #takeNativeSlots(): void {
    const path = this.#transport.path;
    const outbound = this.#transport.outbound;
    if (this.#slots || this.#closed || this.#transport.dataPlane !== 'native' || !outbound) return;
    if (!path || path.fd === null || !isIPv4(path.remote.address) || this.#publication.closed) return;
    this.#slots = new Map(
      this.tracks.map((track) => {
        const slot = this.#publication.fanOut(track.source, path.fd as number).addSlot({
          cipher: outbound.cipher,
          ssrc: track.ssrc,
          clockRate: track.section.codecs[0]?.clockRate ?? 90000,
          payloadType: track.payloadType,
          pictureIds: track.pictureIds !== null,
          layered: track.source.layers.length > 1,
          rtx: track.rtx,
          keptExtensionIds: track.keptExtensionIds,
        });
        slot.setDestination(path.remote.address, path.remote.port);
        this.#numberForFeedback(slot);
        return [track, { slot, state: { ...emptySlotState } }];
      }),
    );
    this.#decideAll();
  }

  /**
   * On the native plane the `rtp` listener stays only until every track has a layer to aim at,
   * which the first packets of its layers make possible, as on the TypeScript plane.
   */
  #awaitTargets(track: ConsumedTrack): void {
    if (track.targetLayer === null) {
      this.#selectLayer(track, Date.now());
      this.#decide(track);
    }
    if (this.tracks.every((candidate) => candidate.targetLayer !== null || !candidate.selector))
      this.#publication.off('rtp', this.#forward);
  }

  #numberForFeedback(slot: FanOutSlot): void {
    if (this.#downlink) slot.setFeedback(this.#transportWideCc.id, this.#downlink.sendHistory);
  }

  /** Tells the native slots what TypeScript decided (after `#readSlots` in the same turn). */
  #decideAll(): void {
    for (const track of this.tracks) this.#decide(track);
  }

  #decide(track: ConsumedTrack): void {
    const entry = this.#slots?.get(track);
    if (!entry) return;
    const path = this.#transport.path;
    if (path) entry.slot.setDestination(path.remote.address, path.remote.port);
    entry.slot.decide(
      this.#transport.state === 'connected' && (!track.fallback || track.fallback.forwardsVideo),
      track.targetLayer?.index ?? -1,
      track.targetTemporalLayer,
      track.layer === null,
    );
  }

  /** Brings the tracks' layers and counters up to what the native slots did. */
  #readSlots(): void {
    if (!this.#slots) return;
    for (const [track, { slot, state }] of this.#slots) {
      slot.read(state);
      track.layer = state.layer < 0 ? null : (track.source.layers[state.layer] ?? null);
      track.temporalLayer = state.temporalLayer;
      track.packetsOut = state.packetsOut;
      track.bytesOut = state.bytesOut;
      track.payloadOctetsOut = state.payloadOctetsOut;
      track.layerSwitches = state.layerSwitches;
    }
  }

  /** As `RtpRewriter.skipped`, on either plane. */
  #skipped(track: ConsumedTrack): number {
    return this.#slots?.get(track)?.state.skipped ?? track.rewriter.skipped;
  }

  /**
   * Whether a video packet's temporal layer is forwarded: moving down at any frame, up at a
   * frame that needs only the base layer (or a keyframe), one layer at a time.
   */
  #admitsTemporalLayer(track: ConsumedTrack, packet: RoutedPacket): boolean {
    const video = packet.video as NonNullable<RoutedPacket['video']>;
    if (video.frameStart) {
      if (video.keyframe || track.targetTemporalLayer < track.temporalLayer) {
        track.temporalLayer = track.targetTemporalLayer;
      } else if (
        video.temporalLayer === track.temporalLayer + 1 &&
        video.temporalLayer <= track.targetTemporalLayer &&
        video.layerSync
      ) {
        track.temporalLayer = video.temporalLayer;
      }
    }
    return video.temporalLayer <= track.temporalLayer;
  }

  /** Chooses every video track's layers anew: on a timer, on feedback, on new preferences. */
  #selectLayers(): void {
    if (this.#closed) return;
    const now = Date.now();
    for (const track of this.tracks) this.#selectLayer(track, now);
  }

  #selectLayer(track: ConsumedTrack, now: number): void {
    if (!track.selector) return;
    const views: LayerView[] = track.source.layers.map((layer) => ({
      width: layer.width,
      height: layer.height,
      bitrates: layer.bitrates,
      frameRates: layer.frameRates,
      available:
        layer.ssrc !== null &&
        (!layer.active ||
          now - layer.lastPacketAtMs < stalledLayerMs ||
          now - layer.activeSinceMs < resumeGraceMs),
    }));
    const lowest = views.findIndex((view) => view.available);
    if (track.fallback && lowest >= 0 && !this.#followFallback(track, track.fallback, views, lowest, now))
      return;
    // The smallest of sizes wished for is nearest the lowest layer.
    const preferences = this.#shedding
      ? { ...this.#preferences, resolution: { width: 1, height: 1 } }
      : this.#preferences;
    const choice = track.selector.choose(
      views,
      preferences,
      { estimate: this.#estimatedBitrate, fractionLost: track.fractionLost },
      now,
    );
    if (!choice) return;
    this.#target(track, choice.spatial, choice.temporal);
    this.#decide(track);
  }

  /**
   * Audio fallback: tells the subscriber of a change, and while video is off (or probing with the
   * lowest layer) sets the target itself. Returns whether the layer selector chooses as usual.
   */
  #followFallback(
    track: ConsumedTrack,
    fallback: VideoFallback,
    views: readonly LayerView[],
    lowest: number,
    now: number,
  ): boolean {
    // The least video the subscriber gets: the lowest layer, at the frame rate it wants.
    const lowestView = views[lowest] as LayerView;
    const lowestTemporal = temporalLayerFor(lowestView, this.#preferences.frameRate);
    const event = fallback.update(
      {
        estimate: this.#estimatedBitrate,
        fractionLost: this.#freshLoss(now, fallback.lossCountsFromMs),
        videoNackLoss: track.nackLoss,
        videoReportLoss: now - track.lastReportAtMs < freshReportMs ? track.fractionLost : 0,
        lowestBitrate: lowestView.bitrates[lowestTemporal] ?? bitrateOf(views, lowest),
        reportAtMs: track.lastReportAtMs,
        atLowestLayer: track.layer === null || track.layer.index <= lowest,
        forwardedBitrate: track.layer
          ? (views[track.layer.index]?.bitrates[track.temporalLayer] ?? bitrateOf(views, track.layer.index))
          : 0,
      },
      now,
    );
    if (event === 'videoEnabled') track.selector?.restartAt(lowest);
    if (event) this.safeEmit('videoFallback', event);
    if (!fallback.forwardsVideo) {
      // Off between probes: nothing asked of the publisher. A probe, and video when it comes
      // back, start afresh at a keyframe of the lowest layer (the packets skipped meanwhile would
      // otherwise show as a gap, lost).
      track.layer = null;
      if (track.targetLayer) {
        track.targetLayer = null;
        this.#publication.setDemand(track, null);
      }
      this.#decide(track);
      return false;
    }
    if (fallback.state !== 'off') return true;
    // A probe sends the lowest layer as video comes back, at the frame rate the subscriber wants:
    // a lighter one would pass on a link that then fails.
    this.#target(track, lowest, lowestTemporal);
    this.#decide(track);
    return false;
  }

  /**
   * The highest loss the subscriber's recent receiver reports, or its NACKs of the last second,
   * tell over all its tracks; reports spanning time before `fromMs` count not.
   */
  #freshLoss(now: number, fromMs: number): number {
    let loss = 0;
    for (const track of this.tracks) {
      loss = Math.max(loss, track.nackLoss);
      if (now - track.lastReportAtMs < freshReportMs && track.reportSpanFromMs >= fromMs)
        loss = Math.max(loss, track.fractionLost);
    }
    return loss;
  }

  /**
   * Whether the subscriber NACKed any packet lately, its feedback tells of a queue building up,
   * or audio fallback found its link congested.
   */
  #linkInDoubt(): boolean {
    return (
      this.#downlink?.signal === 'overusing' ||
      this.tracks.some(
        (track) => track.nackLoss > 0 || (track.fallback !== null && track.fallback.state !== 'on'),
      )
    );
  }

  #measureAudioBitrate(): void {
    let bytes = 0;
    for (const track of this.tracks) if (track.source.kind === 'audio') bytes += track.bytesOut;
    this.#audioBitrate = (bytes - this.#audioBytesAtSecond) * 8;
    this.#audioBytesAtSecond = bytes;
  }

  #measureNackLoss(): void {
    const now = Date.now();
    for (const track of this.tracks)
      track.nackLoss = track.nackLossWindow.sample(track.packetsOut, track.nacked, now);
  }

  #target(track: ConsumedTrack, spatial: number, temporal: number): void {
    track.targetTemporalLayer = temporal;
    const target = track.source.layers[spatial] ?? null;
    if (target !== track.targetLayer) {
      track.targetLayer = target;
      this.#publication.setDemand(track, target);
    }
    if (target && target !== track.layer && !this.#publication.closed)
      this.#publication.requestKeyframe(target);
  }

  /**
   * A copy of the packet's header rewritten as this subscriber receives it (in the scratch
   * buffer, unless the header is larger), sent for the first time or again (a NACK's answer),
   * stamped with the send time at `absSendTimeOffset` (-1: none), without the publisher's
   * elements the subscriber was not offered, numbered with its own when the subscriber took it; null when the
   * rewriter drops the packet.
   */
  #rewriteHeader(
    track: ConsumedTrack,
    packet: Buffer,
    sent: 'first' | 'again',
    nowMs: number,
    performanceNowMs: number,
    absSendTimeOffset = -1,
  ): Buffer | null {
    const headerLength = rtpHeaderLength(packet);
    const header =
      headerLength + transportSequenceNumberRoom <= this.#header.length
        ? this.#header
        : Buffer.allocUnsafe(headerLength + transportSequenceNumberRoom);
    packet.copy(header, 0, 0, headerLength);
    const { rewriter } = track;
    const rewritten =
      sent === 'first'
        ? rewriter.rewrite(header, track.payloadType, nowMs)
        : rewriter.rewriteAgain(header, track.payloadType, nowMs);
    if (!rewritten) return null;
    // Before the publisher's other elements leave: they may move the abs-send-time element up.
    if (absSendTimeOffset >= 0)
      writeAbsSendTime(header, absSendTimeOffset, performance.timeOrigin + performanceNowMs);
    stripHeaderExtensions(header, track.keptExtensionIds);
    const downlink = this.#downlink;
    if (downlink) {
      const length = appendTransportSequenceNumber(header, this.#transportWideCc.id, downlink.nextSequence);
      if (length > 0) downlink.onSend(length + packet.length - headerLength, performanceNowMs);
    }
    return header;
  }

  /**
   * Sender reports keep the publisher's pairing of wall clock and RTP time, in the subscriber's
   * timestamps: the subscriber can then play audio and video of one publisher in sync. Those of
   * all its tracks go in one compound packet (RFC 8108 §5.3), protected and sent once.
   */
  #sendSenderReports(): void {
    if (this.#transport.state !== 'connected') return;
    const now = Date.now();
    const ntp = ntpFromUnixMs(now);
    const reports: Buffer[] = [];
    for (const track of this.tracks) {
      const clock = track.layer?.senderClock;
      if (!clock || track.packetsOut === 0) continue;
      // The RTP time of now, extrapolated from the publisher's last report on its own clock rate.
      const clockRate = track.section.codecs[0]?.clockRate ?? 90000;
      const sourceTimestamp =
        (clock.rtpTimestamp + Math.round(((now - clock.wallClockMs) * clockRate) / 1000)) >>> 0;
      track.lastSenderReport = ntpMiddle32(ntp);
      reports.push(
        serializeRtcp({
          type: 'sr',
          ssrc: track.ssrc,
          ntpSeconds: ntp.seconds,
          ntpFraction: ntp.fraction,
          rtpTimestamp: this.#outgoingTimestamp(track, sourceTimestamp),
          packetCount: track.packetsOut,
          octetCount: track.payloadOctetsOut,
          reports: noReportBlocks,
        }),
      );
    }
    if (reports.length > 0)
      this.#transport.sendRtcp(reports.length === 1 ? (reports[0] as Buffer) : Buffer.concat(reports));
  }

  /** As `RtpRewriter.outgoingTimestamp`, on either plane. */
  #outgoingTimestamp(track: ConsumedTrack, sourceTimestamp: number): number {
    const state = this.#slots?.get(track)?.state;
    return state
      ? (sourceTimestamp + state.timestampOffset) >>> 0
      : track.rewriter.outgoingTimestamp(sourceTimestamp);
  }

  #onRtcp(compound: Buffer): void {
    this.#readSlots();
    for (const packet of parseRtcp(compound)) {
      if (packet.type === 'pli' || packet.type === 'fir') {
        this.#keyframeRequests++;
        this.#requestKeyframes();
      } else if (packet.type === 'nack') {
        const track = this.#tracksBySsrc.get(packet.mediaSsrc);
        if (!track) continue;
        track.nacked += this.#retransmit(track, packet.lost);
      } else if (packet.type === 'transportFeedback') {
        this.#onTransportFeedback(packet);
      } else if (packet.type === 'remb' && !this.#downlink) {
        this.#estimatedBitrate = packet.bitrate;
        this.#selectLayers();
      } else if (packet.type === 'rr' || packet.type === 'sr') {
        for (const report of packet.reports) this.#onReport(report);
        // The loss they tell counts at once, not at the next tick: audio fallback reacts sooner.
        if (packet.reports.length > 0) this.#selectLayers();
      }
    }
  }

  /** Layers are chosen anew at once when the estimate falls: a link narrowed. */
  #onTransportFeedback(feedback: TransportFeedbackReport): void {
    if (!this.#downlink) return;
    const total = this.#downlink.onFeedback(feedback, this.#rttMs(), performance.now());
    if (total === null) return;
    const previous = this.#estimatedBitrate;
    this.#estimatedBitrate = Math.max(0, total - this.#audioBitrate);
    if (previous === null || this.#estimatedBitrate < previous * estimateFall) this.#selectLayers();
  }

  /** The longest round trip measured on any track, ms; null before one. */
  #rttMs(): number | null {
    let rtt: number | null = null;
    for (const track of this.tracks) if (track.rttMs !== null) rtt = Math.max(rtt ?? 0, track.rttMs);
    return rtt;
  }

  #onReport(report: ReportBlock): void {
    const track = this.#tracksBySsrc.get(report.ssrc);
    if (!track) return;
    track.reportSpanFromMs = track.lastReportAtMs;
    track.lastReportAtMs = Date.now();
    const skipped = this.#skipped(track);
    track.fractionLost = downlinkLoss(report, track.reportMark, skipped);
    track.reportMark = { highestSequence: report.highestSequence, packetsLost: report.packetsLost, skipped };
    track.packetsLost = report.packetsLost;
    track.jitterMs = (report.jitter / (track.section.codecs[0]?.clockRate ?? 90000)) * 1000;
    if (report.lastSenderReport !== 0 && report.lastSenderReport === track.lastSenderReport) {
      // RFC 3550 §6.4.1: now − LSR − DLSR, in 1/65536 s.
      const elapsed =
        (ntpMiddle32(ntpFromUnixMs(Date.now())) -
          report.lastSenderReport -
          report.delaySinceLastSenderReport) >>>
        0;
      track.rttMs = (elapsed / 65536) * 1000;
    }
  }

  /**
   * Resends lost packets from the publication's buffer, rewritten as they were first sent: on
   * the RTX stream when the subscriber has one, as the same packet again otherwise. Returns how
   * many of them the router had, sent since the layer last changed (or video came back): older
   * ones, lost before, tell nothing of the link now, nor do those lost before the router.
   */
  #retransmit(track: ConsumedTrack, lost: readonly number[]): number {
    const layer = track.layer;
    if (!layer) return 0;
    // A link audio fallback finds congested gets no resends: they would take what is left of it
    // from the audio, and from the signaling that tells the subscriber its video goes off.
    const resend = track.fallback === null || track.fallback.state === 'on';
    const slot = this.#slots?.get(track)?.slot;
    let current = 0;
    for (const outSequence of lost) {
      const sourceSequence = slot
        ? slot.sourceSequenceOf(outSequence)
        : track.rewriter.sourceSequenceOf(outSequence);
      if (sourceSequence === null) continue;
      // The native slot keeps the picture numbering it rewrote, and writes it again.
      const original =
        (slot ? undefined : track.rewrittenPackets?.get(sourceSequence)) ?? layer.buffer.get(sourceSequence);
      // One the router never had was lost before it: not on this subscriber's link.
      if (!original) continue;
      current++;
      if (!resend) continue;
      if (slot) {
        if (slot.resend(original)) track.retransmissions++;
        continue;
      }
      const header = this.#rewriteHeader(track, original, 'again', Date.now(), performance.now());
      if (!header) continue;
      if (track.rtx) this.#transport.sendRtp(serializeRtx(original, header, track.rtx));
      else this.#transport.sendRtp(original, header);
      track.retransmissions++;
    }
    return current;
  }

  #requestKeyframes(): void {
    if (this.#publication.closed) return;
    for (const track of this.tracks) {
      if (track.source.kind !== 'video') continue;
      const layer = track.layer ?? track.targetLayer;
      if (layer) this.#publication.requestKeyframe(layer);
    }
  }
}

/**
 * The share of packets a subscriber's link lost between two of its receiver reports, 0–1: what
 * it counts as lost, less the sequence numbers the router never sent in between. The first
 * report's own fraction counts in the proportion of its losses the router did send.
 */
function downlinkLoss(report: ReportBlock, previous: ReportMark | null, skipped: number): number {
  if (!previous) {
    const lost = report.packetsLost;
    return lost > skipped ? ((report.fractionLost / 256) * (lost - skipped)) / lost : 0;
  }
  const expected = (report.highestSequence - previous.highestSequence) >>> 0;
  // None came since (or the numbering went back): nothing to tell.
  if (expected === 0 || expected >= 0x80000000) return 0;
  const lost = report.packetsLost - previous.packetsLost - (skipped - previous.skipped);
  return Math.min(1, Math.max(0, lost) / expected);
}

const emptySlotState: FanOutSlotState = {
  layer: -1,
  temporalLayer: 0,
  packetsOut: 0,
  bytesOut: 0,
  payloadOctetsOut: 0,
  layerSwitches: 0,
  skipped: 0,
  timestampOffset: 0,
};

const noReportBlocks: readonly ReportBlock[] = [];

/** VP8 and VP9 have at most 4 temporal layers (TID 0–3): all of them. */
const allTemporalLayers = 3;

/** A random SSRC, other than `other`. */
function randomSsrc(other?: number): number {
  const ssrc = randomInt(1, 0xffffffff);
  return ssrc === other ? randomSsrc(other) : ssrc;
}

/** The payload type RTX gets beside a codec's: the first dynamic one (96–127) the codec does not use. */
function rtxPayloadTypeFor(payloadType: number): number {
  return payloadType === 96 ? 97 : 96;
}

/** The lowest one-byte header extension ID (1–14) none of `taken` has. */
function freeExtensionId(taken: readonly HeaderExtension[]): number {
  for (let id = 1; id <= 14; id++) if (!taken.some((extension) => extension.id === id)) return id;
  throw new RangeError('no header extension ID left for transport-wide numbering');
}
