import type { SqlClient } from './SqlClient.js';

/** A callback POST to queue. */
export interface NewWebhookDelivery {
  readonly url: string;
  /** The JSON body. */
  readonly body: string;
  /** The project whose signature secret signs it; null for an unsigned one. */
  readonly apiKey: string | null;
  /** What it is ordered with (the session it tells of): a queue's deliveries go oldest first. */
  readonly queue: string;
  /** Unix milliseconds. */
  readonly createdAt: number;
  /** The cluster node whose queue it waits in; null on a node on its own. */
  readonly nodeId: string | null;
}

/** A callback POST waiting to be delivered. */
export interface WebhookDelivery extends NewWebhookDelivery {
  readonly deliveryId: number;
  /** Failed attempts so far. */
  readonly attempts: number;
}

/** A URL and one of its queues. */
export interface WebhookQueue {
  readonly url: string;
  readonly queue: string;
}

interface DeliveryRow {
  delivery_id: number;
  url: string;
  body: string;
  api_key: string | null;
  queue: string;
  attempts: number;
  created_at: number;
  node_id: string | null;
}

/**
 * Callbacks not delivered yet, kept so that they survive a restart; oldest first per URL and
 * queue. In a cluster each delivery waits in one node's queue: the methods taking a `nodeId` see
 * only that node's (all of them for null, a node on its own).
 */
export class WebhookRepository {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  async add(delivery: NewWebhookDelivery): Promise<void> {
    const { url, body, apiKey, queue, createdAt, nodeId } = delivery;
    await this.#sql.run(
      'INSERT INTO webhook_deliveries (url, body, api_key, queue, created_at, node_id) VALUES (?, ?, ?, ?, ?, ?)',
      [url, body, apiKey, queue, createdAt, nodeId],
    );
  }

  /** The oldest delivery waiting in the URL's queue of the node. */
  async next(url: string, queue: string, nodeId: string | null = null): Promise<WebhookDelivery | undefined> {
    const row = await this.#sql.get<DeliveryRow>(
      `SELECT * FROM webhook_deliveries WHERE url = ? AND queue = ?${ofNode(nodeId)} ORDER BY delivery_id LIMIT 1`,
      [url, queue, ...nodeParam(nodeId)],
    );
    return (
      row && {
        deliveryId: row.delivery_id,
        url: row.url,
        body: row.body,
        apiKey: row.api_key,
        queue: row.queue,
        attempts: row.attempts,
        createdAt: row.created_at,
        nodeId: row.node_id,
      }
    );
  }

  /** Every URL and queue with deliveries waiting in the node's queues. */
  async pendingQueues(nodeId: string | null = null): Promise<WebhookQueue[]> {
    return this.#sql.all<WebhookQueue>(
      `SELECT DISTINCT url, queue FROM webhook_deliveries WHERE TRUE${ofNode(nodeId)}`,
      nodeParam(nodeId),
    );
  }

  /** How many deliveries wait in the node's queues. */
  async count(nodeId: string | null = null): Promise<number> {
    const row = await this.#sql.get<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM webhook_deliveries WHERE TRUE${ofNode(nodeId)}`,
      nodeParam(nodeId),
    );
    return Number(row?.n ?? 0);
  }

  /**
   * Moves every delivery waiting in one node's queues to another's, in one statement (a
   * delivery moves once, whoever else tries); resolves to the URLs and queues moved, with how
   * many deliveries.
   */
  async adopt(fromNodeId: string, toNodeId: string): Promise<{ queues: WebhookQueue[]; count: number }> {
    const rows = await this.#sql.all<WebhookQueue>(
      'UPDATE webhook_deliveries SET node_id = ? WHERE node_id = ? RETURNING url, queue',
      [toNodeId, fromNodeId],
    );
    const queues = new Map(rows.map(({ url, queue }) => [`${queue}\n${url}`, { url, queue }]));
    return { queues: [...queues.values()], count: rows.length };
  }

  async failed(deliveryId: number): Promise<void> {
    await this.#sql.run('UPDATE webhook_deliveries SET attempts = attempts + 1 WHERE delivery_id = ?', [
      deliveryId,
    ]);
  }

  async delete(deliveryId: number): Promise<void> {
    await this.#sql.run('DELETE FROM webhook_deliveries WHERE delivery_id = ?', [deliveryId]);
  }
}

/** The condition on `node_id` of a node's deliveries: none for a node on its own. */
function ofNode(nodeId: string | null): string {
  return nodeId === null ? '' : ' AND node_id = ?';
}

function nodeParam(nodeId: string | null): string[] {
  return nodeId === null ? [] : [nodeId];
}
