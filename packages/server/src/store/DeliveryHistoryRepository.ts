import type { SqlClient } from './SqlClient.js';

/** Where a callback delivery stands: sent, waiting for its next attempt, or abandoned. */
export type DeliveryState = 'delivered' | 'retrying' | 'given up';

/** The last outcome of one callback delivery, as the console shows it. */
export interface DeliveryOutcome {
  readonly deliveryId: number;
  readonly apiKey: string;
  readonly url: string;
  /** What it told of: the body's `event` (session monitoring, SIP) or `status` (archives). */
  readonly event: string;
  readonly state: DeliveryState;
  /** `HTTP 200`, `HTTP 500`, or why no answer came. */
  readonly result: string;
  /** Attempts made so far. */
  readonly attempts: number;
  /** Unix milliseconds of the last attempt. */
  readonly updatedAt: number;
}

interface OutcomeRow {
  delivery_id: number;
  api_key: string;
  url: string;
  event: string;
  state: DeliveryState;
  result: string;
  attempts: number;
  updated_at: number;
}

/** Deliveries each project's history keeps, newest first; older ones are forgotten. */
export const deliveryHistoryLength = 50;

/** The last deliveries of each project's callbacks, at most `deliveryHistoryLength` per project. */
export class DeliveryHistoryRepository {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /** Records (or updates) a delivery's outcome and forgets the project's oldest past the bound. */
  async record(outcome: DeliveryOutcome): Promise<void> {
    const { deliveryId, apiKey, url, event, state, result, attempts, updatedAt } = outcome;
    await this.#sql.run(
      `INSERT INTO callback_deliveries (delivery_id, api_key, url, event, state, result, attempts, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (delivery_id) DO UPDATE SET
         state = excluded.state, result = excluded.result, attempts = excluded.attempts,
         updated_at = excluded.updated_at`,
      [deliveryId, apiKey, url, event, state, result, attempts, updatedAt],
    );
    await this.#sql.run(
      `DELETE FROM callback_deliveries WHERE api_key = ? AND delivery_id NOT IN (
         SELECT delivery_id FROM callback_deliveries WHERE api_key = ? ORDER BY delivery_id DESC LIMIT ?)`,
      [apiKey, apiKey, deliveryHistoryLength],
    );
  }

  /** The project's last deliveries, newest first. */
  async list(apiKey: string): Promise<DeliveryOutcome[]> {
    const rows = await this.#sql.all<OutcomeRow>(
      'SELECT * FROM callback_deliveries WHERE api_key = ? ORDER BY delivery_id DESC LIMIT ?',
      [apiKey, deliveryHistoryLength],
    );
    return rows.map((row) => ({
      deliveryId: row.delivery_id,
      apiKey: row.api_key,
      url: row.url,
      event: row.event,
      state: row.state,
      result: row.result,
      attempts: row.attempts,
      updatedAt: row.updated_at,
    }));
  }
}
