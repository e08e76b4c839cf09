import type { SqlClient } from './SqlClient.js';

/** A callback POST waiting to be delivered. */
export interface WebhookDelivery {
  readonly deliveryId: number;
  readonly url: string;
  /** The JSON body. */
  readonly body: string;
  /** Failed attempts so far. */
  readonly attempts: number;
  /** Unix milliseconds. */
  readonly createdAt: number;
}

interface DeliveryRow {
  delivery_id: number;
  url: string;
  body: string;
  attempts: number;
  created_at: number;
}

/** Callbacks not delivered yet, kept so that they survive a restart; oldest first per URL. */
export class WebhookRepository {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  async add(url: string, body: string, createdAt: number): Promise<void> {
    await this.#sql.run('INSERT INTO webhook_deliveries (url, body, created_at) VALUES (?, ?, ?)', [
      url,
      body,
      createdAt,
    ]);
  }

  /** The oldest delivery waiting for the URL. */
  async next(url: string): Promise<WebhookDelivery | undefined> {
    const row = await this.#sql.get<DeliveryRow>(
      'SELECT * FROM webhook_deliveries WHERE url = ? ORDER BY delivery_id LIMIT 1',
      [url],
    );
    return (
      row && {
        deliveryId: row.delivery_id,
        url: row.url,
        body: row.body,
        attempts: row.attempts,
        createdAt: row.created_at,
      }
    );
  }

  /** Every URL with deliveries waiting. */
  async pendingUrls(): Promise<string[]> {
    const rows = await this.#sql.all<{ url: string }>('SELECT DISTINCT url FROM webhook_deliveries');
    return rows.map((row) => row.url);
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
