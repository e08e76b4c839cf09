import { randomBytes } from 'node:crypto';
import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  useSdesMid,
  useSdesRTPStreamId,
  type RTCDtlsTransport,
} from 'werift';
import { parseDescription } from '@parlor/server/media';
import { topLayer, type BenchClip } from './benchClip.js';
import { ClipPlayer, type PlayedStream, type RtpSink } from './ClipPlayer.js';
import type { ReceiveMeter, TrackMeter } from './ReceiveMeter.js';
import { simulcastOffer } from './simulcastOffer.js';
import { srtpContextOf } from './weriftSrtp.js';

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
 * The peer connection of a synthetic participant: VP8 and Opus, no RTCP feedback (no NACK, so
 * that loss is counted before any repair and the load process spends nothing on
 * retransmissions; no keyframe requests, which the clip, with a keyframe every 5 s, would not
 * answer anyway). A publisher's video has the MID and RID header extensions its simulcast
 * layers carry; nothing else has header extensions.
 */
function createPeer(network: PeerNetwork, role: 'publisher' | 'subscriber'): RTCPeerConnection {
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
    headerExtensions: {
      audio: [],
      video: role === 'publisher' ? [useSdesMid(), useSdesRTPStreamId()] : [],
    },
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

const extensionUris = {
  mid: 'urn:ietf:params:rtp-hdrext:sdes:mid',
  rid: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
} as const;

/**
 * A publisher's peer connection: offers send-only tracks, the video in the clip's simulcast
 * layers as Chromium does (`a=rid:q send`… `a=simulcast:send q;h;f`, no SSRC), and plays the
 * clip into them once DTLS is up. werift's sender cannot send simulcast, so the media path is
 * the load's own: each layer on an SSRC of its own with the MID and RID header extensions
 * (on every packet), the audio on the SSRC werift's offer announced, all encrypted with the
 * DTLS keys and sent on werift's ICE connection. What the SFU sends back (receiver reports,
 * REMB, keyframe requests, dynacast's pauses over signaling) changes nothing.
 */
export class PublisherPeer {
  readonly offerSdp: string;
  readonly #pc: RTCPeerConnection;
  readonly #player: ClipPlayer;

  private constructor(pc: RTCPeerConnection, offerSdp: string, player: ClipPlayer) {
    this.#pc = pc;
    this.offerSdp = offerSdp;
    this.#player = player;
  }

  static async offer(options: PublisherPeerOptions): Promise<PublisherPeer> {
    const pc = createPeer(options.network, 'publisher');
    const audio = pc.addTransceiver('audio', { direction: 'sendonly' });
    if (options.media === 'audio+video') {
      pc.addTransceiver('video', {
        direction: 'sendonly',
        simulcast: options.clip.videoLayers.map((layer) => ({ rid: layer.rid, direction: 'send' as const })),
      });
    }
    await pc.setLocalDescription(await pc.createOffer());
    const offerSdp = simulcastOffer(localSdp(pc));
    const player = new ClipPlayer({
      durationMs: options.clip.durationMs,
      streams: playedStreams(options.clip, offerSdp, audio.sender.ssrc),
    });
    pc.iceConnectionStateChange.subscribe((state) => {
      // Once connected, ICE fails only when consent expires (RFC 7675): werift got no answer to
      // its checks for 30 s, as when the SFU fell that far behind what it receives.
      if (state === 'failed') options.onPublisherFailed("a publisher's ICE failed (consent expired)");
    });
    return new PublisherPeer(pc, offerSdp, player);
  }

  /** Takes the SFU's answer; the clip starts playing once DTLS is up. */
  async accept(answerSdp: string): Promise<void> {
    await this.#pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
    const transport = this.#pc.getTransceivers()[0]?.dtlsTransport;
    if (!transport) throw new Error('the answer has no media section');
    const start = (): void => {
      this.#player.start(srtpSink(transport));
    };
    if (transport.state === 'connected') start();
    else
      transport.onStateChange.subscribe((state) => {
        if (state === 'connected') start();
      });
  }

  async close(): Promise<void> {
    this.#player.stop();
    await this.#pc.close();
  }
}

/** The streams of a publisher's offer: the audio on its SSRC, each video layer on a new one with its MID and RID. */
function playedStreams(clip: BenchClip, offerSdp: string, audioSsrc: number): PlayedStream[] {
  const streams: PlayedStream[] = [{ track: clip.audio, ssrc: audioSsrc, extensions: [] }];
  const video = parseDescription(offerSdp).media.find((section) => section.kind === 'video');
  if (!video) return streams;
  const extensionId = (uri: string): number => {
    const id = video.extensions.find((extension) => extension.uri === uri)?.id;
    if (id === undefined) throw new Error(`the offer's video has no ${uri} extension`);
    return id;
  };
  const midId = extensionId(extensionUris.mid);
  const ridId = extensionId(extensionUris.rid);
  for (const rid of video.rids) {
    const layer = clip.videoLayers.find((candidate) => candidate.rid === rid);
    if (!layer) throw new Error(`the clip has no layer ${rid}`);
    streams.push({
      track: layer,
      ssrc: randomBytes(4).readUInt32BE(0),
      extensions: [
        { id: midId, value: video.mid },
        { id: ridId, value: rid },
      ],
    });
  }
  return streams;
}

/** Sends on the transport's ICE connection what an SRTP context keyed by its DTLS handshake protects. */
function srtpSink(transport: RTCDtlsTransport): RtpSink {
  const outbound = srtpContextOf(transport, 'outbound');
  const { connection } = transport.iceTransport;
  return {
    sendRtp: (packet, header) => {
      void connection.send(outbound.protectRtp(packet, header)).catch(() => undefined);
    },
    sendRtcp: (compound) => {
      void connection.send(outbound.protectRtcp(compound)).catch(() => undefined);
    },
  };
}

export interface SubscriberPeerOptions {
  readonly offerSdp: string;
  readonly clip: BenchClip;
  readonly meter: ReceiveMeter;
  readonly network: PeerNetwork;
}

/**
 * A subscriber's peer connection: werift answers the SFU's offer and runs ICE and DTLS; once
 * DTLS is up, the media path is taken over. Every SRTP packet is counted from its header, one
 * in `decryptOneIn` decrypted (with Parlor's `SrtpContext`) for a latency sample, and goes no further: werift's own receive path
 * (its SRTP, RTP parsing, receiver statistics and reports) would cost the load process about
 * three times what the SFU spends on a packet, and the load process would saturate first.
 * RTCP from the SFU is dropped likewise; ICE consent keeps running in werift.
 */
export class SubscriberPeer {
  readonly answerSdp: string;
  /** `performance.now()` when the first RTP packet arrived. */
  readonly firstPacket: Promise<number>;
  /**
   * `performance.now()` when every track had received a packet: simulcast video starts at the
   * next keyframe of its layer (up to 5 s in the clip, which answers no keyframe request).
   */
  readonly everyTrack: Promise<number>;
  readonly #pc: RTCPeerConnection;
  readonly #transport: RTCDtlsTransport;

  private constructor(
    pc: RTCPeerConnection,
    transport: RTCDtlsTransport,
    firstPacket: Promise<number>,
    everyTrack: Promise<number>,
  ) {
    this.#pc = pc;
    this.#transport = transport;
    this.firstPacket = firstPacket;
    this.everyTrack = everyTrack;
    this.answerSdp = localSdp(pc);
  }

  static async answer(options: SubscriberPeerOptions): Promise<SubscriberPeer> {
    const pc = createPeer(options.network, 'subscriber');
    const meters = meterPerPayloadType(options);
    await pc.setRemoteDescription({ type: 'offer', sdp: options.offerSdp });
    const transport = pc.getTransceivers()[0]?.dtlsTransport;
    if (!transport) throw new Error('the offer has no media section');
    let arrivals: Arrivals = { firstPacket: () => undefined, everyTrack: () => undefined };
    const firstPacket = new Promise<number>((resolve) => {
      arrivals = { ...arrivals, firstPacket: resolve };
    });
    const everyTrack = new Promise<number>((resolve) => {
      arrivals = { ...arrivals, everyTrack: resolve };
    });
    transport.onStateChange.subscribe((state) => {
      if (state === 'connected') receiveMedia(transport, meters, arrivals);
    });
    await pc.setLocalDescription(await pc.createAnswer());
    return new SubscriberPeer(pc, transport, firstPacket, everyTrack);
  }

  /** How far its connection got, for a subscription that stays without media. */
  get progress(): string {
    return `ICE ${this.#pc.iceConnectionState}, DTLS ${this.#transport.state}`;
  }

  async close(): Promise<void> {
    await this.#pc.close();
  }
}

/** A meter per payload type of the offer, each fed at its track's rate (video: the top layer's). */
function meterPerPayloadType(options: SubscriberPeerOptions): Map<number, TrackMeter> {
  const meters = new Map<number, TrackMeter>();
  for (const section of parseDescription(options.offerSdp).media) {
    if (section.rejected) continue;
    const track = section.kind === 'video' ? topLayer(options.clip) : options.clip.audio;
    const meter = options.meter.track(track.packetsPerSecond);
    for (const codec of section.codecs) meters.set(codec.payloadType, meter);
  }
  return meters;
}

/** Told when media arrives: at the first packet, and once every track has had one. */
interface Arrivals {
  readonly firstPacket: (atMs: number) => void;
  readonly everyTrack: (atMs: number) => void;
}

/**
 * One packet in this many is decrypted (and so authenticated) and gives a latency sample; the
 * others are counted from their headers, which SRTP leaves in clear, so that a viewer costs the
 * load process little more than receiving the datagram.
 */
const decryptOneIn = 8;

/** Replaces werift's handler of the transport's packets by counting, and decryption of a sample. */
function receiveMedia(
  transport: RTCDtlsTransport,
  meters: ReadonlyMap<number, TrackMeter>,
  arrivals: Arrivals,
): void {
  const inbound = srtpContextOf(transport, 'inbound');
  const silent = new Set(meters.values());
  const { onData } = transport.iceTransport.connection;
  let received = 0;
  onData.allUnsubscribe();
  onData.subscribe((packet) => {
    const first = packet[0] as number;
    const second = packet[1] as number;
    // RTP only (RFC 7983 §7; RTCP packet types 192–223 sit where marker and payload type would).
    if (first < 128 || first > 191 || (second >= 192 && second <= 223)) return;
    const meter = meters.get(second & 0x7f);
    if (!meter) return;
    let payload: Buffer | null = null;
    // Every track's first packet is decrypted: SRTP's rollover counter follows from there.
    if (received++ % decryptOneIn === 0 || silent.has(meter)) {
      const rtp = inbound.unprotectRtp(packet);
      if (!rtp) return;
      payload = rtp.subarray(rtpHeaderLength(rtp));
    }
    meter.receive(packet.readUInt16BE(2), packet.length, payload);
    if (silent.size > 0) {
      arrivals.firstPacket(performance.now());
      if (silent.delete(meter) && silent.size === 0) arrivals.everyTrack(performance.now());
    }
  });
}

/** RTP header length with CSRCs and extension (RFC 3550 §5.1, §5.3.1). */
function rtpHeaderLength(rtp: Buffer): number {
  const first = rtp[0] as number;
  let length = 12 + (first & 0x0f) * 4;
  if (first & 0x10) length += 4 + rtp.readUInt16BE(length + 2) * 4;
  return length;
}
