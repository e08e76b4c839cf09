import { randomUUID } from 'node:crypto';
import type { LoadContext, LoadParticipant, LoadRoom, PublishedStream } from './loadRoom.js';
import { PublisherPeer, SubscriberPeer, type PublishedMedia } from './weriftPeers.js';

/**
 * A client of Janus's HTTP API (the `janus` protocol over REST with long polls) and its
 * VideoRoom plugin, independent of Parlor: what janus.js does, reduced to what a load test needs.
 */

/** A JSEP description as Janus sends and receives it. */
interface Jsep {
  readonly type: 'offer' | 'answer';
  readonly sdp: string;
  /**
   * The order of an offer's `a=simulcast` RIDs: Janus takes the first for the highest layer
   * (`hml`) unless told `lmh`, lowest first, as the load and Chromium list them.
   */
  readonly rid_order?: 'hml' | 'lmh';
}

/** A message from Janus: a direct answer to a request, or an event of a long poll. */
interface JanusMessage {
  readonly janus: string;
  readonly transaction?: string;
  readonly sender?: number;
  readonly data?: { readonly id: number };
  readonly error?: { readonly code: number; readonly reason: string };
  readonly plugindata?: { readonly data: VideoRoomData };
  readonly jsep?: Jsep;
}

/** What the VideoRoom plugin says: the fields read here. */
interface VideoRoomData {
  readonly videoroom: string;
  readonly id?: number;
  readonly room?: number;
  readonly error?: string;
  readonly error_code?: number;
}

const plugin = 'janus.plugin.videoroom';

/** One Janus session: its handles' requests, and one long poll that dispatches their events. */
class JanusSession {
  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  readonly #id: number;
  /** Events awaited by transaction. */
  readonly #waiting = new Map<string, (message: JanusMessage) => void>();
  /** Events of a handle awaited by name (`webrtcup`), which carry no transaction. */
  readonly #handleWaiters: { handle: number; janus: string; resolve: () => void }[] = [];
  #closed = false;

  private constructor(baseUrl: string, id: number, timeoutMs: number) {
    this.#baseUrl = baseUrl;
    this.#id = id;
    this.#timeoutMs = timeoutMs;
    void this.#poll();
  }

  static async create(baseUrl: string, timeoutMs: number): Promise<JanusSession> {
    const created = await post(`${baseUrl}/janus`, { janus: 'create' });
    if (!created.data) throw new Error('Janus created no session');
    return new JanusSession(baseUrl, created.data.id, timeoutMs);
  }

  /** Attaches a new VideoRoom handle; returns its ID. */
  async attach(): Promise<number> {
    const attached = await post(`${this.#baseUrl}/janus/${this.#id}`, { janus: 'attach', plugin });
    if (!attached.data) throw new Error('Janus attached no handle');
    return attached.data.id;
  }

  /** A synchronous plugin request (create a room): the plugin's answer. */
  async request(handle: number, body: Record<string, unknown>): Promise<VideoRoomData> {
    const answer = await post(`${this.#baseUrl}/janus/${this.#id}/${handle}`, { janus: 'message', body });
    return pluginData(answer);
  }

  /** An asynchronous plugin request (join, publish, start): the event that answers it. */
  async message(handle: number, body: Record<string, unknown>, jsep?: Jsep): Promise<JanusMessage> {
    const transaction = randomUUID();
    const event = new Promise<JanusMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(transaction);
        reject(new Error(`Janus did not answer ${JSON.stringify(body)} in ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#waiting.set(transaction, (message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
    const acknowledged = await post(`${this.#baseUrl}/janus/${this.#id}/${handle}`, {
      janus: 'message',
      transaction,
      body,
      ...(jsep ? { jsep: { ...jsep, trickle: false } } : {}),
    });
    if (acknowledged.janus === 'ack') {
      const answer = await event;
      pluginData(answer);
      return answer;
    }
    this.#waiting.delete(transaction);
    pluginData(acknowledged);
    return acknowledged;
  }

  /** Resolves at the handle's next event of that name, or rejects after the timeout. */
  nextHandleEvent(handle: number, janus: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`Janus sent no ${janus} in ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#handleWaiters.push({
        handle,
        janus,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await post(`${this.#baseUrl}/janus/${this.#id}`, { janus: 'destroy' }).catch(() => undefined);
  }

  async #poll(): Promise<void> {
    while (!this.#closed) {
      try {
        const response = await fetch(`${this.#baseUrl}/janus/${this.#id}?maxev=10`);
        const events = (await response.json()) as JanusMessage | JanusMessage[];
        for (const event of Array.isArray(events) ? events : [events]) this.#dispatch(event);
      } catch {
        // The session was destroyed, or Janus stopped: the loop ends with `close`.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  #dispatch(event: JanusMessage): void {
    const waiter = event.transaction ? this.#waiting.get(event.transaction) : undefined;
    if (waiter && event.transaction) {
      this.#waiting.delete(event.transaction);
      waiter(event);
      return;
    }
    const index = this.#handleWaiters.findIndex((w) => w.handle === event.sender && w.janus === event.janus);
    if (index !== -1) this.#handleWaiters.splice(index, 1)[0]?.resolve();
  }
}

async function post(url: string, message: Record<string, unknown>): Promise<JanusMessage> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ transaction: randomUUID(), ...message }),
  });
  const answer = (await response.json()) as JanusMessage;
  if (answer.janus === 'error') {
    throw new Error(`Janus refused ${String(message.janus)}: ${answer.error?.reason ?? 'no reason'}`);
  }
  return answer;
}

/** The VideoRoom plugin's data of a message; throws its error. */
function pluginData(message: JanusMessage): VideoRoomData {
  const data = message.plugindata?.data;
  if (!data) throw new Error(`Janus answered without plugin data: ${message.janus}`);
  if (data.videoroom === 'event' && data.error) {
    throw new Error(`VideoRoom error ${data.error_code ?? '?'}: ${data.error}`);
  }
  return data;
}

/** Where Janus listens: its HTTP API's base URL (without `/janus`). */
export interface JanusTarget {
  readonly url: string;
}

/** A VideoRoom room made for one load run: any number of publishers, VP8 and Opus, 2 Mbit/s REMB. */
export class JanusRoom implements LoadRoom {
  readonly #target: JanusTarget;
  readonly #context: LoadContext;
  readonly #roomId: number;

  private constructor(target: JanusTarget, context: LoadContext, roomId: number) {
    this.#target = target;
    this.#context = context;
    this.#roomId = roomId;
  }

  static async create(target: JanusTarget, context: LoadContext): Promise<JanusRoom> {
    const session = await JanusSession.create(target.url, context.timeoutMs);
    try {
      const handle = await session.attach();
      const created = await session.request(handle, {
        request: 'create',
        publishers: 1000,
        bitrate: 2_000_000,
        videocodec: 'vp8',
        audiocodec: 'opus',
        notify_joining: false,
      });
      if (created.room === undefined) throw new Error('Janus created no room');
      return new JanusRoom(target, context, created.room);
    } finally {
      await session.close();
    }
  }

  async join(): Promise<LoadParticipant> {
    return new JanusParticipant(
      await JanusSession.create(this.#target.url, this.#context.timeoutMs),
      this.#roomId,
      this.#context,
    );
  }
}

/**
 * A participant as janus.js would be: a Janus session; to publish, a handle that joins as a
 * publisher and publishes its offer; to subscribe, a handle per feed that joins as a
 * subscriber, answers Janus's offer and starts.
 */
class JanusParticipant implements LoadParticipant {
  readonly #session: JanusSession;
  readonly #roomId: number;
  readonly #context: LoadContext;
  readonly #peers: (PublisherPeer | SubscriberPeer)[] = [];

  constructor(session: JanusSession, roomId: number, context: LoadContext) {
    this.#session = session;
    this.#roomId = roomId;
    this.#context = context;
  }

  async publish(media: PublishedMedia): Promise<PublishedStream> {
    const handle = await this.#session.attach();
    const joined = await this.#session.message(handle, {
      request: 'join',
      ptype: 'publisher',
      room: this.#roomId,
      display: 'load',
    });
    const feed = joined.plugindata?.data.id;
    if (feed === undefined) throw new Error('Janus gave the publisher no ID');
    const peer = await PublisherPeer.offer({ ...this.#context, media });
    this.#peers.push(peer);
    // Janus refuses subscribers ("No such feed") until the publisher's peer connection is up.
    const up = this.#session.nextHandleEvent(handle, 'webrtcup');
    const configured = await this.#session.message(
      handle,
      { request: 'publish', audio: true, video: media === 'audio+video' },
      { type: 'offer', sdp: peer.offerSdp, rid_order: 'lmh' },
    );
    if (!configured.jsep) throw new Error('Janus did not answer the publisher');
    await peer.accept(configured.jsep.sdp);
    await up;
    return { key: String(feed), media };
  }

  /**
   * Janus aims a subscriber at a simulcast feed's top substream and all its temporal layers
   * unless told otherwise, as Parlor's router does with no estimate of the subscriber's link.
   */
  async subscribe(stream: PublishedStream): Promise<SubscriberPeer> {
    const handle = await this.#session.attach();
    const attached = await this.#session.message(handle, {
      request: 'join',
      ptype: 'subscriber',
      room: this.#roomId,
      streams: [{ feed: Number(stream.key) }],
    });
    if (!attached.jsep) throw new Error('Janus made the subscriber no offer');
    const peer = await SubscriberPeer.answer({ ...this.#context, offerSdp: attached.jsep.sdp });
    this.#peers.push(peer);
    await this.#session.message(handle, { request: 'start' }, { type: 'answer', sdp: peer.answerSdp });
    return peer;
  }

  async close(): Promise<void> {
    await Promise.all(this.#peers.map((peer) => peer.close()));
    await this.#session.close();
  }
}
