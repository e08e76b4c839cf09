import type { MediaPath } from '@parlor/protocol';

/** What a routed session's media needs, as adaptive routing weighs it. */
export interface RoutingNeeds {
  /** Connections that publish a stream or subscribe to one. */
  readonly participants: number;
  /** Whether one of them is a connection whose media the server makes (a SIP call). */
  readonly serverSideParticipant: boolean;
  /** Recordings of the session's streams under way (archives). */
  readonly recordings: number;
  /** Whether a client subscribes to its own stream (OpenTok's `testNetwork`): only the router sends it back. */
  readonly selfSubscription: boolean;
  /** Whether a publisher asked for its stream to go through the router only (`adaptiveRouting: false`). */
  readonly routerOnlyPublisher: boolean;
  /** Whether two of the participants could not get media peer to peer to each other. */
  readonly directFailed: boolean;
}

/** Why a session's media takes the path it takes. */
export type RoutingReason =
  | 'fewParticipants'
  | 'participants'
  | 'archive'
  | 'serverSideParticipant'
  | 'selfSubscription'
  | 'publisherOptedOut'
  | 'directFailed';

export interface RoutingDecision {
  readonly mode: MediaPath;
  readonly reason: RoutingReason;
}

/**
 * The path a routed session's media takes (OpenTok's adaptive media routing): peer to peer while
 * at most two connections publish or subscribe and nothing needs the streams on the server;
 * through the Media Router otherwise. A lone publisher counts as direct: its media goes nowhere.
 */
export function routingModeFor(needs: RoutingNeeds): RoutingDecision {
  if (needs.recordings > 0) return { mode: 'routed', reason: 'archive' };
  if (needs.serverSideParticipant) return { mode: 'routed', reason: 'serverSideParticipant' };
  if (needs.selfSubscription) return { mode: 'routed', reason: 'selfSubscription' };
  if (needs.routerOnlyPublisher) return { mode: 'routed', reason: 'publisherOptedOut' };
  if (needs.directFailed) return { mode: 'routed', reason: 'directFailed' };
  if (needs.participants > 2) return { mode: 'routed', reason: 'participants' };
  return { mode: 'direct', reason: 'fewParticipants' };
}
