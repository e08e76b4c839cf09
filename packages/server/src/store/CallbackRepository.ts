import type Database from 'better-sqlite3';

/** A URL a project registered for one group and event of callbacks (`archive`/`status`). */
export interface CallbackRecord {
  readonly callbackId: string;
  readonly apiKey: string;
  readonly group: string;
  readonly event: string;
  readonly url: string;
  /** Unix milliseconds. */
  readonly createdAt: number;
}

interface CallbackRow {
  callback_id: string;
  api_key: string;
  grp: string;
  event: string;
  url: string;
  created_at: number;
}

/** Callback URLs: at most one per project, group and event; registering again replaces it. */
export class CallbackRepository {
  readonly #upsert: Database.Statement<[string, string, string, string, string, number]>;
  readonly #find: Database.Statement<[string, string, string], CallbackRow>;
  readonly #list: Database.Statement<[string], CallbackRow>;
  readonly #delete: Database.Statement<[string, string]>;
  readonly #deleteFor: Database.Statement<[string, string, string]>;

  constructor(db: Database.Database) {
    this.#upsert = db.prepare(
      `INSERT INTO callbacks (callback_id, api_key, grp, event, url, created_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (api_key, grp, event) DO UPDATE SET
         callback_id = excluded.callback_id, url = excluded.url, created_at = excluded.created_at`,
    );
    this.#find = db.prepare('SELECT * FROM callbacks WHERE api_key = ? AND grp = ? AND event = ?');
    this.#list = db.prepare('SELECT * FROM callbacks WHERE api_key = ? ORDER BY created_at, callback_id');
    this.#delete = db.prepare('DELETE FROM callbacks WHERE api_key = ? AND callback_id = ?');
    this.#deleteFor = db.prepare('DELETE FROM callbacks WHERE api_key = ? AND grp = ? AND event = ?');
  }

  /** Registers the callback, replacing the project's previous one for that group and event. */
  put(callback: CallbackRecord): void {
    const { callbackId, apiKey, group, event, url, createdAt } = callback;
    this.#upsert.run(callbackId, apiKey, group, event, url, createdAt);
  }

  find(apiKey: string, group: string, event: string): CallbackRecord | undefined {
    const row = this.#find.get(apiKey, group, event);
    return row && toCallback(row);
  }

  list(apiKey: string): CallbackRecord[] {
    return this.#list.all(apiKey).map(toCallback);
  }

  /** Returns whether the project had that callback. */
  delete(apiKey: string, callbackId: string): boolean {
    return this.#delete.run(apiKey, callbackId).changes > 0;
  }

  /** Returns whether the project had a callback for that group and event. */
  deleteFor(apiKey: string, group: string, event: string): boolean {
    return this.#deleteFor.run(apiKey, group, event).changes > 0;
  }
}

function toCallback(row: CallbackRow): CallbackRecord {
  return {
    callbackId: row.callback_id,
    apiKey: row.api_key,
    group: row.grp,
    event: row.event,
    url: row.url,
    createdAt: row.created_at,
  };
}
