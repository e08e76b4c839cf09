import type { DownlinkSendHistory } from '../bwe/DownlinkEstimator.js';
import { nativeAddon, type NativeFanOutGroup } from '../srtp/dataPlane.js';
import type { SrtpCipher } from '../srtp/SrtpCipher.js';
import type { RoutedPacket } from './Publication.js';

/**
 * The native data plane's forwarding (packages/native/src/fanout.c): the subscribers of one
 * published track, each a slot. One call per received packet rewrites it for every slot (as
 * `Subscription` does on the TypeScript plane, byte for byte), protects it with the slot's SRTP
 * context and sends the lot with one `sendmmsg` on the worker's UDP socket.
 *
 * The seam: TypeScript decides, the slot applies. What a slot is told changes rarely — whether
 * it forwards (transport connected, video not off), its target layer and temporal layer, where
 * to send, the transport-wide numbering's history — and what it did is read back when
 * TypeScript needs it (`FanOutSlot.read`: on ticks, feedback and reports).
 *
 * Limits of the native path, where the TypeScript one would still send: a packet longer than
 * 2048 bytes, or a header longer than 248, is not forwarded (browsers send under 1300 and 100).
 */
export class FanOutGroup {
  readonly #native: NativeFanOutGroup;
  /**
   * The packet as the slots read it, written once per packet: layer, has video, keyframe, frame
   * start, temporal layer, layer sync, picture ID offset, bits and value, TL0PICIDX offset and
   * value, abs-send-time offset, then the times (see `writeTimes`).
   */
  readonly #info = new Float64Array(infoLength);
  #slots = 0;

  /** @param fd the UDP socket's descriptor, which the group sends on (see `UdpMux.fd`). */
  constructor(fd: number) {
    if (!nativeAddon.available)
      throw new Error(`the native data plane is unavailable: ${nativeAddon.reason}`);
    this.#native = new nativeAddon.addon.FanOutGroup(fd);
  }

  /** The addon's group, which a `NativeIngress` forwards to directly. */
  get native(): NativeFanOutGroup {
    return this.#native;
  }

  /** Slots now in the group. */
  get size(): number {
    return this.#slots;
  }

  /** Datagrams dropped since the start because the socket's buffer was full. */
  get sendFailures(): number {
    return this.#native.sendFailures();
  }

  /** Forwards a packet to every slot; returns how many it went to. */
  forward(packet: RoutedPacket): number {
    if (this.#slots === 0) return 0;
    const info = this.#info;
    const { video } = packet;
    info[0] = packet.layer.index;
    info[1] = video ? 1 : 0;
    if (video) {
      info[2] = video.keyframe ? 1 : 0;
      info[3] = video.frameStart ? 1 : 0;
      info[4] = video.temporalLayer;
      info[5] = video.layerSync ? 1 : 0;
      info[6] = video.pictureIdOffset;
      info[7] = video.pictureIdBits;
      info[8] = video.pictureId;
      info[9] = video.tl0PicIdxOffset;
      info[10] = video.tl0PicIdx;
    }
    info[11] = packet.absSendTimeOffset;
    writeTimes(info, packet.atMs, packet.atPerformanceMs);
    return this.#native.forward(packet.data, info);
  }

  /**
   * Forwards a packet a `NativeIngress` received, with what it read of it in its `record` (whose
   * places 0–14 are this group's info); returns how many it went to.
   */
  forwardReceived(packet: Buffer, record: Float64Array): number {
    return this.#slots === 0 ? 0 : this.#native.forward(packet, record);
  }

  /** A subscriber's track joins the group; it forwards nothing until its first `decide`. */
  addSlot(settings: FanOutSlotSettings): FanOutSlot {
    const { rtx } = settings;
    const id = this.#native.addSlot(
      settings.cipher,
      settings.ssrc,
      settings.clockRate,
      settings.payloadType,
      settings.pictureIds,
      settings.layered,
      rtx?.ssrc ?? 0,
      rtx?.payloadType ?? 0,
      rtx?.sequence ?? 0,
      Uint8Array.from(settings.keptExtensionIds),
    );
    this.#slots++;
    return new FanOutSlot(this.#native, id, () => {
      this.#slots--;
    });
  }
}

export interface FanOutSlotSettings {
  /** The subscriber's outbound SRTP cipher: the addon's (`SrtpContext.cipher` on the native plane). */
  readonly cipher: SrtpCipher;
  readonly ssrc: number;
  readonly clockRate: number;
  readonly payloadType: number;
  /** VP8 or VP9: picture IDs and TL0PICIDX kept continuous. */
  readonly pictureIds: boolean;
  /** Simulcast: no layer until a target's keyframe. */
  readonly layered: boolean;
  /** Where resends go (RFC 4588); null to resend packets as they were. */
  readonly rtx: { readonly ssrc: number; readonly payloadType: number; readonly sequence: number } | null;
  /** The IDs of the publisher's header extension elements the slot keeps; it removes the others. */
  readonly keptExtensionIds: ReadonlySet<number>;
}

/** What a slot did, as `FanOutSlot.read` gives it. */
export interface FanOutSlotState {
  /** The layer forwarded now, -1 for none. */
  layer: number;
  temporalLayer: number;
  packetsOut: number;
  bytesOut: number;
  payloadOctetsOut: number;
  layerSwitches: number;
  /** As `RtpRewriter.skipped`. */
  skipped: number;
  /** Added to source timestamps of the current segment (`RtpRewriter.outgoingTimestamp`). */
  timestampOffset: number;
}

/** One subscriber's track in a `FanOutGroup`. */
export class FanOutSlot {
  readonly #native: NativeFanOutGroup;
  readonly #id: number;
  readonly #onClose: () => void;
  readonly #state = new Float64Array(8);
  readonly #info = new Float64Array(infoLength);
  #address = '';
  #port = -1;
  /** The last decision told (see `decide`); null before the first, and after a new destination. */
  #decision: { enabled: boolean; targetLayer: number; targetTemporalLayer: number } | null = null;
  #closed = false;

  constructor(native: NativeFanOutGroup, id: number, onClose: () => void) {
    this.#native = native;
    this.#id = id;
    this.#onClose = onClose;
  }

  /** Where its packets go; a new address or port only changes the slot. */
  setDestination(address: string, port: number): void {
    if (this.#closed || (address === this.#address && port === this.#port)) return;
    this.#address = address;
    this.#port = port;
    this.#native.setDestination(this.#id, address, port);
    // The slot forwards only with a destination: the next decision is told again.
    this.#decision = null;
  }

  /** Numbers what it sends in a `DownlinkEstimator`'s history, with transport-wide extension `id`. */
  setFeedback(id: number, history: DownlinkSendHistory): void {
    if (this.#closed) return;
    this.#native.setFeedback(this.#id, id, history.next, history.sendTimes, history.sizes, history.states);
  }

  /**
   * What TypeScript decided: whether it forwards at all, the layer and temporal layer it moves to
   * (-1: none), and whether it leaves the layer it forwards now (video turned off).
   */
  decide(enabled: boolean, targetLayer: number, targetTemporalLayer: number, leaveLayer = false): void {
    if (this.#closed) return;
    // The same decision again (each second, and on feedback) changes nothing in the slot, unless
    // it leaves the layer.
    const last = this.#decision;
    if (
      last &&
      !leaveLayer &&
      last.enabled === enabled &&
      last.targetLayer === targetLayer &&
      last.targetTemporalLayer === targetTemporalLayer
    )
      return;
    if (last) {
      last.enabled = enabled;
      last.targetLayer = targetLayer;
      last.targetTemporalLayer = targetTemporalLayer;
    } else this.#decision = { enabled, targetLayer, targetTemporalLayer };
    this.#native.setDecision(this.#id, enabled, targetLayer, targetTemporalLayer, leaveLayer);
  }

  /** Reads what the slot did into `out`. */
  read(out: FanOutSlotState): void {
    if (this.#closed) return;
    const state = this.#state;
    this.#native.state(this.#id, state);
    out.layer = state[0] as number;
    out.temporalLayer = state[1] as number;
    out.packetsOut = state[2] as number;
    out.bytesOut = state[3] as number;
    out.payloadOctetsOut = state[4] as number;
    out.layerSwitches = state[5] as number;
    out.skipped = state[6] as number;
    out.timestampOffset = state[7] as number;
  }

  /** As `RtpRewriter.sourceSequenceOf`: null when not known. */
  sourceSequenceOf(outSequence: number): number | null {
    if (this.#closed) return null;
    const source = this.#native.sourceSequenceOf(this.#id, outSequence);
    return source < 0 ? null : source;
  }

  /** Sends a packet it sent before again (a NACK's answer), on RTX when it has it. */
  resend(packet: Buffer): boolean {
    if (this.#closed) return false;
    writeTimes(this.#info, Date.now(), performance.now());
    return this.#native.resend(this.#id, packet, this.#info);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native.removeSlot(this.#id);
    this.#onClose();
  }
}

const infoLength = 16;

/** The clocks' readings the slots use: `Date.now()`, abs-send-time's and `performance.now()`. */
function writeTimes(info: Float64Array, atMs: number, atPerformanceMs: number): void {
  info[12] = atMs;
  info[13] = performance.timeOrigin + atPerformanceMs;
  info[14] = atPerformanceMs;
}
