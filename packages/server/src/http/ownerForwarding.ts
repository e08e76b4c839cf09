import type { FastifyReply, FastifyRequest } from 'fastify';
import { ParlorError } from '@parlor/protocol';
import type { ArchiveService } from '../archive/ArchiveService.js';
import type { Cluster } from '../cluster/Cluster.js';
import type { NodeRecord } from '../cluster/NodeRegistry.js';
import { bodyDigest, type NodeCaller, type OwnerForwarding } from '../cluster/OwnerForwarding.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The node that made this request as a call between nodes, or null for a client's own. */
    forwardedBy: NodeCaller | null;
  }
}

/** What forwarding needs: the cluster's leases and nodes, and who signs the calls. */
export interface ForwardingOptions {
  readonly cluster: Cluster;
  readonly forwarding: OwnerForwarding;
}

/**
 * An `onRequest` hook for every route: a request carrying the headers of a call between nodes
 * must be signed with the cluster secret (on a node without one, it is refused).
 */
export function nodeCallAuth(forwarding: OwnerForwarding | null): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    if (forwarding === null) {
      if (Object.keys(request.headers).some((name) => name.startsWith('x-parlor-forwarded-')))
        throw new ParlorError('AUTH_FAILED', 'this node takes no calls from other nodes');
      return;
    }
    request.forwardedBy = forwarding.verify(request.headers, request.method, request.url);
  };
}

/** A `preHandler` hook for every route: a call between nodes brings the body it signed. */
export async function nodeCallBody(request: FastifyRequest): Promise<void> {
  const caller = request.forwardedBy;
  if (caller && bodyDigest(request.body) !== caller.bodyDigest)
    throw new ParlorError('AUTH_FAILED', 'a call between nodes needs a valid cluster signature');
}

/**
 * A `preHandler` hook for the project's routes: a call acting on a session hosted by another
 * node (any route with a `:sessionId`, and `POST /archive` or `/dial` for the session it names), or on an
 * archive recorded by another (a route with an `:archiveId`, reads aside), is made again there
 * and its answer returned as is. A session nobody hosts, or a request another node forwarded,
 * is answered here.
 */
export function forwardToOwner(
  options: ForwardingOptions | null,
  archives: ArchiveService,
): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  return async (request, reply) => {
    if (options === null || request.forwardedBy) return undefined;
    const node = await hostOf(request, options.cluster, archives);
    if (!node) return undefined;
    const answer = await options.forwarding.call(node, {
      method: request.method,
      url: request.url,
      apiKey: request.apiKey,
      body: request.body,
    });
    const { 'content-length': _length, ...headers } = answer.headers;
    return reply.code(answer.status).headers(headers).send(answer.body);
  };
}

/**
 * Deletes an archive where its file is kept: on the node that recorded it when that is another
 * live node (REST's DELETE made again there, signed), here otherwise. The console and the control
 * channel delete this way; REST's own route reaches the holder through `forwardToOwner`.
 */
export async function deleteArchiveWhereKept(
  options: ForwardingOptions | null,
  archives: ArchiveService,
  apiKey: string,
  archiveId: string,
): Promise<void> {
  // The same refusals as here, before a call that would only repeat them.
  const archive = await archives.checkDeletable(apiKey, archiveId);
  const holder = options && (await options.cluster.nodeElsewhere(archive.nodeId ?? null));
  if (!options || !holder) return archives.delete(apiKey, archiveId);
  const url = `/v2/project/${encodeURIComponent(apiKey)}/archive/${encodeURIComponent(archiveId)}`;
  const answer = await options.forwarding.call(holder, { method: 'DELETE', url, apiKey, body: undefined });
  if (answer.status !== 204)
    throw new ParlorError(
      'CLUSTER_UNAVAILABLE',
      `node ${holder.nodeId}, which keeps the archive, answered its deletion with ${answer.status}`,
    );
}

async function hostOf(
  request: FastifyRequest,
  cluster: Cluster,
  archives: ArchiveService,
): Promise<NodeRecord | null> {
  const { sessionId, archiveId } = request.params as { sessionId?: string; archiveId?: string };
  if (sessionId !== undefined) return cluster.hostElsewhere(sessionId);
  if (archiveId !== undefined)
    return request.method === 'GET' ? null : cluster.nodeElsewhere(await archives.holderOf(archiveId));
  const named = (request.body as { sessionId?: unknown } | undefined)?.sessionId;
  if (request.method !== 'POST' || typeof named !== 'string') return null;
  const route = request.routeOptions.url ?? '';
  if (route.endsWith('/archive')) return cluster.hostElsewhere(named);
  if (route.endsWith('/dial')) {
    // A SIP call may be the session's first participant: it is placed as a client's connect is.
    const { node } = await cluster.locate(named, null);
    return node.nodeId === cluster.nodeId ? null : node;
  }
  return null;
}
