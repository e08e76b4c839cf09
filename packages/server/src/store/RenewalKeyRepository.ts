import type { SqlClient } from './SqlClient.js';

/** The keys renewed tokens are signed with, one per period (`auth/RenewalKeys.ts`). */
export class RenewalKeyRepository {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /**
   * The period's key: the one stored, or else `candidate`, stored now. Nodes asking at once all
   * get the key of the first to store one.
   */
  async obtain(period: number, candidate: string): Promise<string> {
    await this.#sql.run(
      'INSERT INTO renewal_keys (period, secret) VALUES (?, ?) ON CONFLICT (period) DO NOTHING',
      [period, candidate],
    );
    const row = await this.#sql.get<{ secret: string }>('SELECT secret FROM renewal_keys WHERE period = ?', [
      period,
    ]);
    if (!row) throw new Error(`the renewal key of period ${period} was not stored`);
    return row.secret;
  }

  /** Deletes the keys of the periods before `period`; returns how many. */
  deleteBefore(period: number): Promise<number> {
    return this.#sql.run('DELETE FROM renewal_keys WHERE period < ?', [period]);
  }
}
