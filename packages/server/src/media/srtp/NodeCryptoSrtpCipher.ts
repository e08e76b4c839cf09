import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import type { SrtpFlowKeys, SrtpSessionKeys } from './keyDerivation.js';
import { srtpProfiles } from './profiles.js';
import type { SrtpCipher } from './SrtpCipher.js';

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

/**
 * SRTP's cryptography with node:crypto, the reference the native addon is checked against: per
 * packet one cipher (and for AES-CM one HMAC), since node:crypto takes no new IV on an existing
 * cipher, and the buffers they return.
 */
export class NodeCryptoSrtpCipher implements SrtpCipher {
  readonly #rtp: Flow;
  readonly #rtcp: Flow;
  readonly #aead: boolean;
  readonly #tagLength: number;
  /** The ROC as HMAC-SHA1 authenticates it after an SRTP packet (RFC 3711 §4.2), rewritten per packet. */
  readonly #rocBytes = Buffer.alloc(4);

  constructor(keys: SrtpSessionKeys) {
    this.#aead = keys.profile === 'AEAD_AES_128_GCM';
    this.#tagLength = srtpProfiles[keys.profile].tagLength;
    this.#rtp = new Flow(keys.rtp, this.#aead);
    this.#rtcp = new Flow(keys.rtcp, this.#aead);
  }

  sealRtp(
    output: Buffer,
    headerLength: number,
    packet: Buffer,
    payloadStart: number,
    ssrc: number,
    roc: number,
    sequence: number,
  ): void {
    const length = output.length - this.#tagLength;
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
      return;
    }
    const cipher = createCipheriv(
      'aes-128-ctr',
      this.#rtp.encryption,
      this.#rtp.cmIv(ssrc, roc * 0x10000 + sequence),
    );
    output.set(cipher.update(payload), headerLength);
    this.#rtpTag(output.subarray(0, length), roc).copy(output, length, 0, this.#tagLength);
  }

  openRtp(
    packet: Buffer,
    headerLength: number,
    output: Buffer,
    ssrc: number,
    roc: number,
    sequence: number,
  ): boolean {
    const end = output.length;
    const header = packet.subarray(0, headerLength);
    const encrypted = packet.subarray(headerLength, end);
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
        return false;
      }
      return true;
    }
    const expected = this.#rtpTag(packet.subarray(0, end), roc).subarray(0, this.#tagLength);
    if (!timingSafeEqual(expected, packet.subarray(end))) return false;
    const decipher = createDecipheriv(
      'aes-128-ctr',
      this.#rtp.encryption,
      this.#rtp.cmIv(ssrc, roc * 0x10000 + sequence),
    );
    output.set(decipher.update(encrypted), headerLength);
    return true;
  }

  sealRtcp(packet: Buffer, output: Buffer, ssrc: number, index: number): void {
    const eIndex = (0x80000000 | index) >>> 0;
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
      return;
    }
    const cipher = createCipheriv('aes-128-ctr', this.#rtcp.encryption, this.#rtcp.cmIv(ssrc, index));
    output.set(cipher.update(body), rtcpHeaderLength);
    output.writeUInt32BE(eIndex, packet.length);
    const tag = createHmac('sha1', this.#rtcp.authentication as KeyObject)
      .update(output.subarray(0, packet.length + srtcpIndexLength))
      .digest();
    tag.copy(output, packet.length + srtcpIndexLength, 0, this.#tagLength);
  }

  openRtcp(packet: Buffer, output: Buffer, ssrc: number, index: number, encrypted: boolean): boolean {
    const end = output.length;
    packet.copy(output, 0, 0, rtcpHeaderLength);
    const body = packet.subarray(rtcpHeaderLength, end);
    if (this.#aead) {
      const decipher = createDecipheriv(
        'aes-128-gcm',
        this.#rtcp.encryption,
        this.#rtcp.gcmIv(ssrc, index >>> 16, index & 0xffff),
      );
      decipher.setAAD(
        Buffer.concat([packet.subarray(0, rtcpHeaderLength), packet.subarray(-srtcpIndexLength)]),
      );
      decipher.setAuthTag(packet.subarray(end, end + this.#tagLength));
      output.set(decipher.update(body), rtcpHeaderLength);
      try {
        decipher.final();
      } catch {
        return false;
      }
      return true;
    }
    const expected = createHmac('sha1', this.#rtcp.authentication as KeyObject)
      .update(packet.subarray(0, end + srtcpIndexLength))
      .digest()
      .subarray(0, this.#tagLength);
    if (!timingSafeEqual(expected, packet.subarray(end + srtcpIndexLength))) return false;
    if (encrypted) {
      const decipher = createDecipheriv('aes-128-ctr', this.#rtcp.encryption, this.#rtcp.cmIv(ssrc, index));
      output.set(decipher.update(body), rtcpHeaderLength);
    } else {
      output.set(body, rtcpHeaderLength);
    }
    return true;
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
