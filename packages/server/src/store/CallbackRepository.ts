import type { SqlClient } from './SqlClient.js';

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
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /** Registers the callback, replacing the project's previous one for that group and event. */
  async put(callback: CallbackRecord): Promise<void> {
    const { callbackId, apiKey, group, event, url, createdAt } = callback;
    await this.#sql.run(
      `INSERT INTO callbacks (callback_id, api_key, grp, event, url, created_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (api_key, grp, event) DO UPDATE SET
         callback_id = excluded.callback_id, url = excluded.url, created_at = excluded.created_at`,
      [callbackId, apiKey, group, event, url, createdAt],
    );
  }

  async find(apiKey: string, group: string, event: string): Promise<CallbackRecord | undefined> {
    const row = await this.#sql.get<CallbackRow>(
      'SELECT * FROM callbacks WHERE api_key = ? AND grp = ? AND event = ?',
      [apiKey, group, event],
    );
    return row && toCallback(row);
  }

  async list(apiKey: string): Promise<CallbackRecord[]> {
    const rows = await this.#sql.all<CallbackRow>(
      'SELECT * FROM callbacks WHERE api_key = ? ORDER BY created_at, callback_id',
      [apiKey],
    );
    return rows.map(toCallback);
  }

  /** Returns whether the project had that callback. */
  async delete(apiKey: string, callbackId: string): Promise<boolean> {
    return (
      (await this.#sql.run('DELETE FROM callbacks WHERE api_key = ? AND callback_id = ?', [
        apiKey,
        callbackId,
      ])) > 0
    );
  }

  /** Returns whether the project had a callback for that group and event. */
  async deleteFor(apiKey: string, group: string, event: string): Promise<boolean> {
    const changes = await this.#sql.run('DELETE FROM callbacks WHERE api_key = ? AND grp = ? AND event = ?', [
      apiKey,
      group,
      event,
    ]);
    return changes > 0;
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
