import type { Logger } from 'pino';
import { ParlorError } from '@parlor/protocol';
import type { Cluster } from '../cluster/Cluster.js';
import type { NodeRecord } from '../cluster/NodeRegistry.js';
import type { OwnerForwarding } from '../cluster/OwnerForwarding.js';
import type { RoomRegistry } from '../signaling/RoomRegistry.js';

/** Who is in a session now, on the node hosting it. */
export interface LiveState {
  readonly connections: number;
  readonly streams: number;
  /** The host's node ID; null for a server on its own. */
  readonly nodeId: string | null;
}

export interface LiveSessionsOptions {
  /** The sessions live on this node. */
  readonly rooms: RoomRegistry;
  /** The cluster and the signed calls between its nodes; null for a server on its own. */
  readonly cluster: { readonly cluster: Cluster; readonly forwarding: OwnerForwarding } | null;
  readonly logger: Logger;
}

/** The paths other nodes call (`POST`, signed with the cluster secret): see `consoleNodeRoutes`. */
export const consoleNodePaths = {
  live: '/console/node/live',
  disconnect: '/console/node/disconnect',
} as const;

/** Most sessions one call asks another node about. */
export const maxLiveQuery = 100;

/**
 * The console's view of live sessions across the cluster: a session's state is asked of the
 * node hosting it (one call per node), and a suspended project's clients are disconnected on
 * every node, each told by a signed call and answering once its clients are gone.
 */
export class LiveSessions {
  readonly #options: LiveSessionsOptions;
  readonly #logger: Logger;

  constructor(options: LiveSessionsOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'console' });
  }

  /**
   * The state of those of the sessions that are live, wherever they are hosted. A node that
   * does not answer (logged), or Redis down, leaves its sessions out: the list still shows.
   */
  async stateOf(sessionIds: readonly string[]): Promise<Map<string, LiveState>> {
    const states = this.localStateOf(sessionIds);
    const { cluster } = this.#options;
    if (!cluster) return states;
    const byNode = new Map<string, { node: NodeRecord; sessionIds: string[] }>();
    // Without Redis, the hosts are unknown: the list shows what this node knows.
    const hosts = await Promise.all(
      sessionIds
        .filter((id) => !states.has(id))
        .map(async (id) => [id, await cluster.cluster.hostElsewhere(id).catch(() => null)] as const),
    );
    for (const [sessionId, node] of hosts) {
      if (!node) continue;
      const entry = byNode.get(node.nodeId) ?? { node, sessionIds: [] };
      entry.sessionIds.push(sessionId);
      byNode.set(node.nodeId, entry);
    }
    await Promise.all(
      [...byNode.values()].map(async ({ node, sessionIds: asked }) => {
        try {
          const answer = await this.#call(node, consoleNodePaths.live, { sessionIds: asked });
          for (const [sessionId, state] of Object.entries(answer as Record<string, LiveState>))
            if (asked.includes(sessionId)) states.set(sessionId, state);
        } catch (error) {
          this.#logger.warn({ err: error, node: node.nodeId }, 'live sessions could not be asked of a node');
        }
      }),
    );
    return states;
  }

  /** The state of those of the sessions live on this node. */
  localStateOf(sessionIds: readonly string[]): Map<string, LiveState> {
    const nodeId = this.#options.cluster?.cluster.nodeId ?? null;
    const states = new Map<string, LiveState>();
    for (const sessionId of sessionIds) {
      const room = this.#options.rooms.get(sessionId);
      if (room)
        states.set(sessionId, { connections: room.connections.length, streams: room.streams.length, nodeId });
    }
    return states;
  }

  /**
   * Disconnects the project's clients on every node (it was suspended: their tokens would be
   * refused at their next connect anyway). Resolves once every node answered; a node that does
   * not is logged, and its clients stay until they reconnect.
   */
  async disconnectProject(apiKey: string): Promise<void> {
    this.disconnectLocally(apiKey);
    const { cluster } = this.#options;
    if (!cluster) return;
    const nodes = (await cluster.cluster.nodes()).filter((node) => node.nodeId !== cluster.cluster.nodeId);
    await Promise.all(
      nodes.map((node) =>
        this.#call(node, consoleNodePaths.disconnect, { apiKey }).catch((error: unknown) => {
          this.#logger.warn(
            { err: error, node: node.nodeId, apiKey },
            "a suspended project's clients could not be disconnected on a node",
          );
        }),
      ),
    );
  }

  /** Disconnects the project's clients on this node; how many. */
  disconnectLocally(apiKey: string): number {
    let count = 0;
    for (const room of this.#options.rooms.all.filter((each) => each.apiKey === apiKey))
      for (const connection of room.connections) {
        room.forceDisconnect(null, connection.id);
        count += 1;
      }
    if (count > 0) this.#logger.info({ apiKey, count }, "a suspended project's clients disconnected");
    return count;
  }

  async #call(node: NodeRecord, path: string, body: object): Promise<unknown> {
    const { forwarding } = this.#options.cluster ?? {};
    if (!forwarding) throw new Error('not a cluster node');
    const answer = await forwarding.call(node, { method: 'POST', url: path, apiKey: '', body });
    if (answer.status !== 200)
      throw new ParlorError('NODE_UNREACHABLE', `node ${node.nodeId} answered ${answer.status}`);
    return JSON.parse(answer.body.toString('utf8')) as unknown;
  }
}
