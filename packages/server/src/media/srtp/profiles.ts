/**
 * The SRTP protection profiles Parlor negotiates in DTLS-SRTP (RFC 5764 §4.1.2, RFC 7714 §14),
 * AEAD-GCM first: it costs less per packet than AES-CM with HMAC-SHA1.
 */
export const srtpProfiles = {
  AEAD_AES_128_GCM: { id: 0x0007, keyLength: 16, saltLength: 12, tagLength: 16 },
  AES_CM_128_HMAC_SHA1_80: { id: 0x0001, keyLength: 16, saltLength: 14, tagLength: 10 },
} as const;

export type SrtpProfileName = keyof typeof srtpProfiles;
export type SrtpProfile = (typeof srtpProfiles)[SrtpProfileName];

/** The profiles in order of preference. */
export const preferredSrtpProfiles: readonly SrtpProfileName[] = [
  'AEAD_AES_128_GCM',
  'AES_CM_128_HMAC_SHA1_80',
];

export function srtpProfileById(id: number): SrtpProfileName | undefined {
  return preferredSrtpProfiles.find((name) => srtpProfiles[name].id === id);
}
