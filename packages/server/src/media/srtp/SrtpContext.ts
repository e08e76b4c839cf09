import { rtpHeaderLength, readSequenceNumber, readSsrc } from '../rtp/rtpHeader.js';
import { createSrtpCipher, defaultDataPlane, type DataPlane } from './dataPlane.js';
import type { SrtpSessionKeys } from './keyDerivation.js';
import { srtpProfiles, type SrtpProfileName } from './profiles.js';
import { ReplayWindow } from './ReplayWindow.js';
import type { SrtpCipher } from './SrtpCipher.js';

/** What a receiver tracks per SSRC: the rollover counter, highest sequence number, replays. */
interface RtpStreamState {
  roc: number;
  highestSequence: number;
  readonly replay: ReplayWindow;
}

const rtcpHeaderLength = 8;
/** Size of the E flag and SRTCP index that follow an SRTCP payload. */
const srtcpIndexLength = 4;
const maxSrtcpIndex = 0x7fffffff;

/**
 * SRTP and SRTCP protection for one direction of one peer (RFC 3711, RFC 7714): AES-CM with
 * HMAC-SHA1-80, or AEAD AES-128-GCM. Session keys are derived once. This keeps the state
 * (rollover counters, SRTCP indexes, replay windows); the cryptography is the data plane's, the
 * native addon's by default when it built (see `dataPlane.ts`). Per packet the cost is one
 * output buffer, and the input packet is only read.
 */
export class SrtpContext {
  readonly profile: SrtpProfileName;
  readonly dataPlane: DataPlane;
  /** Its cryptography: the native data plane's fan-out protects with the addon's directly. */
  readonly cipher: SrtpCipher;
  readonly #aead: boolean;
  readonly #tagLength: number;
  readonly #rtpStreams = new Map<number, RtpStreamState>();
  readonly #rtcpReplay = new Map<number, ReplayWindow>();
  readonly #srtcpIndex = new Map<number, number>();

  /** Build one from a DTLS-SRTP master key with `deriveSrtpSessionKeys`. */
  constructor(keys: SrtpSessionKeys, dataPlane: DataPlane = defaultDataPlane) {
    this.profile = keys.profile;
    this.#aead = keys.profile === 'AEAD_AES_128_GCM';
    this.#tagLength = srtpProfiles[keys.profile].tagLength;
    this.dataPlane = dataPlane;
    this.cipher = createSrtpCipher(keys, dataPlane);
  }

  /**
   * Encrypts and authenticates an RTP packet; returns the SRTP packet (a new buffer).
   *
   * `header`, when given, starts with the header to send instead of the packet's own (its
   * length may differ: an extension element added): a router rewrites one scratch copy of the
   * header per subscriber, and the payload is encrypted straight from the shared source packet into the
   * output, without a copy of the whole packet per subscriber.
   */
  protectRtp(packet: Buffer, header: Buffer = packet): Buffer {
    const payloadStart = rtpHeaderLength(packet);
    const headerLength = header === packet ? payloadStart : rtpHeaderLength(header);
    if (payloadStart < 0 || headerLength < 0) throw new TypeError('not an RTP packet');
    const ssrc = readSsrc(header);
    const sequence = readSequenceNumber(header);
    const state = this.#streamState(ssrc, sequence);
    const roc = estimateRoc(state, sequence);
    if (roc > state.roc || (roc === state.roc && sequence > state.highestSequence)) {
      state.roc = roc;
      state.highestSequence = sequence;
    }
    const output = Buffer.allocUnsafe(headerLength + packet.length - payloadStart + this.#tagLength);
    // A header is a few dozen bytes: a loop costs less than the view a Buffer copy would make.
    for (let i = 0; i < headerLength; i++) output[i] = header[i] as number;
    this.cipher.sealRtp(output, headerLength, packet, payloadStart, ssrc, roc, sequence);
    return output;
  }

  /**
   * Authenticates and decrypts an SRTP packet; returns the RTP packet (a new buffer), or null
   * when it fails authentication or is a replay.
   */
  unprotectRtp(packet: Buffer): Buffer | null {
    const headerLength = rtpHeaderLength(packet);
    if (headerLength < 0 || packet.length < headerLength + this.#tagLength) return null;
    const ssrc = readSsrc(packet);
    const sequence = readSequenceNumber(packet);
    const state = this.#streamState(ssrc, sequence);
    const roc = estimateRoc(state, sequence);
    const index = roc * 0x10000 + sequence;
    if (!state.replay.check(index)) return null;

    const output = Buffer.allocUnsafe(packet.length - this.#tagLength);
    if (!this.cipher.openRtp(packet, headerLength, output, ssrc, roc, sequence)) return null;
    state.replay.accept(index);
    if (roc > state.roc || (roc === state.roc && sequence > state.highestSequence)) {
      state.roc = roc;
      state.highestSequence = sequence;
    }
    return output;
  }

  /** Encrypts and authenticates a (compound) RTCP packet; returns the SRTCP packet. */
  protectRtcp(packet: Buffer): Buffer {
    if (packet.length < rtcpHeaderLength) throw new TypeError('not an RTCP packet');
    const ssrc = packet.readUInt32BE(4);
    const index = ((this.#srtcpIndex.get(ssrc) ?? -1) + 1) & maxSrtcpIndex;
    this.#srtcpIndex.set(ssrc, index);
    const output = Buffer.allocUnsafe(packet.length + this.#tagLength + srtcpIndexLength);
    this.cipher.sealRtcp(packet, output, ssrc, index);
    return output;
  }

  /** Authenticates and decrypts an SRTCP packet; null when it fails or is a replay. */
  unprotectRtcp(packet: Buffer): Buffer | null {
    const trailer = this.#tagLength + srtcpIndexLength;
    if (packet.length < rtcpHeaderLength + trailer) return null;
    const ssrc = packet.readUInt32BE(4);
    const end = packet.length - trailer;
    // AES-CM puts the E flag and index before the tag, AEAD after it (RFC 7714 §9.2).
    const eIndex = packet.readUInt32BE(this.#aead ? packet.length - srtcpIndexLength : end);
    const index = eIndex & maxSrtcpIndex;
    let replay = this.#rtcpReplay.get(ssrc);
    if (!replay) {
      replay = new ReplayWindow();
      this.#rtcpReplay.set(ssrc, replay);
    }
    if (!replay.check(index)) return null;

    const output = Buffer.allocUnsafe(end);
    if (!this.cipher.openRtcp(packet, output, ssrc, index, (eIndex & 0x80000000) !== 0)) return null;
    replay.accept(index);
    return output;
  }

  #streamState(ssrc: number, sequence: number): RtpStreamState {
    let state = this.#rtpStreams.get(ssrc);
    if (!state) {
      state = { roc: 0, highestSequence: sequence, replay: new ReplayWindow() };
      this.#rtpStreams.set(ssrc, state);
    }
    return state;
  }
}

/** The rollover counter a sequence number most likely belongs to (RFC 3711 Appendix A). */
function estimateRoc(state: RtpStreamState, sequence: number): number {
  const { roc, highestSequence } = state;
  if (highestSequence < 0x8000) {
    return sequence - highestSequence > 0x8000 && roc > 0 ? roc - 1 : roc;
  }
  return highestSequence - 0x8000 > sequence ? roc + 1 : roc;
}
