import { RTCPeerConnection, RTCRtpCodecParameters, type RTCDtlsTransport } from 'werift';
import {
  deriveSrtpSessionKeys,
  parseDescription,
  srtpProfileById,
  srtpProfiles,
  SrtpContext,
} from '@parlor/server/media';
import type { BenchClip } from './benchClip.js';
import { ClipPlayer } from './ClipPlayer.js';
import type { ReceiveMeter, TrackMeter } from './ReceiveMeter.js';

/** What a synthetic participant publishes: a camera and microphone, or a microphone alone. */
export type PublishedMedia = 'audio+video' | 'audio';

/** Where the load process's peers gather their host candidates. */
export interface PeerNetwork {
  /**
   * An address to add to the host candidates although werift skips its interface (loopback);
   * null to use the machine's other interfaces, as in the benchmark's network namespace.
   */
  readonly extraHostAddress: string | null;
}

/**
 * The peer connection of a synthetic participant: VP8 and Opus, no header extensions and no
 * RTCP feedback (no NACK, so that loss is counted before any repair and the load process spends
 * nothing on retransmissions; no keyframe requests, which the clip, with a keyframe every 5 s,
 * would not answer anyway).
 */
function createPeer(network: PeerNetwork): RTCPeerConnection {
  return new RTCPeerConnection({
    iceServers: [],
    iceUseIpv6: false,
    ...(network.extraHostAddress ? { iceAdditionalHostAddresses: [network.extraHostAddress] } : {}),
    codecs: {
      video: [
        new RTCRtpCodecParameters({
          mimeType: 'video/VP8',
          clockRate: 90_000,
          payloadType: 96,
          rtcpFeedback: [],
        }),
      ],
      audio: [
        new RTCRtpCodecParameters({
          mimeType: 'audio/opus',
          clockRate: 48_000,
          channels: 2,
          payloadType: 111,
        }),
      ],
    },
    headerExtensions: { audio: [], video: [] },
  });
}

/** The local description once every host candidate is in it (no trickle). */
function localSdp(pc: RTCPeerConnection): string {
  const sdp = pc.localDescription?.sdp;
  if (!sdp) throw new Error('the peer connection has no local description');
  return sdp;
}

export interface PublisherPeerOptions {
  readonly clip: BenchClip;
  readonly media: PublishedMedia;
  readonly network: PeerNetwork;
  /** Told when the publisher's connection fails, with why: its media then stops for everyone. */
  readonly onPublisherFailed: (reason: string) => void;
}

/** A publisher's peer connection: offers send-only tracks and plays the clip into them. */
export class PublisherPeer {
  readonly offerSdp: string;
  readonly #pc: RTCPeerConnection;
  readonly #player: ClipPlayer;

  private constructor(pc: RTCPeerConnection, player: ClipPlayer) {
    this.#pc = pc;
    this.#player = player;
    this.offerSdp = localSdp(pc);
  }

  static async offer(options: PublisherPeerOptions): Promise<PublisherPeer> {
    const pc = createPeer(options.network);
    const audio = pc.addTransceiver('audio', { direction: 'sendonly' });
    const video =
      options.media === 'audio+video' ? pc.addTransceiver('video', { direction: 'sendonly' }) : null;
    await pc.setLocalDescription(await pc.createOffer());
    const player = new ClipPlayer({ clip: options.clip, audio: audio.sender, video: video?.sender ?? null });
    pc.iceConnectionStateChange.subscribe((state) => {
      // Once connected, ICE fails only when consent expires (RFC 7675): werift got no answer to
      // its checks for 30 s, as when the SFU fell that far behind what it receives.
      if (state === 'failed') options.onPublisherFailed("a publisher's ICE failed (consent expired)");
    });
    return new PublisherPeer(pc, player);
  }

  get packetsSent(): number {
    return this.#player.packetsSent;
  }

  /** Takes the SFU's answer and starts sending (packets before the handshake ends are dropped). */
  async accept(answerSdp: string): Promise<void> {
    await this.#pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
    this.#player.start();
  }

  async close(): Promise<void> {
    this.#player.stop();
    await this.#pc.close();
  }
}

export interface SubscriberPeerOptions {
  readonly offerSdp: string;
  readonly clip: BenchClip;
  readonly meter: ReceiveMeter;
  readonly network: PeerNetwork;
}

/**
 * A subscriber's peer connection: werift answers the SFU's offer and runs ICE and DTLS; once
 * DTLS is up, the media path is taken over. Every SRTP packet is decrypted (with Parlor's
 * `SrtpContext`, node:crypto) and counted, and goes no further: werift's own receive path
 * (its SRTP, RTP parsing, receiver statistics and reports) would cost the load process about
 * three times what the SFU spends on a packet, and the load process would saturate first.
 * RTCP from the SFU is dropped likewise; ICE consent keeps running in werift.
 */
export class SubscriberPeer {
  readonly answerSdp: string;
  /** `performance.now()` when the first RTP packet arrived. */
  readonly firstPacket: Promise<number>;
  readonly #pc: RTCPeerConnection;

  private constructor(pc: RTCPeerConnection, firstPacket: Promise<number>) {
    this.#pc = pc;
    this.firstPacket = firstPacket;
    this.answerSdp = localSdp(pc);
  }

  static async answer(options: SubscriberPeerOptions): Promise<SubscriberPeer> {
    const pc = createPeer(options.network);
    const meters = meterPerPayloadType(options);
    await pc.setRemoteDescription({ type: 'offer', sdp: options.offerSdp });
    const transport = pc.getTransceivers()[0]?.dtlsTransport;
    if (!transport) throw new Error('the offer has no media section');
    const firstPacket = new Promise<number>((resolve) => {
      transport.onStateChange.subscribe((state) => {
        if (state === 'connected') receiveMedia(transport, meters, resolve);
      });
    });
    await pc.setLocalDescription(await pc.createAnswer());
    return new SubscriberPeer(pc, firstPacket);
  }

  async close(): Promise<void> {
    await this.#pc.close();
  }
}

/** A meter per payload type of the offer, each fed at its track's rate. */
function meterPerPayloadType(options: SubscriberPeerOptions): Map<number, TrackMeter> {
  const meters = new Map<number, TrackMeter>();
  for (const section of parseDescription(options.offerSdp).media) {
    if (section.rejected) continue;
    const meter = options.meter.track(options.clip.packetsPerSecond[section.kind]);
    for (const codec of section.codecs) meters.set(codec.payloadType, meter);
  }
  return meters;
}

/** Replaces werift's handler of the transport's packets by decryption and counting. */
function receiveMedia(
  transport: RTCDtlsTransport,
  meters: ReadonlyMap<number, TrackMeter>,
  onFirstPacket: (atMs: number) => void,
): void {
  const dtls = transport.dtls;
  const profile = srtpProfileById(dtls?.srtp.srtpProfile ?? -1);
  if (!dtls || !profile) throw new Error('DTLS negotiated no SRTP profile Parlor knows');
  const { keyLength, saltLength } = srtpProfiles[profile];
  const keys = dtls.extractSessionKeys(keyLength, saltLength) as Record<'remoteKey' | 'remoteSalt', Buffer>;
  const inbound = new SrtpContext(
    deriveSrtpSessionKeys({ profile, masterKey: keys.remoteKey, masterSalt: keys.remoteSalt }),
  );
  const { onData } = transport.iceTransport.connection;
  onData.allUnsubscribe();
  onData.subscribe((packet) => {
    const first = packet[0] as number;
    const second = packet[1] as number;
    // RTP only (RFC 7983 §7; RTCP packet types 192–223 sit where marker and payload type would).
    if (first < 128 || first > 191 || (second >= 192 && second <= 223)) return;
    const rtp = inbound.unprotectRtp(packet);
    const meter = rtp && meters.get(second & 0x7f);
    if (!rtp || !meter) return;
    const headerLength = rtpHeaderLength(rtp);
    meter.receive(rtp.readUInt16BE(2), packet.length, rtp.subarray(headerLength));
    onFirstPacket(performance.now());
  });
}

/** RTP header length with CSRCs and extension (RFC 3550 §5.1, §5.3.1). */
function rtpHeaderLength(rtp: Buffer): number {
  const first = rtp[0] as number;
  let length = 12 + (first & 0x0f) * 4;
  if (first & 0x10) length += 4 + rtp.readUInt16BE(length + 2) * 4;
  return length;
}
