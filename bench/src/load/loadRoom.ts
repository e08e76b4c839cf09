import type { BenchClip } from './benchClip.js';
import type { ReceiveMeter } from './ReceiveMeter.js';
import type { PeerNetwork, PublishedMedia, SubscriberPeer } from './weriftPeers.js';

/** What every synthetic participant of a load process shares. */
export interface LoadContext {
  readonly clip: BenchClip;
  readonly meter: ReceiveMeter;
  readonly network: PeerNetwork;
  /** How long one signaling step may take before the participant gives up, ms. */
  readonly timeoutMs: number;
  /** Told when a publisher's connection fails, with why. */
  readonly onPublisherFailed: (reason: string) => void;
}

/** A published stream, as others name it to subscribe: Parlor's stream ID, Janus's feed ID. */
export interface PublishedStream {
  readonly key: string;
  readonly media: PublishedMedia;
}

/** One synthetic participant of a room: publishes the clip, subscribes to streams. */
export interface LoadParticipant {
  /** Publishes and resolves once the SFU answered (media then starts flowing). */
  publish(media: PublishedMedia): Promise<PublishedStream>;
  /** Subscribes and resolves once this side answered; the peer tells when media arrives. */
  subscribe(stream: PublishedStream): Promise<SubscriberPeer>;
  close(): Promise<void>;
}

/** A room of one SFU (a Parlor session, a Janus VideoRoom room) that participants join. */
export interface LoadRoom {
  join(): Promise<LoadParticipant>;
}
