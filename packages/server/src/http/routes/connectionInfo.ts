import type { FastifyInstance } from 'fastify';
import { ParlorError, signalingPath, type IceServer } from '@parlor/protocol';
import type { ClientTokenVerifier } from '../../auth/ClientTokenVerifier.js';
import type { Cluster } from '../../cluster/Cluster.js';
import { clientAddress } from '../clientAddress.js';

/** Where a client connects to a session: the answer of `GET /v2/session/{id}/connection-info`. */
export interface ConnectionInfo {
  readonly sessionId: string;
  /** The node hosting the session; null when the server is not in a cluster. */
  readonly nodeId: string | null;
  readonly region: string | null;
  /** The node's base URL, for its REST API and signaling. */
  readonly apiUrl: string;
  /** The node's signaling WebSocket. */
  readonly signalingUrl: string;
  /** STUN and TURN servers of the node: listed when the node answering is the host, else handed at connect. */
  readonly iceServers: readonly IceServer[];
}

export interface ConnectionInfoRouteOptions {
  readonly tokens: ClientTokenVerifier;
  /** This node's public URL. */
  readonly publicUrl: () => string;
  /** The cluster, or null for one node on its own, which hosts every session. */
  readonly cluster: Cluster | null;
  /** Proxies whose `X-Forwarded-For` is believed. */
  readonly trustProxy: readonly string[];
  /** This node's ICE servers for a client (with TURN credentials of its own). */
  readonly iceServers: () => readonly IceServer[];
}

/**
 * Where a client connects to its session (as OpenTok.js asks the API for a session's messaging
 * server before it connects): any node answers, authenticated by the client's token in
 * `X-TB-TOKEN-AUTH` (OpenTok.js's header), and a session with no host yet is placed now.
 */
export async function connectionInfoRoutes(
  app: FastifyInstance,
  options: ConnectionInfoRouteOptions,
): Promise<void> {
  app.get('/v2/session/:sessionId/connection-info', async (request): Promise<ConnectionInfo> => {
    const { sessionId } = request.params as { sessionId: string };
    const header = request.headers['x-tb-token-auth'];
    const token = Array.isArray(header) ? header[0] : header;
    if (!token) throw new ParlorError('AUTH_FAILED', 'X-TB-TOKEN-AUTH must carry a client token');
    const verified = options.tokens.verify(token);
    if (verified.sessionId !== sessionId)
      throw new ParlorError('INVALID_SESSION_ID', 'the token is for another session');
    const self = options.publicUrl();
    if (options.cluster === null) return describe(sessionId, null, null, self, [...options.iceServers()]);
    const address = clientAddress(
      request.raw.socket.remoteAddress,
      request.headers['x-forwarded-for'],
      options.trustProxy,
    );
    const { node } = await options.cluster.locate(sessionId, address);
    const here = node.nodeId === options.cluster.nodeId;
    return describe(
      sessionId,
      node.nodeId,
      node.region,
      node.publicUrl,
      here ? [...options.iceServers()] : [],
    );
  });
}

function describe(
  sessionId: string,
  nodeId: string | null,
  region: string | null,
  apiUrl: string,
  iceServers: IceServer[],
): ConnectionInfo {
  const signaling = new URL(apiUrl);
  signaling.protocol = signaling.protocol === 'https:' ? 'wss:' : 'ws:';
  signaling.pathname = `${signaling.pathname.replace(/\/+$/, '')}${signalingPath}`;
  return { sessionId, nodeId, region, apiUrl, signalingUrl: signaling.href, iceServers };
}
