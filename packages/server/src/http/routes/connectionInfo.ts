import type { FastifyInstance } from 'fastify';
import { ParlorError, signalingPath, type IceServer, type SessionConnectionInfo } from '@parlor/protocol';
import { TokenError } from '../../auth/TokenError.js';
import type { ClientTokenVerifier } from '../../auth/ClientTokenVerifier.js';
import type { Cluster } from '../../cluster/Cluster.js';
import type { OwnerForwarding } from '../../cluster/OwnerForwarding.js';
import { clientAddress } from '../clientAddress.js';

export interface ConnectionInfoRouteOptions {
  readonly tokens: ClientTokenVerifier;
  /** The cluster, or null for one node on its own, which hosts every session. */
  readonly cluster: Cluster | null;
  /** Proxies whose `X-Forwarded-For` is believed. */
  readonly trustProxy: readonly string[];
  /** This node's ICE servers for a client (with TURN credentials of its own). */
  readonly iceServers: () => readonly IceServer[];
  /**
   * Calls between nodes: the answer about a session another node hosts is that node's own, with
   * its ICE servers (its TURN's credentials). Null without a cluster secret: the answer then
   * names the host with no ICE servers (the host hands them at connect).
   */
  readonly forwarding: OwnerForwarding | null;
}

/**
 * Where a client connects to its session (as OpenTok.js asks the API for a session's messaging
 * server before it connects): any node answers, authenticated by the client's token in
 * `X-TB-TOKEN-AUTH` (OpenTok.js's header), and a session with no host yet is placed now. A node
 * that does not host the session asks its host (a call between nodes, which brings no token:
 * the asking node verified it) and returns the host's answer.
 */
export async function connectionInfoRoutes(
  app: FastifyInstance,
  options: ConnectionInfoRouteOptions,
): Promise<void> {
  // connectionInfoPath(sessionId).
  app.get('/v2/session/:sessionId/connection-info', async (request, reply) => {
    const { sessionId } = request.params as { sessionId: string };
    let apiKey = request.forwardedBy?.apiKey ?? '';
    if (!request.forwardedBy) {
      const header = request.headers['x-tb-token-auth'];
      const token = Array.isArray(header) ? header[0] : header;
      if (!token) throw new ParlorError('AUTH_FAILED', 'X-TB-TOKEN-AUTH must carry a client token');
      const verified = await verify(options.tokens, token);
      if (verified.sessionId !== sessionId)
        throw new ParlorError('INVALID_SESSION_ID', 'the token is for another session');
      apiKey = verified.apiKey;
    }
    if (options.cluster === null) return describe(sessionId, null, null, null, [...options.iceServers()]);
    const address = clientAddress(
      request.raw.socket.remoteAddress,
      request.headers['x-forwarded-for'],
      options.trustProxy,
    );
    const { node } = await options.cluster.locate(sessionId, address);
    if (node.nodeId === options.cluster.nodeId)
      return describe(sessionId, node.nodeId, node.region, node.publicUrl, [...options.iceServers()]);
    // A call from another node is answered here, never passed on again.
    if (options.forwarding === null || request.forwardedBy)
      return describe(sessionId, node.nodeId, node.region, node.publicUrl, []);
    const answer = await options.forwarding.call(node, {
      method: 'GET',
      url: request.url,
      apiKey,
      body: undefined,
    });
    const { 'content-length': _length, ...headers } = answer.headers;
    return reply.code(answer.status).headers(headers).send(answer.body);
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
