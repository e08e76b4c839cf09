import { setTimeout as sleep } from 'node:timers/promises';
import { RTCPeerConnection, RTCRtpCodecParameters, type RTCRtpTransceiver } from 'werift';
import type { OpenTok } from '@parlor/server-sdk';
import { SignalingTestClient } from '@parlor/server/testing';

// The SIP benchmark's baseline: audio as a call carries it (20 ms Opus frames, 50 packets/s) sent
// by plain WebRTC participants (werift, over Parlor's signaling) and forwarded by the Media
// Router, with no gateway: no G.711, no Opus transcoding, no mix.

/** A 20 ms Opus frame's payload as a voice makes it (about 32 kbit/s); a burst is twice as large. */
const voiceBytes = 80;
const burstBytes = 160;

function createPeer(): RTCPeerConnection {
  return new RTCPeerConnection({
    iceServers: [],
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    codecs: {
      audio: [
        new RTCRtpCodecParameters({
          mimeType: 'audio/opus',
          clockRate: 48_000,
          channels: 2,
          payloadType: 111,
        }),
      ],
      video: [],
    },
    headerExtensions: { audio: [], video: [] },
  });
}

/** One participant: publishes an audio stream paced at 50 packets/s, and hears streams it subscribes to. */
export class AudioParticipant {
  readonly #client: SignalingTestClient;
  readonly #peers: RTCPeerConnection[] = [];
  #transceiver: RTCRtpTransceiver | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** While true, frames go out as bursts (larger payloads) that the listener times. */
  bursting = false;
  /** When a burst frame first arrived since `listenAgain`, ms. */
  #burstHeardAt: number | null = null;

  private constructor(client: SignalingTestClient) {
    this.#client = client;
  }

  static async join(url: string, opentok: OpenTok, sessionId: string): Promise<AudioParticipant> {
    const token = opentok.generateToken(sessionId, { role: 'publisher' });
    return new AudioParticipant(
      await SignalingTestClient.connect(url, sessionId, token, { timeoutMs: 20_000 }),
    );
  }

  /** Publishes; the stream ID. Frames flow from then on. */
  async publish(): Promise<string> {
    const { stream } = await this.#client.request('publish', {
      name: 'audio',
      hasAudio: true,
      hasVideo: false,
    });
    const { subscriptionId } = await this.#client.nextEvent(
      'subscriptionCreated',
      (event) => event.streamId === stream.streamId,
    );
    const pc = createPeer();
    this.#peers.push(pc);
    this.#transceiver = pc.addTransceiver('audio', { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await this.#client.request('offer', { subscriptionId, sdp: pc.localDescription?.sdp ?? '' });
    const answer = await this.#client.nextEvent('answer', (event) => event.subscriptionId === subscriptionId);
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    this.#startSending();
    return stream.streamId;
  }

  async subscribe(streamId: string): Promise<void> {
    const { subscriptionId } = await this.#client.request('subscribe', { streamId });
    const offer = await this.#client.nextEvent('offer', (event) => event.subscriptionId === subscriptionId);
    const pc = createPeer();
    this.#peers.push(pc);
    pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => {
        if (rtp.payload.length >= burstBytes && this.#burstHeardAt === null) this.#burstHeardAt = Date.now();
      });
    });
    await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await this.#client.request('answer', { subscriptionId, sdp: pc.localDescription?.sdp ?? '' });
  }

  heardAt(): number | null {
    return this.#burstHeardAt;
  }

  listenAgain(): void {
    this.#burstHeardAt = null;
  }

  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    await Promise.all(this.#peers.map((pc) => pc.close().catch(() => undefined)));
    await this.#client.close();
  }

  #startSending(): void {
    const started = Date.now();
    let sent = 0;
    let sequence = 0;
    const tick = (): void => {
      while (started + sent * 20 <= Date.now()) {
        const payload = Buffer.alloc(this.bursting ? burstBytes : voiceBytes, sent & 0xff);
        payload[0] = 0x78; // TOC: CELT fullband 20 ms, mono, one frame
        const header = Buffer.alloc(12);
        header[0] = 0x80;
        header[1] = 111;
        header.writeUInt16BE(sequence++ & 0xffff, 2);
        header.writeUInt32BE((sent * 960) >>> 0, 4);
        this.#transceiver?.sender.sendRtp(Buffer.concat([header, payload])).catch(() => undefined);
        sent++;
      }
      this.#timer = setTimeout(tick, 5);
    };
    tick();
  }
}

/** Participants two to a routed session, each hearing the other, as the SIP bench's calls are. */
export async function joinAudioPairs(
  url: string,
  opentok: OpenTok,
  participants: number,
): Promise<AudioParticipant[]> {
  const joined: AudioParticipant[] = [];
  for (let n = 0; n < participants; n += 2) {
    const { sessionId } = await opentok.createSession({ mediaMode: 'routed' });
    const pair: AudioParticipant[] = [];
    for (let k = n; k < Math.min(n + 2, participants); k++)
      pair.push(await AudioParticipant.join(url, opentok, sessionId));
    const streams = await Promise.all(pair.map((participant) => participant.publish()));
    if (pair.length === 2) {
      const [first, second] = pair as [AudioParticipant, AudioParticipant];
      await first.subscribe(streams[1] as string);
      await second.subscribe(streams[0] as string);
    }
    joined.push(...pair);
  }
  return joined;
}

/** The delays of `bursts` bursts from one participant to another through the router, ms. */
export async function forwardingLatency(url: string, opentok: OpenTok, bursts: number): Promise<number[]> {
  const [speaker, listener] = (await joinAudioPairs(url, opentok, 2)) as [AudioParticipant, AudioParticipant];
  try {
    await sleep(2000);
    const delays: number[] = [];
    for (let burst = 0; burst < bursts; burst++) {
      listener.listenAgain();
      const burstAt = Date.now();
      speaker.bursting = true;
      while (listener.heardAt() === null && Date.now() - burstAt < 3000) await sleep(2);
      speaker.bursting = false;
      const heardAt = listener.heardAt();
      if (heardAt !== null) delays.push(heardAt - burstAt);
      await sleep(700);
    }
    return delays;
  } finally {
    await speaker.close();
    await listener.close();
  }
}
