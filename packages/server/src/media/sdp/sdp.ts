import { parse, write, type MediaDescription, type SessionDescription } from 'sdp-transform';
import {
  headerExtensionUris,
  type HeaderExtension,
  type MediaKind,
  type MediaSection,
  type RtpCodec,
} from '../rtpParameters.js';

/** The transport side of a description: ICE credentials and the DTLS fingerprint. */
export interface TransportDescription {
  readonly iceUfrag: string;
  readonly icePwd: string;
  /** `sha-256 AB:CD:…` */
  readonly fingerprint: string;
}

/** What a peer's offer or answer says, with every codec and extension it listed. */
export interface RemoteDescription extends TransportDescription {
  readonly media: readonly (MediaSection & { readonly direction: string; readonly rejected: boolean })[];
}

/** How the router is reached: its ICE credentials, DTLS fingerprint and host candidates. */
export interface LocalTransport extends TransportDescription {
  /** UDP first; a TCP candidate is passive ICE-TCP (RFC 6544), for peers whose UDP is blocked. */
  readonly candidates: readonly {
    readonly ip: string;
    readonly port: number;
    readonly protocol?: 'udp' | 'tcp';
  }[];
}

/** Codecs the router forwards, in order of preference, and how to tell them apart. */
const supportedCodecs: readonly {
  kind: MediaKind;
  name: string;
  /** The RTP clock rate the codec's RFC fixes; an offer of any other is not negotiated. */
  clockRate: number;
  accepts: (parameters: string) => boolean;
}[] = [
  // RFC 7587 §7: always opus/48000/2, whatever the sampling rate used.
  { kind: 'audio', name: 'opus', clockRate: 48_000, accepts: () => true },
  { kind: 'video', name: 'VP8', clockRate: 90_000, accepts: () => true },
  {
    kind: 'video',
    name: 'H264',
    clockRate: 90_000,
    accepts: (p) => /packetization-mode=1/.test(p) && /profile-level-id=42e01f/i.test(p),
  },
  { kind: 'video', name: 'VP9', clockRate: 90_000, accepts: (p) => !/profile-id=[12]/.test(p) },
];

/**
 * The feedback the router answers: NACK, keyframe requests, and transport-wide feedback (with
 * the transport-wide sequence number extension) or REMB for the publisher's estimate.
 */
const supportedFeedback = new Set(['nack', 'nack pli', 'ccm fir', 'goog-remb', 'transport-cc']);

/** The header extensions the router accepts from publishers: all it knows. */
const supportedExtensions = new Set<string>(Object.values(headerExtensionUris));

/** Reads a browser's offer or answer. */
export function parseDescription(sdp: string): RemoteDescription {
  const session = parse(sdp);
  const first = session.media[0];
  const iceUfrag = first?.iceUfrag ?? session.iceUfrag;
  const icePwd = first?.icePwd ?? session.icePwd;
  const fingerprint = first?.fingerprint ?? session.fingerprint;
  if (!iceUfrag || !icePwd || !fingerprint)
    throw new TypeError('the description has no ICE credentials or fingerprint');
  return {
    iceUfrag,
    icePwd,
    fingerprint: `${fingerprint.type} ${fingerprint.hash}`,
    media: session.media.map((media) => ({
      mid: midOf(media),
      kind: media.type === 'audio' ? 'audio' : 'video',
      codecs: codecsOf(media),
      extensions: (media.ext ?? []).map((ext) => ({ id: ext.value, uri: ext.uri })),
      rids: (media.rids ?? []).filter((rid) => rid.direction === 'send').map((rid) => String(rid.id)),
      ssrcs: [...new Set((media.ssrcs ?? []).map((ssrc) => ssrc.id))].filter(
        (ssrc) =>
          !(media.ssrcGroups ?? []).some(
            (group) => group.semantics === 'FID' && group.ssrcs.split(' ')[1] === String(ssrc),
          ),
      ),
      direction: media.direction ?? 'sendrecv',
      rejected: media.port === 0,
    })),
  };
}

/**
 * What the router accepts of a publisher's offer: per section the most preferred codec it
 * forwards (with its RTX), the feedback and header extensions it understands, and the RIDs.
 * A section with no such codec is rejected (null).
 */
export function acceptPublisherMedia(offer: RemoteDescription): (MediaSection | null)[] {
  return offer.media.map((media) => {
    if (media.rejected) return null;
    const codec = supportedCodecs
      .filter((supported) => supported.kind === media.kind)
      .map((supported) =>
        media.codecs.find(
          (c) =>
            c.name.toLowerCase() === supported.name.toLowerCase() &&
            c.clockRate === supported.clockRate &&
            supported.accepts(c.parameters),
        ),
      )
      .find((found) => found !== undefined);
    if (!codec) return null;
    return {
      mid: media.mid,
      kind: media.kind,
      codecs: [{ ...codec, feedback: codec.feedback.filter((f) => supportedFeedback.has(f)) }],
      extensions: media.extensions.filter((ext) => supportedExtensions.has(ext.uri)),
      rids: media.rids,
      ssrcs: media.ssrcs,
    };
  });
}

/** The router's answer to a publisher's offer: ICE-lite, DTLS server, receive only. */
export function answerPublisher(
  offer: RemoteDescription,
  accepted: readonly (MediaSection | null)[],
  local: LocalTransport,
): string {
  const session = baseSession(
    local,
    accepted.filter((media) => media !== null).map((media) => media.mid),
  );
  session.media = offer.media.map((offered, index) => {
    const media = accepted[index];
    if (!media) {
      return {
        type: offered.kind,
        port: 0,
        protocol: 'UDP/TLS/RTP/SAVPF',
        payloads: '0',
        mid: offered.mid,
        direction: 'inactive',
        rtp: [],
        fmtp: [],
      };
    }
    const section = mediaSection(media, local, 'recvonly');
    if (media.rids.length > 0) {
      section.rids = media.rids.map((id) => ({ id, direction: 'recv' }));
      section.simulcast = { dir1: 'recv', list1: media.rids.join(';') };
    }
    return section;
  });
  return write(session);
}

/** A track the router sends to a subscriber. */
export interface OutgoingTrack {
  readonly section: MediaSection;
  readonly ssrc: number;
  /**
   * The SSRC of the track's retransmissions (RFC 4588), paired with `ssrc` by an
   * `a=ssrc-group:FID`; give it when the section's codec has an RTX payload type.
   */
  readonly rtxSsrc?: number;
  readonly cname: string;
  /** `a=msid`: the stream and track IDs the browser will report. */
  readonly streamId: string;
  readonly trackId: string;
}

/** The router's offer to a subscriber: ICE-lite, DTLS server (actpass answered active), send only. */
export function offerSubscriber(tracks: readonly OutgoingTrack[], local: LocalTransport): string {
  const session = baseSession(
    local,
    tracks.map((track) => track.section.mid),
  );
  session.media = tracks.map((track) => {
    const section = mediaSection(track.section, local, 'sendonly');
    section.setup = 'actpass';
    section.msid = [{ id: track.streamId, appdata: track.trackId }];
    const ssrcs = track.rtxSsrc === undefined ? [track.ssrc] : [track.ssrc, track.rtxSsrc];
    section.ssrcs = ssrcs.flatMap((id) => [
      { id, attribute: 'cname', value: track.cname },
      { id, attribute: 'msid', value: `${track.streamId} ${track.trackId}` },
    ]);
    if (track.rtxSsrc !== undefined) section.ssrcGroups = [{ semantics: 'FID', ssrcs: ssrcs.join(' ') }];
    return section;
  });
  return write(session);
}

function baseSession(local: LocalTransport, bundle: readonly string[]): SessionDescription {
  return {
    version: 0,
    origin: {
      username: 'parlor',
      sessionId: Date.now(),
      sessionVersion: 1,
      netType: 'IN',
      ipVer: 4,
      address: '127.0.0.1',
    },
    name: '-',
    timing: { start: 0, stop: 0 },
    icelite: 'ice-lite',
    groups: bundle.length > 0 ? [{ type: 'BUNDLE', mids: bundle.join(' ') }] : [],
    msidSemantic: { semantic: 'WMS', token: '*' },
    media: [],
  };
}

function mediaSection(
  media: MediaSection,
  local: LocalTransport,
  direction: 'recvonly' | 'sendonly',
): MediaDescription {
  const [fingerprintType = 'sha-256', fingerprintHash = ''] = local.fingerprint.split(' ');
  const rtp: MediaDescription['rtp'] = [];
  const fmtp: MediaDescription['fmtp'] = [];
  const rtcpFb: NonNullable<MediaDescription['rtcpFb']> = [];
  for (const codec of media.codecs) {
    rtp.push({
      payload: codec.payloadType,
      codec: codec.name,
      rate: codec.clockRate,
      ...(codec.channels ? { encoding: codec.channels } : {}),
    });
    if (codec.parameters) fmtp.push({ payload: codec.payloadType, config: codec.parameters });
    for (const feedback of codec.feedback) {
      const [type = '', subtype] = feedback.split(' ');
      rtcpFb.push({ payload: codec.payloadType, type, ...(subtype ? { subtype } : {}) });
    }
    if (codec.rtxPayloadType !== undefined) {
      rtp.push({ payload: codec.rtxPayloadType, codec: 'rtx', rate: codec.clockRate });
      fmtp.push({ payload: codec.rtxPayloadType, config: `apt=${codec.payloadType}` });
    }
  }
  const first = local.candidates[0];
  return {
    type: media.kind,
    port: first?.port ?? 9,
    protocol: 'UDP/TLS/RTP/SAVPF',
    payloads: rtp.map((entry) => entry.payload).join(' '),
    connection: { version: 4, ip: first?.ip ?? '0.0.0.0' },
    mid: media.mid,
    iceUfrag: local.iceUfrag,
    icePwd: local.icePwd,
    fingerprint: { type: fingerprintType, hash: fingerprintHash },
    setup: 'passive',
    direction,
    rtcpMux: 'rtcp-mux',
    rtcpRsize: 'rtcp-rsize',
    rtp,
    fmtp,
    rtcpFb,
    ext: media.extensions.map((ext) => ({ value: ext.id, uri: ext.uri })),
    candidates: local.candidates.map((candidate, i) =>
      candidate.protocol === 'tcp'
        ? {
            foundation: String(i + 1),
            component: 1,
            transport: 'tcp',
            // Below every UDP candidate: TCP only where UDP fails.
            priority: 1518280447 - i,
            ip: candidate.ip,
            port: candidate.port,
            type: 'host',
            tcptype: 'passive',
          }
        : {
            foundation: String(i + 1),
            component: 1,
            transport: 'udp',
            priority: 2130706431 - i,
            ip: candidate.ip,
            port: candidate.port,
            type: 'host',
          },
    ),
    endOfCandidates: 'end-of-candidates',
  };
}

/** The section's mid as a string: sdp-transform reads `a=mid:0` as a number, whatever its types say. */
function midOf(media: MediaDescription): string {
  const mid = media.mid as string | number | undefined;
  return mid === undefined ? '' : String(mid);
}

function codecsOf(media: MediaDescription): RtpCodec[] {
  const fmtpOf = (payload: number): string => media.fmtp.find((f) => f.payload === payload)?.config ?? '';
  const rtxFor = new Map<number, number>();
  for (const entry of media.rtp) {
    const apt = /apt=(\d+)/.exec(fmtpOf(entry.payload))?.[1];
    if (entry.codec.toLowerCase() === 'rtx' && apt) rtxFor.set(Number(apt), entry.payload);
  }
  return media.rtp
    .filter((entry) => !['rtx', 'red', 'ulpfec', 'cn', 'telephone-event'].includes(entry.codec.toLowerCase()))
    .map((entry) => ({
      payloadType: entry.payload,
      name: entry.codec,
      clockRate: entry.rate ?? 90000,
      ...(entry.encoding ? { channels: entry.encoding } : {}),
      parameters: fmtpOf(entry.payload),
      feedback: (media.rtcpFb ?? [])
        .filter((fb) => fb.payload === entry.payload || String(fb.payload) === '*')
        .map((fb) => (fb.subtype ? `${fb.type} ${fb.subtype}` : fb.type)),
      ...(rtxFor.has(entry.payload) ? { rtxPayloadType: rtxFor.get(entry.payload) } : {}),
    }));
}

export type { HeaderExtension };
