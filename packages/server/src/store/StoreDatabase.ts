import type { SqlClient } from './SqlClient.js';

/** An engine under the store: a client for statements, transactions, the schema's version. */
export interface StoreDatabase extends SqlClient {
  /** The last migration applied (all of them, once the database is open). */
  readonly schemaVersion: number;
  /**
   * Runs `fn` in one serializable transaction on the client it is given: all its writes land,
   * or none (it throws, also when it raced another process's transaction: try again). Inside,
   * use only that client: statements from outside wait for the transaction.
   */
  transaction<T>(fn: (client: SqlClient) => Promise<T>): Promise<T>;
  /** Lets the statements under way end, then closes; idempotent. */
  close(): Promise<void>;
}
