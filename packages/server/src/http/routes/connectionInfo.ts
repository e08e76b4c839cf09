import type { FastifyInstance } from 'fastify';
import { ParlorError, signalingPath, type IceServer, type SessionConnectionInfo } from '@parlor/protocol';
import { TokenError } from '../../auth/TokenError.js';
import type { ClientTokenVerifier } from '../../auth/ClientTokenVerifier.js';
import type { Cluster } from '../../cluster/Cluster.js';
import { clientAddress } from '../clientAddress.js';

export interface ConnectionInfoRouteOptions {
  readonly tokens: ClientTokenVerifier;
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
  // connectionInfoPath(sessionId).
  app.get('/v2/session/:sessionId/connection-info', async (request): Promise<SessionConnectionInfo> => {
    const { sessionId } = request.params as { sessionId: string };
    const header = request.headers['x-tb-token-auth'];
    const token = Array.isArray(header) ? header[0] : header;
    if (!token) throw new ParlorError('AUTH_FAILED', 'X-TB-TOKEN-AUTH must carry a client token');
    if ((await verify(options.tokens, token)).sessionId !== sessionId)
      throw new ParlorError('INVALID_SESSION_ID', 'the token is for another session');
    if (options.cluster === null) return describe(sessionId, null, null, null, [...options.iceServers()]);
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

/** Verifies the client token as the signaling connect does: a session that does not exist is a 404. */
async function verify(tokens: ClientTokenVerifier, token: string): ReturnType<ClientTokenVerifier['verify']> {
  try {
    return await tokens.verify(token);
  } catch (error) {
    if (error instanceof TokenError && error.reason === 'unknown-session')
      throw new ParlorError('SESSION_NOT_FOUND', error.message, { cause: error });
    throw error;
  }
}

/** The answer; a null `apiUrl` is the node answering (one node on its own: however the client reached it). */
function describe(
  sessionId: string,
  nodeId: string | null,
  region: string | null,
  apiUrl: string | null,
  iceServers: IceServer[],
): SessionConnectionInfo {
  let signalingUrl: string | null = null;
  if (apiUrl !== null) {
    const signaling = new URL(apiUrl);
    signaling.protocol = signaling.protocol === 'https:' ? 'wss:' : 'ws:';
    signaling.pathname = `${signaling.pathname.replace(/\/+$/, '')}${signalingPath}`;
    signalingUrl = signaling.href;
  }
  return { sessionId, nodeId, region, apiUrl, signalingUrl, iceServers };
}
