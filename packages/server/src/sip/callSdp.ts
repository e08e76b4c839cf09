import { parse } from 'sdp-transform';
import type { CallCodecName } from './audioCodecs.js';

/** The payload types Parlor offers, in its order of preference (RFC 3551 for G.711). */
const offeredCodecs: readonly { name: CallCodecName; payloadType: number; rtpmap: string; fmtp?: string }[] =
  [
    { name: 'opus', payloadType: 111, rtpmap: 'opus/48000/2', fmtp: 'useinbandfec=1' },
    { name: 'g722', payloadType: 9, rtpmap: 'G722/8000' },
    { name: 'pcmu', payloadType: 0, rtpmap: 'PCMU/8000' },
    { name: 'pcma', payloadType: 8, rtpmap: 'PCMA/8000' },
  ];
const telephoneEventPayloadType = 101;

export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface CallOfferOptions {
  /** The address and port the far end sends RTP to. */
  readonly address: string;
  readonly port: number;
  /** The `o=` line's session ID, and its version (raised with each new description). */
  readonly sessionId: string;
  readonly version: number;
  /** The codecs offered, a subset of Parlor's, in Parlor's order. Default: all. */
  readonly codecs?: readonly CallCodecName[];
  /** Default: sendrecv. */
  readonly direction?: MediaDirection;
  /** SDES-SRTP (RFC 4568): our master key and salt for AES_CM_128_HMAC_SHA1_80; null for plain RTP. Default: null. */
  readonly srtpKey?: Buffer | null;
}

/** The one SDES crypto suite Parlor offers and accepts. */
export const sdesSuite = 'AES_CM_128_HMAC_SHA1_80';

/** An SDP offer (RFC 3264) of one audio section: Parlor's codecs and telephone-event (RFC 4733). */
export function callOffer(options: CallOfferOptions): string {
  const codecs = offeredCodecs.filter(({ name }) => options.codecs?.includes(name) ?? true);
  const family = options.address.includes(':') ? 'IP6' : 'IP4';
  const lines = [
    'v=0',
    `o=parlor ${options.sessionId} ${options.version} IN ${family} ${options.address}`,
    's=Parlor',
    `c=IN ${family} ${options.address}`,
    't=0 0',
    `m=audio ${options.port} ${options.srtpKey ? 'RTP/SAVP' : 'RTP/AVP'} ${[...codecs.map((c) => c.payloadType), telephoneEventPayloadType].join(' ')}`,
    ...codecs.flatMap((codec) => [
      `a=rtpmap:${codec.payloadType} ${codec.rtpmap}`,
      ...(codec.fmtp ? [`a=fmtp:${codec.payloadType} ${codec.fmtp}`] : []),
    ]),
    `a=rtpmap:${telephoneEventPayloadType} telephone-event/8000`,
    `a=fmtp:${telephoneEventPayloadType} 0-16`,
    'a=ptime:20',
    `a=${options.direction ?? 'sendrecv'}`,
    ...(options.srtpKey ? [`a=crypto:1 ${sdesSuite} inline:${options.srtpKey.toString('base64')}`] : []),
  ];
  return `${lines.join('\r\n')}\r\n`;
}

/** What the far end's answer (or re-offer) chose. */
export interface CallAnswer {
  readonly codec: CallCodecName;
  readonly payloadType: number;
  /** Its telephone-event payload type (at 8 kHz), or null when it takes no RFC 4733 events. */
  readonly telephoneEventPayloadType: number | null;
  /** Where its RTP goes. */
  readonly address: string;
  readonly port: number;
  /** The direction from the far end's side: `sendonly` or `inactive` (or address 0.0.0.0) put us on hold. */
  readonly direction: MediaDirection;
  readonly onHold: boolean;
  /** The far end's SDES master key and salt (30 bytes) when it answered with SRTP; null for plain RTP. */
  readonly srtpKey: Buffer | null;
}

/**
 * Reads the audio section of the far end's description: the first codec of its list that Parlor
 * offers. Throws a TypeError when it has none, or no audio.
 */
export function readCallAnswer(sdp: string): CallAnswer {
  const description = parse(sdp);
  const audio = description.media.find((media) => media.type === 'audio' && media.port !== 0);
  if (!audio) throw new TypeError('the description has no audio');
  const address = audio.connection?.ip ?? description.connection?.ip;
  if (!address) throw new TypeError('the description has no connection address');
  const rtpmaps = new Map(audio.rtp.map((entry) => [entry.payload, entry]));
  // sdp-transform reads a lone payload type as a number, despite its types.
  const listed: unknown = audio.payloads;
  const payloads = (typeof listed === 'number' ? `${listed}` : typeof listed === 'string' ? listed : '')
    .split(' ')
    .filter((p) => p !== '')
    .map(Number);
  let chosen: { codec: CallCodecName; payloadType: number } | null = null;
  let telephoneEvent: number | null = null;
  for (const payloadType of payloads) {
    const rtpmap = rtpmaps.get(payloadType);
    const name = rtpmap?.codec.toLowerCase() ?? staticPayloadNames.get(payloadType);
    if (name === 'telephone-event' && (rtpmap?.rate ?? 8000) === 8000) telephoneEvent ??= payloadType;
    const known = offeredCodecs.find((codec) => codec.name === name);
    if (known && !chosen) chosen = { codec: known.name, payloadType };
  }
  if (!chosen) throw new TypeError('the description has no codec Parlor offers');
  const direction: MediaDirection = audio.direction ?? description.direction ?? 'sendrecv';
  const heldAddress = address === '0.0.0.0' || address === '::';
  const crypto = (audio.crypto ?? []).find((entry) => entry.suite === sdesSuite);
  const inline = crypto && /^inline:([A-Za-z0-9+/=]+)/.exec(crypto.config)?.[1];
  const srtpKey = inline ? Buffer.from(inline, 'base64') : null;
  if (srtpKey && srtpKey.length !== 30) throw new TypeError('the SDES key is not 30 bytes');
  return {
    ...chosen,
    telephoneEventPayloadType: telephoneEvent,
    address,
    port: audio.port,
    direction,
    onHold: heldAddress || direction === 'sendonly' || direction === 'inactive',
    srtpKey,
  };
}

/** The direction to answer a re-offer with (RFC 3264 §6.1). */
export function answerDirection(offered: MediaDirection): MediaDirection {
  if (offered === 'sendonly') return 'recvonly';
  if (offered === 'recvonly') return 'sendonly';
  return offered;
}

const staticPayloadNames = new Map([
  [0, 'pcmu'],
  [9, 'g722'],
  [8, 'pcma'],
]);
