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
}

/** Callbacks not delivered yet, kept so that they survive a restart; oldest first per URL and queue. */
export class WebhookRepository {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  async add(delivery: NewWebhookDelivery): Promise<void> {
    const { url, body, apiKey, queue, createdAt } = delivery;
    await this.#sql.run(
      'INSERT INTO webhook_deliveries (url, body, api_key, queue, created_at) VALUES (?, ?, ?, ?, ?)',
      [url, body, apiKey, queue, createdAt],
    );
  }

  /** The oldest delivery waiting in the URL's queue. */
  async next(url: string, queue: string): Promise<WebhookDelivery | undefined> {
    const row = await this.#sql.get<DeliveryRow>(
      'SELECT * FROM webhook_deliveries WHERE url = ? AND queue = ? ORDER BY delivery_id LIMIT 1',
      [url, queue],
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
      }
    );
  }

  /** Every URL and queue with deliveries waiting. */
  async pendingQueues(): Promise<WebhookQueue[]> {
    return this.#sql.all<WebhookQueue>('SELECT DISTINCT url, queue FROM webhook_deliveries');
  }

  /** How many deliveries wait. */
  async count(): Promise<number> {
    const row = await this.#sql.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM webhook_deliveries');
    return Number(row?.n ?? 0);
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
