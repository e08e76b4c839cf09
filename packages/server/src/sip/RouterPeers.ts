import type { Logger } from 'pino';
import { RTCPeerConnection, RTCRtpCodecParameters, type RTCRtpTransceiver } from 'werift';

/**
 * The SIP party's peer connections to the session's Media Router, made with werift as a browser
 * would make them: one that publishes the call's audio (Opus), and one per stream it hears.
 */
export interface RouterPeersOptions {
  /** An address to add to the host candidates although werift skips its interface (loopback). */
  readonly extraHostAddress: string;
  readonly logger: Logger;
}

function createPeer(options: RouterPeersOptions): RTCPeerConnection {
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv6: false,
    iceAdditionalHostAddresses: [options.extraHostAddress],
    codecs: {
      audio: [
        new RTCRtpCodecParameters({
          mimeType: 'audio/opus',
          clockRate: 48_000,
          channels: 2,
          payloadType: 111,
        }),
      ],
      // Only to answer a stream's video section: the call takes none of it.
      video: [
        new RTCRtpCodecParameters({
          mimeType: 'video/VP8',
          clockRate: 90_000,
          payloadType: 96,
          rtcpFeedback: [],
        }),
        new RTCRtpCodecParameters({
          mimeType: 'video/VP9',
          clockRate: 90_000,
          payloadType: 98,
          rtcpFeedback: [],
        }),
        new RTCRtpCodecParameters({
          mimeType: 'video/H264',
          clockRate: 90_000,
          payloadType: 102,
          rtcpFeedback: [],
          parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
        }),
      ],
    },
    headerExtensions: { audio: [], video: [] },
  });
  pc.connectionStateChange.subscribe((state) => {
    options.logger.debug({ state }, 'SIP router peer connection state');
  });
  return pc;
}

/** The publishing peer: offers a send-only Opus track. */
export class PublisherPeer {
  readonly #pc: RTCPeerConnection;
  readonly #transceiver: RTCRtpTransceiver;

  private constructor(pc: RTCPeerConnection, transceiver: RTCRtpTransceiver) {
    this.#pc = pc;
    this.#transceiver = transceiver;
  }

  /** Makes the peer and its offer. */
  static async offer(options: RouterPeersOptions): Promise<{ peer: PublisherPeer; sdp: string }> {
    const pc = createPeer(options);
    try {
      const transceiver = pc.addTransceiver('audio', { direction: 'sendonly' });
      await pc.setLocalDescription(await pc.createOffer());
      const sdp = pc.localDescription?.sdp;
      if (!sdp) throw new Error('the publisher peer has no local description');
      return { peer: new PublisherPeer(pc, transceiver), sdp };
    } catch (error) {
      // Its ICE sockets are open already: a failed offer must not keep them.
      await pc.close().catch(() => undefined);
      throw error;
    }
  }

  async accept(answerSdp: string): Promise<void> {
    await this.#pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
  }

  /** Sends one RTP packet (werift sets its SSRC and payload type); dropped before DTLS is up. */
  send(packet: Buffer): void {
    this.#transceiver.sender.sendRtp(packet).catch(() => undefined);
  }

  close(): void {
    this.#pc.close().catch(() => undefined);
  }
}

/** A subscribing peer: answers the router's offer and hands each audio payload on. */
export class SubscriberPeer {
  readonly #pc: RTCPeerConnection;

  private constructor(pc: RTCPeerConnection) {
    this.#pc = pc;
  }

  static async answer(
    options: RouterPeersOptions,
    offerSdp: string,
    onAudio: (payload: Buffer) => void,
  ): Promise<{ peer: SubscriberPeer; sdp: string }> {
    const pc = createPeer(options);
    pc.onTrack.subscribe((track) => {
      if (track.kind !== 'audio') return;
      track.onReceiveRtp.subscribe((rtp) => {
        onAudio(rtp.payload);
      });
    });
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
      await pc.setLocalDescription(await pc.createAnswer());
      const sdp = pc.localDescription?.sdp;
      if (!sdp) throw new Error('the subscriber peer has no local description');
      return { peer: new SubscriberPeer(pc), sdp };
    } catch (error) {
      // A bad offer must not keep the sockets the peer opened.
      await pc.close().catch(() => undefined);
      throw error;
    }
  }

  close(): void {
    this.#pc.close().catch(() => undefined);
  }
}
