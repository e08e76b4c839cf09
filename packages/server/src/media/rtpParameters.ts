/** What the router negotiates for each media section, independent of SDP's syntax. */

export type MediaKind = 'audio' | 'video';

export interface RtpCodec {
  readonly payloadType: number;
  /** As in `a=rtpmap`: `opus`, `VP8`, `H264`, `VP9`. */
  readonly name: string;
  readonly clockRate: number;
  readonly channels?: number;
  /** The `a=fmtp` parameters, verbatim; "" for none. */
  readonly parameters: string;
  /** `a=rtcp-fb` values, e.g. `nack`, `nack pli`, `ccm fir`, `goog-remb`. */
  readonly feedback: readonly string[];
  /** Payload type of the codec's RTX stream (RFC 4588), if negotiated. */
  readonly rtxPayloadType?: number;
}

export interface HeaderExtension {
  readonly id: number;
  readonly uri: string;
}

export const headerExtensionUris = {
  mid: 'urn:ietf:params:rtp-hdrext:sdes:mid',
  rid: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  repairedRid: 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
  audioLevel: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  absSendTime: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  videoOrientation: 'urn:3gpp:video-orientation',
  transportWideCc: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
} as const;

/** One negotiated m-section. */
export interface MediaSection {
  readonly mid: string;
  readonly kind: MediaKind;
  /** The codec in use (first) and any others the peer may switch to. */
  readonly codecs: readonly RtpCodec[];
  readonly extensions: readonly HeaderExtension[];
  /** Simulcast layers by RID, lowest first as offered; empty without simulcast. */
  readonly rids: readonly string[];
  /** SSRCs the peer announced for this section (without simulcast). */
  readonly ssrcs: readonly number[];
}
