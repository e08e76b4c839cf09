import type { Logger } from 'pino';
import type { ServerEvent, ServerToClient, StreamInfo } from '@parlor/protocol';
import type { RoomConnection, ConnectionSink } from '../signaling/RoomConnection.js';
import type { SessionRoom } from '../signaling/SessionRoom.js';
import type { OutgoingFrame } from '../signaling/SendQueue.js';
import { noVideoPreferences } from '../media/router/Subscription.js';
import { AudioMixer } from './AudioMixer.js';
import { frameMs, OpusTranscoder } from './audioCodecs.js';
import { serializeRtp } from './rtpPacket.js';
import { PublisherPeer, SubscriberPeer, type RouterPeersOptions } from './RouterPeers.js';

export interface SipParticipantOptions {
  readonly peers: RouterPeersOptions;
  /** The streams the call hears: null for all but its own. */
  readonly streams: readonly string[] | null;
  /** Events the room sends the SIP connection that the call acts on. */
  readonly onMuteForced: () => void;
  readonly logger: Logger;
}

type PcmRate = 8000 | 16000 | 48000;

/** Most audio a source may have waiting for the mix: 200 ms. */
const maxQueuedMs = 200;
/** The mix's jitter buffer: a source plays once it has 40 ms queued (again after running dry). */
const prebufferMs = 40;

/**
 * The SIP party as a member of the room: its connection publishes the call's audio into the
 * Media Router and subscribes to the other streams, whose audio it decodes into a mix-minus
 * (every selected stream but its own). Its frames reach it as any client's do, through a sink.
 */
export class SipParticipant {
  readonly #options: SipParticipantOptions;
  readonly #logger: Logger;
  #room: SessionRoom | null = null;
  #connection: RoomConnection | null = null;
  #stream: StreamInfo | null = null;
  #publisher: PublisherPeer | null = null;
  /** By subscription ID: the stream and its peer once answered. */
  readonly #subscriptions = new Map<string, { streamId: string; peer: SubscriberPeer | null }>();
  /** The rate the call's codec runs at; the mix and the decoders follow it. Null before the answer. */
  #rate: PcmRate | null = null;
  #mixer: AudioMixer | null = null;
  readonly #decoders = new Map<string, OpusTranscoder>();
  #encoder: OpusTranscoder | null = null;
  #pending: Int16Array[] = [];
  #pendingSamples = 0;
  #sequence = 0;
  #timestamp = 0;
  #muted = false;
  #closed = false;
  /** Router peers being made (their offer or answer under way): each is kept or closed when made. */
  #peersOpening = 0;

  constructor(options: SipParticipantOptions) {
    this.#options = options;
    this.#logger = options.logger;
  }

  /** Where the room sends the SIP connection's frames. */
  readonly sink: ConnectionSink = {
    deliver: (frame) => {
      this.#deliver(frame);
    },
    replaced: () => undefined,
    serverSide: true,
  };

  /** Takes the joined connection, publishes the call's stream and subscribes to the others. */
  start(room: SessionRoom, connection: RoomConnection, name: string): StreamInfo {
    this.#room = room;
    this.#connection = connection;
    const { stream } = room.publish(connection, { name, hasAudio: true, hasVideo: false });
    this.#stream = stream;
    room.published(connection, stream.streamId);
    for (const other of room.streams) this.#subscribe(other.info);
    return stream;
  }

  /** Router peer connections held, those being made included: none once closed and settled. */
  get routerPeers(): number {
    let held = this.#peersOpening + (this.#publisher ? 1 : 0);
    for (const { peer } of this.#subscriptions.values()) if (peer) held += 1;
    return held;
  }

  get stream(): StreamInfo | null {
    return this.#stream;
  }

  /** Sets the rate of the call's codec, once it is negotiated. */
  setRate(rate: PcmRate): void {
    if (this.#rate === rate) return;
    this.#rate = rate;
    this.#mixer = new AudioMixer({
      frameSamples: (rate * frameMs) / 1000,
      maxQueuedSamples: (rate * maxQueuedMs) / 1000,
      prebufferSamples: (rate * prebufferMs) / 1000,
    });
    this.#decoders.clear();
    this.#encoder = new OpusTranscoder(rate);
    this.#pending = [];
    this.#pendingSamples = 0;
  }

  /** The next frame the call hears: the mix of the session's audio. */
  nextFrame(samples: number): Int16Array {
    return this.#mixer?.mix() ?? new Int16Array(samples);
  }

  /** While muted, the call's audio is not published (silence goes instead). */
  setMuted(muted: boolean): void {
    this.#muted = muted;
  }

  /** Publishes the call's audio, re-cut into 20 ms Opus frames. */
  publishAudio(samples: Int16Array): void {
    const encoder = this.#encoder;
    const rate = this.#rate;
    if (!encoder || !rate || !this.#publisher) return;
    this.#pending.push(samples);
    this.#pendingSamples += samples.length;
    const frameSamples = (rate * frameMs) / 1000;
    while (this.#pendingSamples >= frameSamples) {
      const frame = new Int16Array(frameSamples);
      let filled = 0;
      while (filled < frameSamples) {
        const chunk = this.#pending[0] as Int16Array;
        const take = Math.min(chunk.length, frameSamples - filled);
        if (!this.#muted) frame.set(chunk.subarray(0, take), filled);
        filled += take;
        if (take === chunk.length) this.#pending.shift();
        else this.#pending[0] = chunk.subarray(take);
      }
      this.#pendingSamples -= frameSamples;
      const packet = serializeRtp(
        {
          payloadType: 111,
          sequenceNumber: this.#sequence,
          timestamp: this.#timestamp,
          ssrc: 0,
          marker: false,
        },
        encoder.encode(frame),
      );
      this.#sequence = (this.#sequence + 1) & 0xffff;
      this.#timestamp = (this.#timestamp + encoder.timestampStep) >>> 0;
      this.#publisher.send(packet);
    }
  }

  /** Sends a signal from the SIP connection to every connection of the session. */
  signal(type: string, data: string): void {
    if (this.#closed || !this.#room || this.#room.closed || !this.#connection) return;
    this.#room.serverSignal(this.#connection, type, data);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#publisher?.close();
    this.#publisher = null;
    for (const { peer } of this.#subscriptions.values()) peer?.close();
    this.#subscriptions.clear();
  }

  #deliver(frame: OutgoingFrame): void {
    if (this.#closed) return;
    const text = typeof frame === 'string' ? frame : `${frame.head}${frame.body.toString()}${frame.tail}`;
    const { event, data } = JSON.parse(text) as { event: ServerEvent; data: unknown };
    this.#handle(event, data);
  }

  #handle(event: ServerEvent, data: unknown): void {
    switch (event) {
      case 'streamCreated':
        this.#subscribe((data as ServerToClient['streamCreated']).stream);
        return;
      case 'subscriptionCreated': {
        const { subscriptionId } = data as ServerToClient['subscriptionCreated'];
        this.#offerUpstream(subscriptionId);
        return;
      }
      case 'answer': {
        const { sdp } = data as ServerToClient['answer'];
        this.#publisher?.accept(sdp).catch((error: unknown) => {
          this.#logger.warn({ err: error }, "the router's answer to the SIP stream failed");
        });
        return;
      }
      case 'offer': {
        const { subscriptionId, sdp } = data as ServerToClient['offer'];
        this.#answerDownstream(subscriptionId, sdp);
        return;
      }
      case 'subscriptionDestroyed':
        this.#endSubscription((data as ServerToClient['subscriptionDestroyed']).subscriptionId);
        return;
      case 'streamDestroyed': {
        const { streamId } = (data as ServerToClient['streamDestroyed']).stream;
        for (const [id, entry] of this.#subscriptions)
          if (entry.streamId === streamId) this.#endSubscription(id);
        return;
      }
      case 'muteForced':
        this.#options.onMuteForced();
        return;
      default:
        return;
    }
  }

  #subscribe(stream: StreamInfo): void {
    const room = this.#room;
    const connection = this.#connection;
    if (!room || !connection || stream.streamId === this.#stream?.streamId) return;
    if (this.#options.streams && !this.#options.streams.includes(stream.streamId)) return;
    try {
      const subscriptionId = room.subscribe(connection, stream.streamId, noVideoPreferences);
      this.#subscriptions.set(subscriptionId, { streamId: stream.streamId, peer: null });
      room.subscribed(connection, subscriptionId);
    } catch (error) {
      this.#logger.warn({ err: error, streamId: stream.streamId }, 'the SIP call cannot hear a stream');
    }
  }

  #offerUpstream(subscriptionId: string): void {
    this.#peersOpening += 1;
    PublisherPeer.offer(this.#options.peers)
      .finally(() => {
        this.#peersOpening -= 1;
      })
      .then(
        ({ peer, sdp }) => {
          if (this.#closed || !this.#room || !this.#connection || this.#room.closed) {
            peer.close();
            return;
          }
          // A second offer replaces the first peer, which must not stay open.
          this.#publisher?.close();
          this.#publisher = peer;
          this.#room.negotiate(this.#connection, subscriptionId, { kind: 'offer', sdp });
        },
        (error: unknown) => {
          this.#logger.error({ err: error }, 'the SIP stream could not offer to the router');
        },
      );
  }

  #answerDownstream(subscriptionId: string, offerSdp: string): void {
    const entry = this.#subscriptions.get(subscriptionId);
    if (!entry) return;
    const { streamId } = entry;
    this.#peersOpening += 1;
    SubscriberPeer.answer(this.#options.peers, offerSdp, (payload) => {
      this.#hear(streamId, payload);
    })
      .finally(() => {
        this.#peersOpening -= 1;
      })
      .then(
        ({ peer, sdp }) => {
          if (this.#subscriptions.get(subscriptionId) !== entry || !this.#room || !this.#connection) {
            peer.close();
            return;
          }
          entry.peer = peer;
          this.#room.negotiate(this.#connection, subscriptionId, { kind: 'answer', sdp });
        },
        (error: unknown) => {
          this.#logger.warn({ err: error, streamId }, 'the SIP call could not answer a stream');
        },
      );
  }

  /** Decodes a stream's Opus payload into the mix. */
  #hear(streamId: string, payload: Buffer): void {
    const rate = this.#rate;
    const mixer = this.#mixer;
    if (!rate || !mixer || payload.length === 0) return;
    let decoder = this.#decoders.get(streamId);
    if (!decoder) {
      decoder = new OpusTranscoder(rate);
      this.#decoders.set(streamId, decoder);
    }
    try {
      mixer.push(streamId, decoder.decode(payload));
    } catch {
      // A payload the decoder refuses is lost audio, no more.
    }
  }

  #endSubscription(subscriptionId: string): void {
    const entry = this.#subscriptions.get(subscriptionId);
    if (!entry) return;
    this.#subscriptions.delete(subscriptionId);
    entry.peer?.close();
    this.#decoders.delete(entry.streamId);
    this.#mixer?.remove(entry.streamId);
  }
}
