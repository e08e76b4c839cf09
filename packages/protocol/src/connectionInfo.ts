import type { IceServer } from './signaling/entities.js';

/**
 * Where a client asks any node of a Parlor server where to connect to a session, with its
 * client token in `X-TB-TOKEN-AUTH` (OpenTok.js's header).
 */
export function connectionInfoPath(sessionId: string): string {
  return `/v2/session/${encodeURIComponent(sessionId)}/connection-info`;
}

/** Where a client connects to a session: the answer at `connectionInfoPath`. */
export interface SessionConnectionInfo {
  readonly sessionId: string;
  /** The node hosting the session; null when the server is a single node. */
  readonly nodeId: string | null;
  readonly region: string | null;
  /** The host's base URL, for its REST API and signaling; null for the node that answered. */
  readonly apiUrl: string | null;
  /** The host's signaling WebSocket; null for the node that answered's. */
  readonly signalingUrl: string | null;
  /** STUN and TURN servers of the host when the node answering is the host (else handed at connect). */
  readonly iceServers: readonly IceServer[];
}
