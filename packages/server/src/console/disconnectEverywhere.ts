import { OwnerForwarding } from '../cluster/OwnerForwarding.js';
import type { NodeRecord } from '../cluster/NodeRegistry.js';
import { createLogger } from '../logger.js';
import { consoleNodePaths } from './LiveSessions.js';

export interface DisconnectEverywhereOptions {
  /** A node of the cluster, asked for the list of nodes (its internal URL). */
  readonly url: string;
  /** The cluster secret: the bearer of `/v2/cluster/nodes` and the key of the signed calls. */
  readonly secret: string;
  readonly apiKey: string;
}

export interface DisconnectedEverywhere {
  /** Clients disconnected, over every node that answered. */
  readonly disconnected: number;
  /** Nodes that could not be told, each with why. */
  readonly failures: readonly string[];
}

/**
 * Disconnects a suspended project's clients on every node of a cluster from outside it (the
 * CLI): the node at `url` lists the nodes, then each is sent the console's signed call.
 */
export async function disconnectEverywhere(
  options: DisconnectEverywhereOptions,
): Promise<DisconnectedEverywhere> {
  const listed = await fetch(new URL('/v2/cluster/nodes', options.url), {
    headers: { authorization: `Bearer ${options.secret}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (!listed.ok) throw new Error(`${options.url} answered ${listed.status} for the list of nodes`);
  const { nodes } = (await listed.json()) as { nodes: NodeRecord[] };
  const forwarding = new OwnerForwarding({
    nodeId: `cli-${process.pid}`,
    secret: options.secret,
    logger: createLogger('silent'),
  });
  const answers = await Promise.all(
    nodes.map(async (node) => {
      try {
        const answer = await forwarding.call(node, {
          method: 'POST',
          url: consoleNodePaths.disconnect,
          apiKey: '',
          body: { apiKey: options.apiKey },
        });
        if (answer.status !== 200) return `${node.nodeId} answered ${answer.status}`;
        return (JSON.parse(answer.body.toString('utf8')) as { disconnected: number }).disconnected;
      } catch (error) {
        return `${node.nodeId}: ${(error as Error).message}`;
      }
    }),
  );
  return {
    disconnected: answers.reduce<number>((sum, each) => sum + (typeof each === 'number' ? each : 0), 0),
    failures: answers.filter((each) => typeof each === 'string'),
  };
}
