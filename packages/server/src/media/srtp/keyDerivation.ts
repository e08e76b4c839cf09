import { createCipheriv } from 'node:crypto';
import { srtpProfiles, type SrtpProfileName } from './profiles.js';

/** Key derivation labels (RFC 3711 §4.3.2, §4.3.3). */
export const srtpLabels = {
  rtpEncryption: 0x00,
  rtpAuthentication: 0x01,
  rtpSalt: 0x02,
  rtcpEncryption: 0x03,
  rtcpAuthentication: 0x04,
  rtcpSalt: 0x05,
} as const;

/**
 * The SRTP key derivation function with a key derivation rate of 0 (RFC 3711 §4.3.1, used by
 * AEAD-GCM too, RFC 7714 §11): AES-128 in counter mode keyed by the master key, its IV the
 * master salt (padded to 14 bytes) XOR the label at byte 7, shifted left 16 bits.
 */
export function deriveSessionKey(
  masterKey: Buffer,
  masterSalt: Buffer,
  label: number,
  length: number,
): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0, 0, Math.min(masterSalt.length, 14));
  iv[7] = (iv[7] ?? 0) ^ label;
  const cipher = createCipheriv(`aes-${masterKey.length * 8}-ctr`, masterKey, iv);
  return cipher.update(Buffer.alloc(length));
}

/** The master key and salt of one direction of a DTLS-SRTP association. */
export interface SrtpKeyingMaterial {
  readonly profile: SrtpProfileName;
  readonly masterKey: Buffer;
  readonly masterSalt: Buffer;
}

/** The keys of one of SRTP's two flows (RTP or RTCP). */
export interface SrtpFlowKeys {
  readonly encryption: Buffer;
  readonly salt: Buffer;
  /** HMAC-SHA1 key; null for AEAD profiles, which authenticate with the cipher. */
  readonly authentication: Buffer | null;
}

/** The session keys an `SrtpContext` works with. */
export interface SrtpSessionKeys {
  readonly profile: SrtpProfileName;
  readonly rtp: SrtpFlowKeys;
  readonly rtcp: SrtpFlowKeys;
}

/** Derives the RTP and RTCP session keys from a master key and salt. */
export function deriveSrtpSessionKeys(keying: SrtpKeyingMaterial): SrtpSessionKeys {
  const profile = srtpProfiles[keying.profile];
  if (keying.masterKey.length !== profile.keyLength || keying.masterSalt.length !== profile.saltLength) {
    throw new TypeError(`keying material does not fit ${keying.profile}`);
  }
  const aead = keying.profile === 'AEAD_AES_128_GCM';
  const flow = (encryption: number, authentication: number, salt: number): SrtpFlowKeys => ({
    encryption: deriveSessionKey(keying.masterKey, keying.masterSalt, encryption, profile.keyLength),
    salt: deriveSessionKey(keying.masterKey, keying.masterSalt, salt, profile.saltLength),
    authentication: aead ? null : deriveSessionKey(keying.masterKey, keying.masterSalt, authentication, 20),
  });
  return {
    profile: keying.profile,
    rtp: flow(srtpLabels.rtpEncryption, srtpLabels.rtpAuthentication, srtpLabels.rtpSalt),
    rtcp: flow(srtpLabels.rtcpEncryption, srtpLabels.rtcpAuthentication, srtpLabels.rtcpSalt),
  };
}
