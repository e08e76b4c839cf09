import type Database from 'better-sqlite3';

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
  readonly #insert: Database.Statement<[string, string, number]>;
  readonly #next: Database.Statement<[string], DeliveryRow>;
  readonly #urls: Database.Statement<[], { url: string }>;
  readonly #failed: Database.Statement<[number]>;
  readonly #delete: Database.Statement<[number]>;

  constructor(db: Database.Database) {
    this.#insert = db.prepare('INSERT INTO webhook_deliveries (url, body, created_at) VALUES (?, ?, ?)');
    this.#next = db.prepare('SELECT * FROM webhook_deliveries WHERE url = ? ORDER BY delivery_id LIMIT 1');
    this.#urls = db.prepare('SELECT DISTINCT url FROM webhook_deliveries');
    this.#failed = db.prepare('UPDATE webhook_deliveries SET attempts = attempts + 1 WHERE delivery_id = ?');
    this.#delete = db.prepare('DELETE FROM webhook_deliveries WHERE delivery_id = ?');
  }

  add(url: string, body: string, createdAt: number): void {
    this.#insert.run(url, body, createdAt);
  }

  /** The oldest delivery waiting for the URL. */
  next(url: string): WebhookDelivery | undefined {
    const row = this.#next.get(url);
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
  pendingUrls(): string[] {
    return this.#urls.all().map((row) => row.url);
  }

  failed(deliveryId: number): void {
    this.#failed.run(deliveryId);
  }

  delete(deliveryId: number): void {
    this.#delete.run(deliveryId);
  }
}
