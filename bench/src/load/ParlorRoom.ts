import { OpenTok } from '@parlor/server-sdk';
import { SignalingTestClient } from '@parlor/server/testing';
import type { LoadContext, LoadParticipant, LoadRoom, PublishedStream } from './loadRoom.js';
import { PublisherPeer, SubscriberPeer, type PublishedMedia } from './weriftPeers.js';

/** A Parlor server and the default project's credentials. */
export interface ParlorTarget {
  readonly url: string;
  readonly apiKey: string;
  readonly apiSecret: string;
}

/** A routed Parlor session whose participants speak Parlor's signaling protocol. */
export class ParlorRoom implements LoadRoom {
  readonly #target: ParlorTarget;
  readonly #context: LoadContext;
  readonly #sdk: OpenTok;
  readonly #sessionId: string;

  private constructor(target: ParlorTarget, context: LoadContext, sdk: OpenTok, sessionId: string) {
    this.#target = target;
    this.#context = context;
    this.#sdk = sdk;
    this.#sessionId = sessionId;
  }

  static async create(target: ParlorTarget, context: LoadContext): Promise<ParlorRoom> {
    const sdk = new OpenTok(target.apiKey, target.apiSecret, { apiUrl: target.url });
    const { sessionId } = await sdk.createSession({ mediaMode: 'routed' });
    return new ParlorRoom(target, context, sdk, sessionId);
  }

  async join(): Promise<LoadParticipant> {
    const token = this.#sdk.generateToken(this.#sessionId, { role: 'publisher' });
    const client = await SignalingTestClient.connect(this.#target.url, this.#sessionId, token, {
      timeoutMs: this.#context.timeoutMs,
    });
    return new ParlorParticipant(client, this.#context);
  }
}

/**
 * A participant as the client SDK would be: it publishes by offering its stream to the router
 * when told of the router's subscription, and subscribes by answering the router's offer.
 */
class ParlorParticipant implements LoadParticipant {
  readonly #client: SignalingTestClient;
  readonly #context: LoadContext;
  readonly #peers: (PublisherPeer | SubscriberPeer)[] = [];

  constructor(client: SignalingTestClient, context: LoadContext) {
    this.#client = client;
    this.#context = context;
  }

  async publish(media: PublishedMedia): Promise<PublishedStream> {
    const { stream } = await this.#client.request('publish', {
      name: 'load',
      hasAudio: true,
      hasVideo: media === 'audio+video',
    });
    const { subscriptionId } = await this.#client.nextEvent(
      'subscriptionCreated',
      (event) => event.streamId === stream.streamId,
    );
    const peer = await PublisherPeer.offer({ ...this.#context, media });
    this.#peers.push(peer);
    await this.#client.request('offer', { subscriptionId, sdp: peer.offerSdp });
    const answer = await this.#client.nextEvent('answer', (event) => event.subscriptionId === subscriptionId);
    await peer.accept(answer.sdp);
    return { key: stream.streamId, media };
  }

  async subscribe(stream: PublishedStream): Promise<SubscriberPeer> {
    const { subscriptionId } = await this.#client.request('subscribe', { streamId: stream.key });
    const offer = await this.#client.nextEvent('offer', (event) => event.subscriptionId === subscriptionId);
    const peer = await SubscriberPeer.answer({ ...this.#context, offerSdp: offer.sdp });
    this.#peers.push(peer);
    await this.#client.request('answer', { subscriptionId, sdp: peer.answerSdp });
    return peer;
  }

  async close(): Promise<void> {
    await Promise.all(this.#peers.map((peer) => peer.close()));
    await this.#client.close();
  }
}
