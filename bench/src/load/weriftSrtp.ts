import type { RTCDtlsTransport } from 'werift';
import { deriveSrtpSessionKeys, srtpProfileById, srtpProfiles, SrtpContext } from '@parlor/server/media';

/**
 * An SRTP context for one direction of a werift transport whose DTLS handshake is done, keyed
 * as werift's own would be (RFC 5764 §4.2): Parlor's `SrtpContext`, on node:crypto.
 */
export function srtpContextOf(transport: RTCDtlsTransport, direction: 'inbound' | 'outbound'): SrtpContext {
  const dtls = transport.dtls;
  const profile = srtpProfileById(dtls?.srtp.srtpProfile ?? -1);
  if (!dtls || !profile) throw new Error('DTLS negotiated no SRTP profile Parlor knows');
  const { keyLength, saltLength } = srtpProfiles[profile];
  const keys = dtls.extractSessionKeys(keyLength, saltLength) as Record<
    'localKey' | 'localSalt' | 'remoteKey' | 'remoteSalt',
    Buffer
  >;
  return new SrtpContext(
    deriveSrtpSessionKeys(
      direction === 'inbound'
        ? { profile, masterKey: keys.remoteKey, masterSalt: keys.remoteSalt }
        : { profile, masterKey: keys.localKey, masterSalt: keys.localSalt },
    ),
  );
}
