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

/** A flow's keys, as KeyObjects so that node:crypto does not copy them for every packet. */
interface FlowKeys {
  readonly encryption: KeyObject;
  readonly salt: Buffer;
  readonly authentication: KeyObject | null;
}

const rtcpHeaderLength = 8;
/** Size of the E flag and SRTCP index that follow an SRTCP payload. */
const srtcpIndexLength = 4;
const maxSrtcpIndex = 0x7fffffff;

/**
 * SRTP and SRTCP protection for one direction of one peer (RFC 3711, RFC 7714): AES-CM with
 * HMAC-SHA1-80, or AEAD AES-128-GCM. Session keys are derived once; per packet the cost is one
 * cipher (and for AES-CM one HMAC), and the packet's own buffer is only read.
 */
export class SrtpContext {
  readonly profile: SrtpProfileName;
  readonly #rtp: FlowKeys;
  readonly #rtcp: FlowKeys;
  readonly #aead: boolean;
  readonly #tagLength: number;
  readonly #rtpStreams = new Map<number, RtpStreamState>();
  readonly #rtcpReplay = new Map<number, ReplayWindow>();
  readonly #srtcpIndex = new Map<number, number>();

  /** Build one from a DTLS-SRTP master key with `deriveSrtpSessionKeys`. */
  constructor(keys: SrtpSessionKeys) {
    this.profile = keys.profile;
    this.#aead = keys.profile === 'AEAD_AES_128_GCM';
    this.#tagLength = srtpProfiles[keys.profile].tagLength;
    const flow = (flowKeys: SrtpFlowKeys): FlowKeys => ({
      encryption: createSecretKey(flowKeys.encryption),
      salt: flowKeys.salt,
      authentication: flowKeys.authentication && createSecretKey(flowKeys.authentication),
    });
    this.#rtp = flow(keys.rtp);
    this.#rtcp = flow(keys.rtcp);
  }

  /** Encrypts and authenticates an RTP packet; returns the SRTP packet (a new buffer). */
  protectRtp(packet: Buffer): Buffer {
    const headerLength = rtpHeaderLength(packet);
    if (headerLength < 0) throw new TypeError('not an RTP packet');
    const ssrc = readSsrc(packet);
    const sequence = readSequenceNumber(packet);
    const state = this.#streamState(ssrc, sequence);
    const roc = estimateRoc(state, sequence);
    if (roc > state.roc || (roc === state.roc && sequence > state.highestSequence)) {
      state.roc = roc;
      state.highestSequence = sequence;
    }
    const header = packet.subarray(0, headerLength);
    const payload = packet.subarray(headerLength);
    const output = Buffer.allocUnsafe(packet.length + this.#tagLength);
    header.copy(output);

    if (this.#aead) {
      const cipher = createCipheriv(
        'aes-128-gcm',
        this.#rtp.encryption,
        gcmRtpIv(this.#rtp.salt, ssrc, roc, sequence),
      );
      cipher.setAAD(header);
      const encrypted = cipher.update(payload);
      cipher.final();
      encrypted.copy(output, headerLength);
      cipher.getAuthTag().copy(output, packet.length);
      return output;
    }
    const cipher = createCipheriv(
      'aes-128-ctr',
      this.#rtp.encryption,
      cmIv(this.#rtp.salt, ssrc, roc * 0x10000 + sequence),
    );
    cipher.update(payload).copy(output, headerLength);
    const tag = this.#hmac(this.#rtp, output.subarray(0, packet.length), roc);
    tag.copy(output, packet.length, 0, this.#tagLength);
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
    const output = Buffer.allocUnsafe(end);
    header.copy(output);
    if (this.#aead) {
      const decipher = createDecipheriv(
        'aes-128-gcm',
        this.#rtp.encryption,
        gcmRtpIv(this.#rtp.salt, ssrc, roc, sequence),
      );
      decipher.setAAD(header);
      decipher.setAuthTag(packet.subarray(end));
      const decrypted = decipher.update(packet.subarray(headerLength, end));
      try {
        decipher.final();
      } catch {
        return null;
      }
      decrypted.copy(output, headerLength);
    } else {
      const expected = this.#hmac(this.#rtp, packet.subarray(0, end), roc).subarray(0, this.#tagLength);
      if (!timingSafeEqual(expected, packet.subarray(end))) return null;
      const decipher = createDecipheriv(
        'aes-128-ctr',
        this.#rtp.encryption,
        cmIv(this.#rtp.salt, ssrc, index),
      );
      decipher.update(packet.subarray(headerLength, end)).copy(output, headerLength);
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

    if (this.#aead) {
      const cipher = createCipheriv(
        'aes-128-gcm',
        this.#rtcp.encryption,
        gcmRtcpIv(this.#rtcp.salt, ssrc, index),
      );
      cipher.setAAD(Buffer.concat([packet.subarray(0, rtcpHeaderLength), uint32(eIndex)]));
      cipher.update(packet.subarray(rtcpHeaderLength)).copy(output, rtcpHeaderLength);
      cipher.final();
      cipher.getAuthTag().copy(output, packet.length);
      output.writeUInt32BE(eIndex, packet.length + this.#tagLength);
      return output;
    }
    const cipher = createCipheriv('aes-128-ctr', this.#rtcp.encryption, cmIv(this.#rtcp.salt, ssrc, index));
    cipher.update(packet.subarray(rtcpHeaderLength)).copy(output, rtcpHeaderLength);
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
    const encrypted = (eIndex & 0x80000000) !== 0;
    if (this.#aead) {
      const decipher = createDecipheriv(
        'aes-128-gcm',
        this.#rtcp.encryption,
        gcmRtcpIv(this.#rtcp.salt, ssrc, index),
      );
      decipher.setAAD(Buffer.concat([packet.subarray(0, rtcpHeaderLength), packet.subarray(indexOffset)]));
      decipher.setAuthTag(packet.subarray(end, end + this.#tagLength));
      const body = decipher.update(packet.subarray(rtcpHeaderLength, end));
      try {
        decipher.final();
      } catch {
        return null;
      }
      body.copy(output, rtcpHeaderLength);
    } else {
      const expected = createHmac('sha1', this.#rtcp.authentication as KeyObject)
        .update(packet.subarray(0, end + srtcpIndexLength))
        .digest()
        .subarray(0, this.#tagLength);
      if (!timingSafeEqual(expected, packet.subarray(end + srtcpIndexLength))) return null;
      const body = packet.subarray(rtcpHeaderLength, end);
      if (encrypted) {
        createDecipheriv('aes-128-ctr', this.#rtcp.encryption, cmIv(this.#rtcp.salt, ssrc, index))
          .update(body)
          .copy(output, rtcpHeaderLength);
      } else {
        body.copy(output, rtcpHeaderLength);
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

  #hmac(keys: FlowKeys, data: Buffer, roc: number): Buffer {
    return createHmac('sha1', keys.authentication as KeyObject)
      .update(data)
      .update(uint32(roc))
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

/** AES-CM IV (RFC 3711 §4.1.1): salt·2^16 XOR SSRC·2^64 XOR index·2^16. */
function cmIv(salt: Buffer, ssrc: number, index: number): Buffer {
  const iv = Buffer.alloc(16);
  salt.copy(iv, 0, 0, 14);
  iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
  const high = Math.floor(index / 0x100000000);
  iv.writeUInt16BE(iv.readUInt16BE(8) ^ (high & 0xffff), 8);
  iv.writeUInt32BE((iv.readUInt32BE(10) ^ index) >>> 0, 10);
  return iv;
}

/** AEAD IV for SRTP (RFC 7714 §8.1): (0x0000 ‖ SSRC ‖ ROC ‖ SEQ) XOR salt. */
function gcmRtpIv(salt: Buffer, ssrc: number, roc: number, sequence: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(ssrc, 2);
  iv.writeUInt32BE(roc >>> 0, 6);
  iv.writeUInt16BE(sequence, 10);
  for (let i = 0; i < 12; i++) iv[i] = (iv[i] as number) ^ (salt[i] as number);
  return iv;
}

/** AEAD IV for SRTCP (RFC 7714 §9.1): (0x0000 ‖ SSRC ‖ 0x0000 ‖ 0 ‖ SRTCP index) XOR salt. */
function gcmRtcpIv(salt: Buffer, ssrc: number, index: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(ssrc, 2);
  iv.writeUInt32BE(index, 8);
  for (let i = 0; i < 12; i++) iv[i] = (iv[i] as number) ^ (salt[i] as number);
  return iv;
}

function uint32(value: number): Buffer {
  const buffer = Buffer.allocUnsafe(4);
  buffer.writeUInt32BE(value >>> 0);
  return buffer;
}
