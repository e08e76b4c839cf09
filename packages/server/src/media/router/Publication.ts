import { randomUUID } from 'node:crypto';
import { InvalidStateError } from '../../InvalidStateError.js';
import { TypedEmitter } from '../../TypedEmitter.js';
import { ntpMiddle32, unixMsFromNtp } from '../rtcp/ntp.js';
import { parseRtcp, serializeRtcp, type ReportBlock } from '../rtcp/rtcp.js';
import { AimdRateControl } from '../bwe/AimdRateControl.js';
import { TransportFeedbackRecorder } from '../bwe/TransportFeedbackRecorder.js';
import { findHeaderExtension, readTextExtension } from '../rtp/headerExtensions.js';
import { NackRequester } from '../rtp/NackRequester.js';
import { ReceptionStats } from '../rtp/ReceptionStats.js';
import {
  readPayloadType,
  readSequenceNumber,
  readSsrc,
  readTimestamp,
  rtpHeaderLength,
} from '../rtp/rtpHeader.js';
import { RetransmissionBuffer, type RetainedPackets } from '../rtp/RetransmissionBuffer.js';
import {
  payloadEnd,
  readVideoPacket,
  type RoutedVideoCodec,
  type VideoPacketInfo,
} from '../rtp/videoPayload.js';
import { headerExtensionUris, type MediaSection } from '../rtpParameters.js';
import type { DtlsSrtpTransport } from '../transport/DtlsSrtpTransport.js';
import { FanOutGroup } from './FanOutGroup.js';
import { threadClock, type PeriodicTask } from './PeriodicClock.js';
import {
  ingressMaxTracks,
  ingressRecord,
  ingressRecordLength,
  ingressUnknownStream,
  NativeIngress,
  videoOfRecord,
} from './NativeIngress.js';
import type { PublisherFeedback } from './MediaRouter.js';

/**
 * The clock pair of a publisher's last sender report: its wall-clock time, moved onto the
 * router's clock by one offset per publication (so its tracks stay in sync with each other),
 * against its RTP time.
 */
export interface SenderClock {
  readonly wallClockMs: number;
  readonly rtpTimestamp: number;
}

/** One track a publisher sends: its negotiated section and its layers. */
export interface PublishedTrack {
  readonly section: MediaSection;
  readonly kind: MediaSection['kind'];
  /** The video codec whose payload the router reads to switch layers; null for audio and others. */
  readonly codec: RoutedVideoCodec | null;
  /** The ID of the abs-send-time header extension, if negotiated. */
  readonly absSendTimeId: number | null;
  /** One per simulcast encoding, lowest resolution first; one without simulcast. */
  readonly layers: readonly PublishedLayer[];
  /** Counters over all its layers. */
  packetsIn: number;
  bytesIn: number;
}

/** One encoding of a track, on its own SSRC: what the router learned of it. */
export interface PublishedLayer {
  readonly track: PublishedTrack;
  /** Its RID (RFC 8851); null without simulcast. */
  readonly rid: string | null;
  /** Position among the track's layers, 0 the lowest resolution. */
  readonly index: number;
  /** The publisher's SSRC, known from the SDP or from the first packet. */
  ssrc: number | null;
  /**
   * Its last packets, for NACK answers: a `RetransmissionBuffer`, or on the native data plane the
   * ingress's, once it receives.
   */
  buffer: RetainedPackets;
  /**
   * Asks the publisher to resend what its uplink lost, for video with NACK negotiated (null
   * otherwise): a packet lost before the router would be lost for every subscriber. The resends
   * come as the packets they repair (no RTX from publishers), late.
   */
  readonly resends: NackRequester | null;
  packetsIn: number;
  bytesIn: number;
  /** Keyframe requests (PLI) the router sent the publisher for it. */
  keyframeRequests: number;
  /** From the publisher's latest sender report for this SSRC; subscribers' reports derive from it. */
  senderClock: SenderClock | null;
  /** Frame size from its last keyframe that told one; 0 before. */
  width: number;
  height: number;
  /** Bits per second with temporal layers 0..t, by t, over the last second it flowed. */
  bitrates: number[];
  /** Frames per second with temporal layers 0..t, by t, over the last second it flowed. */
  frameRates: number[];
  /** Whether the publisher is asked to send it (the router pauses layers nobody needs). */
  active: boolean;
  /** When it last changed between paused and active, ms. */
  activeSinceMs: number;
  /** When a consumer last needed it, ms. */
  neededAtMs: number;
  /** When its last packet came, ms; 0 before any. */
  lastPacketAtMs: number;
}

/** A packet the router received, decrypted, with what it read of it once for every subscriber. */
export interface RoutedPacket {
  readonly data: Buffer;
  readonly layer: PublishedLayer;
  /** For video of a codec the router reads; null otherwise. */
  readonly video: VideoPacketInfo | null;
  /** Where the abs-send-time extension's value is in the header, -1 without one. */
  readonly absSendTimeOffset: number;
  /**
   * When it came, `Date.now()` and `performance.now()`: the clock readings its forwarding uses
   * for every subscriber (timestamps across a switch, abs-send-time, transport-wide feedback).
   */
  readonly atMs: number;
  readonly atPerformanceMs: number;
}

/** Whether a publisher should send one of its simulcast encodings. */
export interface EncodingState {
  readonly rid: string;
  readonly active: boolean;
}

export interface PublicationEvents {
  /** A packet of one of the layers; listeners must not change it. */
  rtp: [packet: RoutedPacket];
  /** The simulcast encodings anyone needs changed: the publisher should pause the others. */
  encodingsChanged: [encodings: readonly EncodingState[]];
}

export interface PublicationOptions {
  readonly transport: DtlsSrtpTransport;
  readonly sections: readonly MediaSection[];
  /**
   * The most the router lets a publisher without transport-wide feedback send (REMB), bits/s;
   * below it, once its uplink lost packets, the REMB follows what arrives (unless `feedback` is `remb`).
   */
  readonly maxVideoBitrate: number;
  /** `remb`: the REMB stays at `maxVideoBitrate`, and loss reports alone tell of the uplink. */
  readonly feedback: PublisherFeedback;
}

/** Least time between two keyframe requests for one layer, ms. */
const keyframeRequestIntervalMs = 300;
/**
 * How often the router tells the publisher what it received (receiver reports) and may send
 * (REMB), ms: twice a second, so that the publisher's congestion control and its audio fallback
 * learn of losses on its uplink within a second.
 */
const feedbackIntervalMs = 500;
/**
 * How often a publisher that numbers its packets transport-wide hears when each arrived, ms:
 * libwebrtc's receivers send it every 50 ms at all but the lowest rates, and its delay-based
 * estimate reacts within a few of them.
 */
const transportFeedbackIntervalMs = 50;
/**
 * The uplink loss, as a share of its packets over a feedback interval, that a publisher without
 * transport-wide feedback must be sending too much for: its REMB then drops to what arrives. Above
 * the lower share it holds (GCC's loss thresholds, draft-ietf-rmcat-gcc-02 §6).
 */
const rembOveruseLoss = 0.1;
const rembHoldLoss = 0.02;
/** How often layers' bitrates and frame rates are measured, ms. */
const measureIntervalMs = 1000;
/** How long a layer nobody needs keeps flowing before it is paused: switches need their source a while. */
const pauseDelayMs = 2000;
/** The router's own SSRC in the RTCP it sends. */
const routerSsrc = 1;

const routedVideoCodecs: Readonly<Record<string, RoutedVideoCodec>> = {
  vp8: 'vp8',
  vp9: 'vp9',
  h264: 'h264',
};

/** Per layer, what it received since the last measurement, by temporal layer. */
interface LayerWindow {
  readonly bytes: number[];
  readonly frames: number[];
}

/**
 * What one publisher sends the router: its tracks and their simulcast layers, received once,
 * read once, kept for retransmission and handed to every subscription. The router answers with
 * receiver reports, keyframe requests and REMB, asks for what the uplink lost to be resent, and
 * pauses the layers no consumer needs.
 */
export class Publication extends TypedEmitter<PublicationEvents> {
  readonly id = randomUUID();
  readonly tracks: readonly PublishedTrack[];
  readonly #transport: DtlsSrtpTransport;
  /** Layers whose SSRC is known, for the lookup every packet needs. */
  readonly #layersBySsrc = new Map<number, PublishedLayer>();
  /** Fires when a missing packet is next due to be asked for again. */
  #resendTimer: NodeJS.Timeout | null = null;
  readonly #windows = new Map<PublishedLayer, LayerWindow>();
  /** Per layer, what the receiver reports tell the publisher. */
  readonly #receptions = new Map<PublishedLayer, ReceptionStats>();
  readonly #lastKeyframeRequest = new Map<PublishedLayer, number>();
  /** Per consumer (a subscription's track, a recording), the layer it needs. */
  readonly #demand = new Map<object, PublishedLayer>();
  readonly #tasks: PeriodicTask[];
  #pauseTimer: NodeJS.Timeout | null = null;
  #lastMeasureMs = Date.now();
  /** Per track, its subscribers on the native data plane; made when the first one comes. */
  readonly #fanOut = new Map<PublishedTrack, FanOutGroup>();
  /** On the TypeScript path, each layer's last packets (the layer's `buffer`, until an ingress keeps them). */
  readonly #kept = new Map<PublishedLayer, RetransmissionBuffer>();
  /** Every layer of every track, in order: the ingress's stream numbers. */
  readonly #streams: readonly PublishedLayer[];
  /** On the native data plane, what receives its RTP once the transport is keyed; null before. */
  #ingress: NativeIngress | null = null;
  /** Router clock minus the publisher's wall clock, from its first sender report, in ms. */
  #clockOffsetMs: number | null = null;
  /**
   * The ID of the transport-wide sequence number extension when the publisher negotiated it (then
   * it gets transport-wide feedback instead of REMB, and its subscribers never see its numbers);
   * null otherwise.
   */
  readonly transportWideCcId: number | null;
  readonly #arrivals = new TransportFeedbackRecorder();
  /** The SSRC the transport-wide feedback is about: the publisher handles it only for one of its own. */
  #feedbackSsrc: number | null = null;
  /** Bytes received since the last REMB. */
  #bytesSinceRemb = 0;
  #lastRembAtMs = Date.now();
  /** The REMB below the maximum, from the uplink's loss and what arrives; unknown until it lost. */
  readonly #rembControl = new AimdRateControl();
  #closed = false;

  constructor(options: PublicationOptions) {
    super();
    this.#transport = options.transport;
    this.tracks = options.sections.map((section) => createTrack(section));
    for (const track of this.tracks)
      for (const layer of track.layers) {
        const kept = new RetransmissionBuffer(retainedPackets(track.kind));
        this.#kept.set(layer, kept);
        layer.buffer = kept;
        this.#windows.set(layer, { bytes: [], frames: [] });
        this.#receptions.set(layer, new ReceptionStats(track.section.codecs[0]?.clockRate ?? 90000));
        if (layer.ssrc !== null) this.#layersBySsrc.set(layer.ssrc, layer);
      }
    this.#streams = this.tracks.flatMap((track) => track.layers);
    if (this.#transport.dataPlane === 'native')
      this.#transport.receiveSrtp((packet) => this.#receiveSrtp(packet));
    else
      this.#transport.on('rtp', (packet) => {
        this.#receive(packet);
      });
    this.#transport.on('rtcp', (compound) => {
      this.#onRtcp(compound);
    });
    this.transportWideCcId = transportWideCcIdOf(options.sections);
    // On the thread's clock, spread with the other publications' work.
    const clock = threadClock();
    this.#tasks = [
      clock.add(feedbackIntervalMs, () => {
        this.#sendFeedback(options.maxVideoBitrate, options.feedback);
      }),
      clock.add(measureIntervalMs, () => {
        this.#measure();
      }),
    ];
    if (this.transportWideCcId !== null)
      this.#tasks.push(
        clock.add(transportFeedbackIntervalMs, () => {
          this.#sendTransportFeedback();
        }),
      );
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Asks the publisher for a keyframe of a video layer, at most once per 300 ms. */
  requestKeyframe(layer: PublishedLayer): void {
    if (this.#closed) throw new InvalidStateError('the publication is closed');
    const now = Date.now();
    if (layer.track.kind !== 'video' || layer.ssrc === null || this.#transport.state !== 'connected') return;
    if (now - (this.#lastKeyframeRequest.get(layer) ?? 0) < keyframeRequestIntervalMs) return;
    this.#lastKeyframeRequest.set(layer, now);
    layer.keyframeRequests++;
    this.#transport.sendRtcp(serializeRtcp({ type: 'pli', senderSsrc: routerSsrc, mediaSsrc: layer.ssrc }));
  }

  /**
   * Says which layer of a track a consumer needs (null: none any more). A layer someone needs is
   * resumed at once; one nobody needs is paused after a while. The lowest layer always flows, so
   * that a new subscriber starts at once.
   */
  setDemand(consumer: object, layer: PublishedLayer | null): void {
    if (layer) this.#demand.set(consumer, layer);
    else this.#demand.delete(consumer);
    this.#updateEncodings(Date.now());
  }

  /**
   * The native forwarding of a track's packets, sending on the UDP socket `fd`: subscribers on
   * the native data plane take a slot in it instead of listening to `rtp`.
   */
  fanOut(track: PublishedTrack, fd: number): FanOutGroup {
    if (this.#closed) throw new InvalidStateError('the publication is closed');
    let group = this.#fanOut.get(track);
    if (!group) {
      group = new FanOutGroup(fd);
      this.#fanOut.set(track, group);
      this.#ingress?.setFanOut(this.tracks.indexOf(track), group);
    }
    return group;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const task of this.#tasks) task.cancel();
    if (this.#pauseTimer) clearTimeout(this.#pauseTimer);
    if (this.#resendTimer) clearTimeout(this.#resendTimer);
    this.#transport.close();
  }

  /** A decrypted RTP packet, read in TypeScript (the TypeScript data plane, and the fallback). */
  #receive(data: Buffer): void {
    const now = Date.now();
    const performanceNow = performance.now();
    const ssrc = readSsrc(data);
    this.#bytesSinceRemb += data.length;
    // Every packet numbered transport-wide counts for the publisher's estimate, resends included.
    if (this.transportWideCcId !== null) {
      const number = findHeaderExtension(data, this.transportWideCcId);
      if (number?.length === 2) this.#arrived(data.readUInt16BE(number.offset), ssrc, performanceNow);
    }
    const layer = this.#layersBySsrc.get(ssrc) ?? this.#learnSsrc(ssrc, data);
    if (!layer) return;
    const { track } = layer;
    const sequence = readSequenceNumber(data);
    const kept = this.#kept.get(layer) as RetransmissionBuffer;
    // A packet that came twice (a resend crossing a late original) goes on once.
    if (kept.get(sequence)) return;
    kept.store(sequence, data);
    const headerLength = rtpHeaderLength(data);
    const video =
      track.codec && headerLength > 0
        ? readVideoPacket(track.codec, data, headerLength, payloadEnd(data))
        : null;
    this.#account(layer, data.length, sequence, readTimestamp(data), video, now);
    const absSendTime = track.absSendTimeId === null ? null : findHeaderExtension(data, track.absSendTimeId);
    const routed: RoutedPacket = {
      data,
      layer,
      video,
      absSendTimeOffset: absSendTime?.offset ?? -1,
      atMs: now,
      atPerformanceMs: performanceNow,
    };
    // Listeners first: a native subscriber waiting for its first layer choice makes it on this packet.
    this.safeEmit('rtp', routed);
    this.#fanOut.get(track)?.forward(routed);
  }

  /**
   * An SRTP packet on the native data plane: the ingress decrypts, keeps and reads it, and
   * forwards it in the same call unless someone listens to `rtp` (they come first, as on the
   * TypeScript path, and get a copy). Duplicates are the replay window's to drop (1024 packets,
   * as deep as what is kept).
   */
  /** Returns false for a packet that was not authentic, or a replay. */
  #receiveSrtp(packet: Buffer): boolean {
    const ingress = this.#ingress ?? this.#openIngress();
    if (!ingress) {
      const rtp = this.#transport.inbound?.unprotectRtp(packet);
      if (!rtp) return false;
      this.#receive(rtp);
      return true;
    }
    const now = Date.now();
    const performanceNow = performance.now();
    const listened = this.listenerCount('rtp') > 0;
    const copy = listened ? ingress.outputFor(packet) : null;
    let length = ingress.receive(packet, copy, now, performanceNow, !listened);
    if (length === ingressUnknownStream) {
      // Authentic before it teaches a layer its SSRC: a forged packet must not take one.
      const rtp = this.#transport.inbound?.unprotectRtp(packet);
      if (!rtp) return false;
      if (!this.#learnSsrc(readSsrc(rtp), rtp)) return true;
      length = ingress.receive(packet, copy, now, performanceNow, !listened);
    }
    if (length < 0) return false;
    const record = ingress.record;
    const layer = this.#received(record, 0, length, now, performanceNow);
    if (!copy) return true;
    const video = videoOfRecord(record);
    this.safeEmit('rtp', {
      data: copy,
      layer,
      video,
      absSendTimeOffset: record[ingressRecord.absSendTimeOffset] as number,
      atMs: now,
      atPerformanceMs: performanceNow,
    });
    this.#fanOut.get(layer.track)?.forwardReceived(copy, record);
    return true;
  }

  /**
   * The packets the mux's batched reader handed the ingress in C (forwarded without a copy, as
   * `#receiveSrtp` does when nobody listens to `rtp`): their `count` records, counted as one by
   * one. Returns how many were rejected (not authentic, replays).
   */
  #receiveRecords(count: number): number {
    const ingress = this.#ingress;
    if (!ingress || this.#closed) return 0;
    const records = ingress.records;
    let rejected = 0;
    for (let i = 0; i < count; i++) {
      const at = i * ingressRecordLength;
      const length = records[at + ingressRecord.length] as number;
      if (length < 0) rejected++;
      else
        this.#received(
          records,
          at,
          length,
          records[at + ingressRecord.atMs] as number,
          records[at + ingressRecord.atPerformanceMs] as number,
        );
    }
    return rejected;
  }

  /** Counts a packet the ingress received, from its record at `at` in `records`; returns its layer. */
  #received(
    records: Float64Array,
    at: number,
    length: number,
    now: number,
    performanceNow: number,
  ): PublishedLayer {
    const layer = this.#streams[records[at + ingressRecord.stream] as number] as PublishedLayer;
    this.#bytesSinceRemb += length;
    const transportWide = records[at + ingressRecord.transportWide] as number;
    if (transportWide >= 0) this.#arrived(transportWide, layer.ssrc as number, performanceNow);
    this.#account(
      layer,
      length,
      records[at + ingressRecord.sequence] as number,
      records[at + ingressRecord.timestamp] as number,
      recordedVideo(records, at),
      now,
    );
    return layer;
  }

  /**
   * The native ingress, once the transport is keyed on the native data plane (the layers' packets
   * are then kept there); null where it cannot be. The mux's batched reader may then hand it the
   * publisher's RTP in C, while nobody listens to `rtp`.
   */
  #openIngress(): NativeIngress | null {
    const inbound = this.#transport.inbound;
    if (!inbound || inbound.dataPlane !== 'native' || this.tracks.length > ingressMaxTracks) return null;
    const ingress = new NativeIngress(inbound, this.transportWideCcId);
    this.#ingress = ingress;
    for (const layer of this.#streams) this.#registerStream(layer);
    for (const [track, group] of this.#fanOut) ingress.setFanOut(this.tracks.indexOf(track), group);
    ingress.acceptBatches(this.listenerCount('rtp') === 0);
    this.#transport.routeSrtp(ingress.native, (count) => this.#receiveRecords(count));
    return ingress;
  }

  /** `rtp`'s listeners get a copy of each packet: the ingress takes no batches from the reader meanwhile. */
  protected override listenersChanged(event: string): void {
    if (event === 'rtp') this.#ingress?.acceptBatches(this.listenerCount('rtp') === 0);
  }

  #registerStream(layer: PublishedLayer): void {
    if (!this.#ingress || layer.ssrc === null) return;
    const { track } = layer;
    this.#ingress.setStream(
      layer.ssrc,
      this.#streams.indexOf(layer),
      this.tracks.indexOf(track),
      layer.index,
      track.codec,
      track.absSendTimeId,
      retainedPackets(track.kind),
    );
    layer.buffer = this.#ingress.retained(layer.ssrc);
  }

  /** A packet numbered transport-wide arrived. */
  #arrived(number: number, ssrc: number, performanceNow: number): void {
    this.#arrivals.onPacket(number, performanceNow);
    this.#feedbackSsrc ??= ssrc;
  }

  /**
   * Counts a packet of a layer, tells the receiver reports and asks for what it shows lost; its
   * frame and size go into the layer's measures.
   */
  #account(
    layer: PublishedLayer,
    length: number,
    sequence: number,
    timestamp: number,
    video: RecordedVideo | null,
    now: number,
  ): void {
    const { track } = layer;
    layer.packetsIn++;
    layer.bytesIn += length;
    layer.lastPacketAtMs = now;
    track.packetsIn++;
    track.bytesIn += length;
    // A resend the router asked for: the receiver reports leave it out, as they tell the
    // publisher's congestion control of its uplink's loss.
    const resent = layer.resends?.isMissing(sequence) ?? false;
    if (!resent) this.#receptions.get(layer)?.receive(sequence, timestamp, now);
    if (layer.resends && this.#requestResends(layer, layer.resends.receive(sequence, now)))
      this.#scheduleResends();
    const window = this.#windows.get(layer) as LayerWindow;
    const temporal = video?.temporalLayer ?? 0;
    window.bytes[temporal] = (window.bytes[temporal] ?? 0) + length;
    if (video?.frameStart) window.frames[temporal] = (window.frames[temporal] ?? 0) + 1;
    if (video?.width) {
      layer.width = video.width;
      layer.height = video.height;
    }
  }

  /** Asks the publisher to resend packets of a layer; returns whether it asked. */
  #requestResends(layer: PublishedLayer, sequences: readonly number[]): boolean {
    if (sequences.length === 0 || layer.ssrc === null || this.#transport.state !== 'connected') return false;
    this.#transport.sendRtcp(
      serializeRtcp({ type: 'nack', senderSsrc: routerSsrc, mediaSsrc: layer.ssrc, lost: sequences }),
    );
    return true;
  }

  /** Sets the timer for when a missing packet is next due to be asked for again. */
  #scheduleResends(): void {
    if (this.#resendTimer) clearTimeout(this.#resendTimer);
    this.#resendTimer = null;
    let next: number | null = null;
    for (const track of this.tracks)
      for (const layer of track.layers) {
        const at = layer.resends?.nextDueMs() ?? null;
        if (at !== null) next = next === null ? at : Math.min(next, at);
      }
    if (next === null || this.#closed) return;
    this.#resendTimer = setTimeout(
      () => {
        this.#resendTimer = null;
        const now = Date.now();
        for (const track of this.tracks)
          for (const layer of track.layers)
            if (layer.resends) this.#requestResends(layer, layer.resends.due(now));
        this.#scheduleResends();
      },
      Math.max(0, next - Date.now()),
    );
    this.#resendTimer.unref();
  }

  /**
   * The layer a packet from an SSRC the SDP did not announce belongs to: by its RID header
   * extension with simulcast, else the first layer without an SSRC whose codec has its payload type.
   */
  #learnSsrc(ssrc: number, packet: Buffer): PublishedLayer | undefined {
    let layer: PublishedLayer | undefined;
    for (const track of this.tracks) {
      const ridId = extensionId(track.section, headerExtensionUris.rid);
      if (track.section.rids.length === 0 || ridId === undefined) continue;
      const rid = readTextExtension(packet, ridId);
      layer = track.layers.find((candidate) => candidate.rid === rid && candidate.ssrc === null);
      if (layer) break;
    }
    const payloadType = readPayloadType(packet);
    layer ??= this.tracks
      .filter((track) => track.section.rids.length === 0)
      .flatMap((track) => track.layers)
      .find(
        (candidate) =>
          candidate.ssrc === null &&
          candidate.track.section.codecs.some((c) => c.payloadType === payloadType),
      );
    if (!layer) return undefined;
    layer.ssrc = ssrc;
    this.#layersBySsrc.set(ssrc, layer);
    this.#registerStream(layer);
    return layer;
  }

  #onRtcp(compound: Buffer): void {
    for (const packet of parseRtcp(compound)) {
      if (packet.type !== 'sr') continue;
      const layer = this.#layersBySsrc.get(packet.ssrc);
      if (!layer) continue;
      const ntp = { seconds: packet.ntpSeconds, fraction: packet.ntpFraction };
      const publisherMs = unixMsFromNtp(ntp);
      this.#receptions.get(layer)?.senderReport(ntpMiddle32(ntp), Date.now());
      this.#clockOffsetMs ??= Date.now() - publisherMs;
      layer.senderClock = {
        wallClockMs: publisherMs + this.#clockOffsetMs,
        rtpTimestamp: packet.rtpTimestamp,
      };
    }
  }

  /** Turns the last second's counts into bitrates and frame rates; a layer that sent nothing keeps its last. */
  #measure(): void {
    const now = Date.now();
    const seconds = (now - this.#lastMeasureMs) / 1000;
    this.#lastMeasureMs = now;
    if (seconds <= 0) return;
    for (const [layer, window] of this.#windows) {
      if (window.bytes.length === 0) continue;
      let bits = 0;
      let frames = 0;
      layer.bitrates = [];
      layer.frameRates = [];
      for (let t = 0; t < window.bytes.length; t++) {
        bits += (window.bytes[t] ?? 0) * 8;
        frames += window.frames[t] ?? 0;
        layer.bitrates.push(Math.round(bits / seconds));
        layer.frameRates.push(Math.round((frames / seconds) * 10) / 10);
      }
      window.bytes.length = 0;
      window.frames.length = 0;
    }
  }

  /** Resumes the simulcast layers someone needs, and pauses those nobody has needed for a while. */
  #updateEncodings(now: number): void {
    if (this.#closed) return;
    let changed = false;
    let nextPause = Infinity;
    for (const track of this.tracks) {
      if (track.layers.length < 2) continue;
      for (const layer of track.layers) {
        const needed = layer.index === 0 || [...this.#demand.values()].includes(layer);
        if (needed) {
          layer.neededAtMs = now;
          if (!layer.active) {
            layer.active = true;
            layer.activeSinceMs = now;
            changed = true;
          }
        } else if (layer.active) {
          const pauseAt = layer.neededAtMs + pauseDelayMs;
          if (pauseAt <= now) {
            layer.active = false;
            layer.activeSinceMs = now;
            changed = true;
          } else {
            nextPause = Math.min(nextPause, pauseAt);
          }
        }
      }
    }
    if (this.#pauseTimer) clearTimeout(this.#pauseTimer);
    this.#pauseTimer = null;
    if (nextPause !== Infinity) {
      this.#pauseTimer = setTimeout(() => {
        this.#updateEncodings(Date.now());
      }, nextPause - now);
      this.#pauseTimer.unref();
    }
    if (changed)
      this.safeEmit(
        'encodingsChanged',
        this.tracks.flatMap((track) =>
          track.layers.length < 2
            ? []
            : track.layers.map((layer) => ({ rid: layer.rid ?? '', active: layer.active })),
        ),
      );
  }

  /** When each packet numbered transport-wide since the last feedback arrived. */
  #sendTransportFeedback(): void {
    const feedbacks = this.#arrivals.takeFeedback();
    if (feedbacks.length === 0 || this.#feedbackSsrc === null || this.#transport.state !== 'connected')
      return;
    const mediaSsrc = this.#feedbackSsrc;
    const parts = feedbacks.map((feedback) =>
      serializeRtcp({ type: 'transportFeedback', senderSsrc: routerSsrc, mediaSsrc, ...feedback }),
    );
    // Mostly one every 50 ms: sent as it is, not copied into a compound of one.
    this.#transport.sendRtcp(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts));
  }

  /**
   * One compound packet: a receiver report block per SSRC that sent anything (RFC 3550 §6.4.2),
   * whose losses drive the publisher's congestion control, and, for a publisher without
   * transport-wide feedback, REMB for the video: `maxBitrate`, until the uplink loses packets;
   * then 85 % of what arrives, rising again while the loss stays low.
   */
  #sendFeedback(maxBitrate: number, feedback: PublisherFeedback): void {
    const now = Date.now();
    const received = (this.#bytesSinceRemb * 8 * 1000) / Math.max(1, now - this.#lastRembAtMs);
    this.#bytesSinceRemb = 0;
    this.#lastRembAtMs = now;
    if (this.#transport.state !== 'connected') return;
    const reports: ReportBlock[] = [];
    const videoSsrcs: number[] = [];
    for (const [ssrc, layer] of this.#layersBySsrc) {
      const reception = this.#receptions.get(layer);
      if (reception?.started) reports.push(reception.report(ssrc, now));
      if (layer.track.kind === 'video' && this.transportWideCcId === null) videoSsrcs.push(ssrc);
    }
    if (reports.length === 0 && videoSsrcs.length === 0) return;
    // A report packet holds at most 31 blocks; a publisher has far fewer SSRCs.
    const parts = [serializeRtcp({ type: 'rr', ssrc: routerSsrc, reports: reports.slice(0, 31) })];
    if (videoSsrcs.length > 0) {
      const bitrate =
        feedback === 'remb'
          ? maxBitrate
          : Math.min(maxBitrate, this.#rembEstimate(reports, received, now) ?? maxBitrate);
      parts.push(serializeRtcp({ type: 'remb', senderSsrc: routerSsrc, bitrate, ssrcs: videoSsrcs }));
    }
    this.#transport.sendRtcp(Buffer.concat(parts));
  }

  /** The REMB the uplink's loss and what arrived (bits/s) allow; null until it lost packets. */
  #rembEstimate(reports: readonly ReportBlock[], received: number, now: number): number | null {
    const loss = Math.max(0, ...reports.map((report) => report.fractionLost / 256));
    const signal = loss > rembOveruseLoss ? 'overusing' : loss > rembHoldLoss ? 'underusing' : 'normal';
    return this.#rembControl.update({ signal, deliveredBitrate: received, rttMs: null }, now);
  }
}

/** What a layer's measures read of a video packet. */
type RecordedVideo = Pick<VideoPacketInfo, 'temporalLayer' | 'frameStart' | 'width' | 'height'>;

/** The measures' reading of the ingress's record, in one object reused for every packet. */
const recordedVideoScratch = { temporalLayer: 0, frameStart: false, width: 0, height: 0 };

function recordedVideo(records: Float64Array, at: number): RecordedVideo | null {
  if (records[at + ingressRecord.video] === 0) return null;
  recordedVideoScratch.temporalLayer = records[at + ingressRecord.temporalLayer] as number;
  recordedVideoScratch.frameStart = records[at + ingressRecord.frameStart] === 1;
  recordedVideoScratch.width = records[at + ingressRecord.width] as number;
  recordedVideoScratch.height = records[at + ingressRecord.height] as number;
  return recordedVideoScratch;
}

/** A layer's `buffer` until its publication gives it one. */
const noRetainedPackets: RetainedPackets = { get: () => undefined };

/** Packets kept per layer for NACK answers: about 3 s of 2.5 Mbit/s video, 5 s of audio. */
function retainedPackets(kind: MediaSection['kind']): number {
  return kind === 'video' ? 1024 : 256;
}

function extensionId(section: MediaSection, uri: string): number | undefined {
  return section.extensions.find((extension) => extension.uri === uri)?.id;
}

/**
 * The transport-wide sequence number's extension ID, if a section negotiated it (bundled sections
 * share their extension IDs, RFC 8843 §9.2). Chromium estimates from transport-wide feedback
 * alone once it numbers its packets, `transport-cc` feedback negotiated or not.
 */
function transportWideCcIdOf(sections: readonly MediaSection[]): number | null {
  for (const section of sections) {
    const id = extensionId(section, headerExtensionUris.transportWideCc);
    if (id !== undefined) return id;
  }
  return null;
}

function createTrack(section: MediaSection): PublishedTrack {
  const codecName = section.codecs[0]?.name.toLowerCase() ?? '';
  const repairsLoss = section.kind === 'video' && (section.codecs[0]?.feedback.includes('nack') ?? false);
  const layers: PublishedLayer[] = [];
  const track: PublishedTrack = {
    section,
    kind: section.kind,
    codec: section.kind === 'video' ? (routedVideoCodecs[codecName] ?? null) : null,
    absSendTimeId: extensionId(section, headerExtensionUris.absSendTime) ?? null,
    layers,
    packetsIn: 0,
    bytesIn: 0,
  };
  const now = Date.now();
  const rids = section.rids.length > 0 ? section.rids : [null];
  for (const [index, rid] of rids.entries())
    layers.push({
      track,
      rid,
      index,
      ssrc: rid === null ? (section.ssrcs[0] ?? null) : null,
      buffer: noRetainedPackets,
      resends: repairsLoss ? new NackRequester() : null,
      packetsIn: 0,
      bytesIn: 0,
      keyframeRequests: 0,
      senderClock: null,
      width: 0,
      height: 0,
      bitrates: [],
      frameRates: [],
      active: true,
      activeSinceMs: now,
      neededAtMs: now,
      lastPacketAtMs: 0,
    });
  return track;
}
