import type { SipFlow, SipMessage } from 'sip';

/** A connection to one far end (a connected UDP socket, a TLS connection) that SIP flows write to. */
export interface FlowConnection {
  readonly protocol: 'UDP' | 'TLS';
  write(message: SipMessage): void;
  /** Idempotent. */
  close(): void;
}

interface Entry {
  readonly connection: FlowConnection;
  /** The error listeners of the transactions using the connection, until they release their flow. */
  readonly listeners: Set<(error: unknown) => void>;
}

/**
 * Our connections to far ends by `address:port`, shared by the transactions sent on them: each
 * transaction gets a flow that hears of the connection's failure until the transaction ends (the
 * transaction layer releases its flow then), so a refused or broken connection fails at once the
 * transactions that wait on it.
 */
export class FlowTable {
  readonly #entries = new Map<string, Entry>();

  /** A flow on the connection to `key`, or undefined when there is none. */
  flow(key: string, onError?: (error: unknown) => void): SipFlow | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (onError) entry.listeners.add(onError);
    return {
      protocol: entry.connection.protocol,
      send: (message) => {
        entry.connection.write(message);
      },
      release: () => {
        if (onError) entry.listeners.delete(onError);
      },
    };
  }

  add(key: string, connection: FlowConnection): void {
    this.#entries.get(key)?.connection.close();
    this.#entries.set(key, { connection, listeners: new Set() });
  }

  /** The connection to `key` failed: its transactions hear it, and it is closed and forgotten. */
  fail(key: string, connection: FlowConnection, error: unknown): void {
    const entry = this.#entries.get(key);
    if (entry?.connection !== connection) return;
    this.#entries.delete(key);
    connection.close();
    for (const listener of entry.listeners) listener(error);
  }

  /** The connection to `key` closed (idle, or by the far end). */
  delete(key: string, connection: FlowConnection): void {
    if (this.#entries.get(key)?.connection === connection) this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }

  closeAll(): void {
    for (const { connection } of this.#entries.values()) connection.close();
    this.#entries.clear();
  }
}
