import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ParlorError } from '@parlor/protocol';
import type { Cluster } from '../../cluster/Cluster.js';
import type { NodeDrain } from '../../cluster/NodeDrain.js';

export interface ClusterRouteOptions {
  readonly cluster: Cluster;
  /** Empties this node (`POST /v2/cluster/drain`, which `parlor node drain` calls). */
  readonly drain: NodeDrain;
  /** The secret the nodes share (`--cluster-secret`); null refuses every request. */
  readonly secret: string | null;
}

/** The operator's view of the cluster and its drain, authenticated by `Authorization: Bearer {cluster secret}`. */
export async function clusterRoutes(app: FastifyInstance, options: ClusterRouteOptions): Promise<void> {
  const expected = options.secret === null ? null : Buffer.from(`Bearer ${options.secret}`);
  app.addHook('onRequest', async (request) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    if (expected === null)
      throw new ParlorError('AUTH_FAILED', 'set --cluster-secret on the nodes to use /v2/cluster');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new ParlorError('AUTH_FAILED', '/v2/cluster needs the cluster secret as a bearer token');
  });

  /** Every live node: region, URLs, state, load and sessions, sorted by region and ID. */
  app.get('/v2/cluster/nodes', async () => {
    const nodes = await options.cluster.nodes();
    nodes.sort((a, b) => a.region.localeCompare(b.region) || a.nodeId.localeCompare(b.nodeId));
    return { nodes, regions: [...new Set(nodes.map((node) => node.region))] };
  });

  /**
   * Starts draining this node without stopping it: it takes no new session and moves its
   * sessions' clients to other nodes (docs/cluster.md). Answered once its record says `draining`.
   */
  app.post('/v2/cluster/drain', async (_request, reply) => {
    await options.drain.start();
    return reply.code(202).send({ nodeId: options.cluster.nodeId, state: 'draining' });
  });
}
