import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { rtpHeaderLength, readSequenceNumber, readSsrc } from '../rtp/rtpHeader.js';
import type { SrtpFlowKeys, SrtpSessionKeys } from './keyDerivation.js';
import { srtpProfiles, type SrtpProfileName } from './profiles.js';
import { ReplayWindow } from './ReplayWindow.js';

/** What a receiver tracks per SSRC: the rollover counter, highest sequence number, replays. */
interface RtpStreamState {
  roc: number;
  highestSequence: number;
  readonly replay: ReplayWindow;
}

/**
 * One of SRTP's two flows (RTP or RTCP): its keys, as KeyObjects so that node:crypto does not
 * copy them for every packet, and the IV. `createCipheriv` copies the IV it is given, so one
 * buffer per flow, rewritten for each packet, spares an allocation per packet.
 */
class Flow {
  readonly encryption: KeyObject;
  readonly authentication: KeyObject | null;
  readonly #iv: Buffer;
  /** The salt's words at the offsets each packet's fields are XORed into. */
  readonly #saltWords: Readonly<Record<'at2' | 'at4' | 'at6' | 'at8' | 'at10', number>>;

  constructor(keys: SrtpFlowKeys, aead: boolean) {
    this.encryption = createSecretKey(keys.encryption);
    this.authentication = keys.authentication && createSecretKey(keys.authentication);
    // AEAD: the 12-byte salt; AES-CM: the 14-byte salt followed by the 16-bit block counter.
    this.#iv = Buffer.alloc(aead ? 12 : 16);
    keys.salt.copy(this.#iv);
    const salt = this.#iv;
    this.#saltWords = {
      at2: salt.readUInt32BE(2),
      at4: salt.readUInt32BE(4),
      at6: salt.readUInt32BE(6),
      at8: salt.readUInt16BE(8),
      at10: aead ? salt.readUInt16BE(10) : salt.readUInt32BE(10),
    };
  }

  /**
   * AEAD IV (RFC 7714 §8.1, §9.1): salt XOR (0x0000 ‖ SSRC ‖ high ‖ low), where high is 32 bits
   * and low 16: the ROC and sequence number for SRTP, the SRTCP index split for SRTCP.
   */
  gcmIv(ssrc: number, high: number, low: number): Buffer {
    const iv = this.#iv;
    iv.writeUInt32BE((this.#saltWords.at2 ^ ssrc) >>> 0, 2);
    iv.writeUInt32BE((this.#saltWords.at6 ^ high) >>> 0, 6);
    iv.writeUInt16BE(this.#saltWords.at10 ^ low, 10);
    return iv;
  }

  /** AES-CM IV (RFC 3711 §4.1.1): salt·2^16 XOR SSRC·2^64 XOR index·2^16, index up to 48 bits. */
  cmIv(ssrc: number, index: number): Buffer {
    const iv = this.#iv;
    iv.writeUInt32BE((this.#saltWords.at4 ^ ssrc) >>> 0, 4);
    iv.writeUInt16BE(this.#saltWords.at8 ^ (Math.floor(index / 0x100000000) & 0xffff), 8);
    iv.writeUInt32BE((this.#saltWords.at10 ^ index) >>> 0, 10);
    return iv;
  }
}

const rtcpHeaderLength = 8;
/** Size of the E flag and SRTCP index that follow an SRTCP payload. */
const srtcpIndexLength = 4;
const maxSrtcpIndex = 0x7fffffff;

/**
 * SRTP and SRTCP protection for one direction of one peer (RFC 3711, RFC 7714): AES-CM with
 * HMAC-SHA1-80, or AEAD AES-128-GCM. Session keys are derived once; per packet the cost is one
 * cipher (and for AES-CM one HMAC) and one output buffer, and the input packet is only read.
 */
export class SrtpContext {
  readonly profile: SrtpProfileName;
  readonly #rtp: Flow;
  readonly #rtcp: Flow;
  readonly #aead: boolean;
  readonly #tagLength: number;
  readonly #rtpStreams = new Map<number, RtpStreamState>();
  readonly #rtcpReplay = new Map<number, ReplayWindow>();
  readonly #srtcpIndex = new Map<number, number>();
  /** The ROC as HMAC-SHA1 authenticates it after an SRTP packet (RFC 3711 §4.2), rewritten per packet. */
  readonly #rocBytes = Buffer.alloc(4);

  /** Build one from a DTLS-SRTP master key with `deriveSrtpSessionKeys`. */
  constructor(keys: SrtpSessionKeys) {
    this.profile = keys.profile;
    this.#aead = keys.profile === 'AEAD_AES_128_GCM';
    this.#tagLength = srtpProfiles[keys.profile].tagLength;
    this.#rtp = new Flow(keys.rtp, this.#aead);
    this.#rtcp = new Flow(keys.rtcp, this.#aead);
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
    const length = headerLength + packet.length - payloadStart;
    const output = Buffer.allocUnsafe(length + this.#tagLength);
    // A header is a few dozen bytes: a loop costs less than the view a Buffer copy would make.
    for (let i = 0; i < headerLength; i++) output[i] = header[i] as number;
    const payload = packet.subarray(payloadStart);

    if (this.#aead) {
      const cipher = createCipheriv(
        'aes-128-gcm',
        this.#rtp.encryption,
        this.#rtp.gcmIv(ssrc, roc, sequence),
      );
      cipher.setAAD(output.subarray(0, headerLength));
      output.set(cipher.update(payload), headerLength);
      cipher.final();
      output.set(cipher.getAuthTag(), length);
      return output;
    }
    const cipher = createCipheriv(
      'aes-128-ctr',
      this.#rtp.encryption,
      this.#rtp.cmIv(ssrc, roc * 0x10000 + sequence),
    );
    output.set(cipher.update(payload), headerLength);
    this.#rtpTag(output.subarray(0, length), roc).copy(output, length, 0, this.#tagLength);
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

    const end = packet.length - this.#tagLength;
    const header = packet.subarray(0, headerLength);
    const encrypted = packet.subarray(headerLength, end);
    const output = Buffer.allocUnsafe(end);
    output.set(header);
    if (this.#aead) {
      const decipher = createDecipheriv(
        'aes-128-gcm',
        this.#rtp.encryption,
        this.#rtp.gcmIv(ssrc, roc, sequence),
      );
      decipher.setAAD(header);
      decipher.setAuthTag(packet.subarray(end));
      output.set(decipher.update(encrypted), headerLength);
      try {
        decipher.final();
      } catch {
        return null;
      }
    } else {
      const expected = this.#rtpTag(packet.subarray(0, end), roc).subarray(0, this.#tagLength);
      if (!timingSafeEqual(expected, packet.subarray(end))) return null;
      const decipher = createDecipheriv('aes-128-ctr', this.#rtp.encryption, this.#rtp.cmIv(ssrc, index));
      output.set(decipher.update(encrypted), headerLength);
    }
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
    const eIndex = (0x80000000 | index) >>> 0;
    const output = Buffer.allocUnsafe(packet.length + this.#tagLength + srtcpIndexLength);
    packet.copy(output, 0, 0, rtcpHeaderLength);
    const body = packet.subarray(rtcpHeaderLength);

    if (this.#aead) {
      // The AAD is the header and the E flag with the index, which follows the tag (RFC 7714 §9.2).
      output.writeUInt32BE(eIndex, packet.length + this.#tagLength);
      const cipher = createCipheriv(
        'aes-128-gcm',
        this.#rtcp.encryption,
        this.#rtcp.gcmIv(ssrc, index >>> 16, index & 0xffff),
      );
      cipher.setAAD(
        Buffer.concat([output.subarray(0, rtcpHeaderLength), output.subarray(-srtcpIndexLength)]),
      );
      output.set(cipher.update(body), rtcpHeaderLength);
      cipher.final();
      output.set(cipher.getAuthTag(), packet.length);
      return output;
    }
    const cipher = createCipheriv('aes-128-ctr', this.#rtcp.encryption, this.#rtcp.cmIv(ssrc, index));
    output.set(cipher.update(body), rtcpHeaderLength);
    output.writeUInt32BE(eIndex, packet.length);
    const tag = createHmac('sha1', this.#rtcp.authentication as KeyObject)
      .update(output.subarray(0, packet.length + srtcpIndexLength))
      .digest();
    tag.copy(output, packet.length + srtcpIndexLength, 0, this.#tagLength);
    return output;
  }

  /** Authenticates and decrypts an SRTCP packet; null when it fails or is a replay. */
  unprotectRtcp(packet: Buffer): Buffer | null {
    const trailer = this.#tagLength + srtcpIndexLength;
    if (packet.length < rtcpHeaderLength + trailer) return null;
    const ssrc = packet.readUInt32BE(4);
    const end = packet.length - trailer;
    // AES-CM puts the E flag and index before the tag, AEAD after it (RFC 7714 §9.2).
    const indexOffset = this.#aead ? packet.length - srtcpIndexLength : end;
    const eIndex = packet.readUInt32BE(indexOffset);
    const index = eIndex & maxSrtcpIndex;
    let replay = this.#rtcpReplay.get(ssrc);
    if (!replay) {
      replay = new ReplayWindow();
      this.#rtcpReplay.set(ssrc, replay);
    }
    if (!replay.check(index)) return null;

    const output = Buffer.allocUnsafe(end);
    packet.copy(output, 0, 0, rtcpHeaderLength);
    const body = packet.subarray(rtcpHeaderLength, end);
    const encrypted = (eIndex & 0x80000000) !== 0;
    if (this.#aead) {
      const decipher = createDecipheriv(
        'aes-128-gcm',
        this.#rtcp.encryption,
        this.#rtcp.gcmIv(ssrc, index >>> 16, index & 0xffff),
      );
      decipher.setAAD(Buffer.concat([packet.subarray(0, rtcpHeaderLength), packet.subarray(indexOffset)]));
      decipher.setAuthTag(packet.subarray(end, end + this.#tagLength));
      output.set(decipher.update(body), rtcpHeaderLength);
      try {
        decipher.final();
      } catch {
        return null;
      }
    } else {
      const expected = createHmac('sha1', this.#rtcp.authentication as KeyObject)
        .update(packet.subarray(0, end + srtcpIndexLength))
        .digest()
        .subarray(0, this.#tagLength);
      if (!timingSafeEqual(expected, packet.subarray(end + srtcpIndexLength))) return null;
      if (encrypted) {
        const decipher = createDecipheriv('aes-128-ctr', this.#rtcp.encryption, this.#rtcp.cmIv(ssrc, index));
        output.set(decipher.update(body), rtcpHeaderLength);
      } else {
        output.set(body, rtcpHeaderLength);
      }
    }
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

  /** HMAC-SHA1 of an SRTP packet (without its tag) followed by its ROC (RFC 3711 §4.2). */
  #rtpTag(authenticated: Buffer, roc: number): Buffer {
    this.#rocBytes.writeUInt32BE(roc >>> 0);
    return createHmac('sha1', this.#rtp.authentication as KeyObject)
      .update(authenticated)
      .update(this.#rocBytes)
      .digest();
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
