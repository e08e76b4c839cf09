import type { RetainedPackets } from '../rtp/RetransmissionBuffer.js';
import type { RoutedVideoCodec, VideoPacketInfo } from '../rtp/videoPayload.js';
import { nativeAddon, type NativeIngressPath } from '../srtp/dataPlane.js';
import { srtpProfiles } from '../srtp/profiles.js';
import type { SrtpContext } from '../srtp/SrtpContext.js';
import type { FanOutGroup } from './FanOutGroup.js';

/** Where `NativeIngress.record` holds what the addon read of the last packet received. */
export const ingressRecord = {
  /** The simulcast layer's index; 1–11 are `FanOutGroup`'s info (video, keyframe, …, abs-send-time's offset). */
  layer: 0,
  video: 1,
  keyframe: 2,
  frameStart: 3,
  temporalLayer: 4,
  layerSync: 5,
  pictureIdOffset: 6,
  pictureIdBits: 7,
  pictureId: 8,
  tl0PicIdxOffset: 9,
  tl0PicIdx: 10,
  absSendTimeOffset: 11,
  /** When it came: `Date.now()` and `performance.now()` (13 is abs-send-time's clock). */
  atMs: 12,
  atPerformanceMs: 14,
  /** The stream's number, as given to `setStream`. */
  stream: 16,
  sequence: 17,
  timestamp: 18,
  /** The publisher's transport-wide sequence number, -1 without one. */
  transportWide: 19,
  width: 20,
  height: 21,
  /** In `records` only: the RTP packet's length, or `ingressDropped`. */
  length: 15,
} as const;

/** Numbers per record, in `record` and in `records`. */
export const ingressRecordLength = 32;
/** Records `records` holds: a batched reader's batch (reader.c's `batch_size`). */
export const ingressBatchRecords = 32;

/** `receive`'s answers besides a length: not authentic, a replay or malformed; an SSRC no stream's yet. */
export const ingressDropped = -1;
export const ingressUnknownStream = -2;

const codecNumbers: Readonly<Record<RoutedVideoCodec, number>> = { vp8: 1, vp9: 2, h264: 3 };

/** Tracks an ingress forwards for at most (ingress.c's `max_tracks`). */
export const ingressMaxTracks = 16;

/**
 * The native data plane's receiving of a publisher's RTP (packages/native/src/ingress.c): one
 * call per SRTP packet checks replays, authenticates and decrypts it with the SSRC's rollover
 * counter, reads what the router needs of it into `record` (numbers, no object), and may forward
 * it to its track's `FanOutGroup` in the same call. It keeps each stream's last packets for NACK
 * answers (`retained`). `Publication` keeps the decisions and the counts, and reads the record.
 *
 * While it `acceptBatches`, the mux's batched reader (`UdpMux`, packages/native/src/reader.c) may
 * also hand it the publisher's RTP itself, in C, from the addresses ICE authenticated while
 * consent is fresh, forwarding it as `receive(…, true)` would; the records of a batch's packets
 * are then in `records` (rejected ones with a length of `ingressDropped`), which the publication
 * reads once per batch.
 */
export class NativeIngress {
  /** What the addon read of the last packet, at `ingressRecord`'s places; 12–14 are the times. */
  readonly record = new Float64Array(ingressRecordLength);
  /** A batch's records, `ingressRecordLength` numbers each, when the reader hands packets over. */
  readonly records = new Float64Array(ingressRecordLength * ingressBatchRecords);
  readonly #native: NativeIngressPath;
  readonly #tagLength: number;

  /**
   * @param inbound the publisher's inbound SRTP context, on the native data plane: the ingress
   *   takes its cipher and keeps its own rollover counters and replay windows for RTP.
   * @param transportWideCcId the publisher's transport-wide sequence number extension, or null.
   */
  constructor(inbound: SrtpContext, transportWideCcId: number | null) {
    if (!nativeAddon.available)
      throw new Error(`the native data plane is unavailable: ${nativeAddon.reason}`);
    this.#tagLength = srtpProfiles[inbound.profile].tagLength;
    this.#native = new nativeAddon.addon.Ingress(
      inbound.cipher,
      this.record,
      transportWideCcId ?? 0,
      this.records,
    );
  }

  /** The addon's object, which a batched reader routes to. */
  get native(): NativeIngressPath {
    return this.#native;
  }

  /**
   * Whether a batched reader may hand it packets now (it forwards them without a copy for the
   * publication's `rtp` listeners: off while there are any). Default: false.
   */
  acceptBatches(on: boolean): void {
    this.#native.acceptBatches(on);
  }

  /**
   * Packets of `ssrc` are stream number `stream` (the caller's), of track `track` (below
   * `ingressMaxTracks`) and simulcast layer `layer`, read as `codec` (null: not read); its last
   * `capacity` packets (a power of two) are kept.
   */
  setStream(
    ssrc: number,
    stream: number,
    track: number,
    layer: number,
    codec: RoutedVideoCodec | null,
    absSendTimeId: number | null,
    capacity: number,
  ): void {
    this.#native.setStream(
      ssrc,
      stream,
      track,
      layer,
      codec ? codecNumbers[codec] : 0,
      absSendTimeId ?? 0,
      capacity,
    );
  }

  /** The group that forwards a track's packets when `receive` is asked to. */
  setFanOut(track: number, group: FanOutGroup): void {
    this.#native.setFanOut(track, group.native);
  }

  /** A buffer for `receive` to copy an SRTP packet's RTP packet into; null for one too short. */
  outputFor(packet: Buffer): Buffer | null {
    return packet.length < 12 + this.#tagLength ? null : Buffer.allocUnsafe(packet.length - this.#tagLength);
  }

  /**
   * Receives an SRTP packet, and keeps it. Returns its RTP packet's length (copied into `output`
   * when given, from `outputFor`), `ingressDropped` or `ingressUnknownStream`. With `forward`, its
   * track's group forwards it with the clock readings given (see `FanOutGroup.forward`).
   */
  receive(
    packet: Buffer,
    output: Buffer | null,
    atMs: number,
    atPerformanceMs: number,
    forward: boolean,
  ): number {
    const record = this.record;
    record[12] = atMs;
    record[13] = performance.timeOrigin + atPerformanceMs;
    record[14] = atPerformanceMs;
    return this.#native.receive(packet, output, forward);
  }

  /** The packets kept of an SSRC's stream: copies, made when asked for (a NACK's answer). */
  retained(ssrc: number): RetainedPackets {
    return { get: (sequence) => this.#native.packet(ssrc, sequence) };
  }
}

/** The video packet's reading in `record`, as `readVideoPacket` gives it; null for other media. */
export function videoOfRecord(record: Float64Array): VideoPacketInfo | null {
  const r = ingressRecord;
  if (record[r.video] === 0) return null;
  return {
    frameStart: record[r.frameStart] === 1,
    keyframe: record[r.keyframe] === 1,
    temporalLayer: record[r.temporalLayer] as number,
    layerSync: record[r.layerSync] === 1,
    pictureIdOffset: record[r.pictureIdOffset] as number,
    pictureIdBits: record[r.pictureIdBits] as number,
    pictureId: record[r.pictureId] as number,
    tl0PicIdxOffset: record[r.tl0PicIdxOffset] as number,
    tl0PicIdx: record[r.tl0PicIdx] as number,
    width: record[r.width] as number,
    height: record[r.height] as number,
  };
}
