import type { Logger } from 'pino';
import type { Cluster } from './Cluster.js';

export interface NodeDrainOptions {
  readonly cluster: Cluster;
  /** The sessions this node runs now (their rooms are open). */
  readonly liveSessions: () => readonly string[];
  /** Closes a session's room, telling its clients to join it again on another node. */
  readonly moveClients: (sessionId: string) => void;
  /** Told once, when the drain starts (session monitoring's `serverRotation`). */
  readonly onStart: () => void;
  readonly logger: Logger;
  /** Sessions moved at once; the next ones wait `intervalMs`, so that the other nodes take a burst at a time. Default: 10. */
  readonly batchSize?: number;
  /** Between batches, and between looks for another node that takes sessions, ms. Default: 200. */
  readonly intervalMs?: number;
}

/**
 * Empties a node: it goes `draining` (placement passes it by, and a client it has not admitted
 * yet is sent elsewhere), and as soon as another node takes sessions its sessions move there, a
 * batch at a time: each session's lease is given up, then its room is closed with `moved`, which
 * tells its clients to ask for the session's connection info again and join it where it is
 * placed now (OpenTok's session migration). While no other node takes sessions, they go on here.
 */
export class NodeDrain {
  readonly #options: NodeDrainOptions;
  readonly #logger: Logger;
  readonly #batchSize: number;
  readonly #intervalMs: number;
  #started: Promise<void> | null = null;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: NodeDrainOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#batchSize = options.batchSize ?? 10;
    this.#intervalMs = options.intervalMs ?? 200;
  }

  get started(): boolean {
    return this.#started !== null;
  }

  /** Starts draining; resolves once the node's record says `draining`. Idempotent. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      this.#options.onStart();
      await this.#options.cluster.drain();
      this.#schedule(0);
    })();
    return this.#started;
  }

  /** Resolves true once the node runs no session, or false when `timeoutMs` passed first. */
  async settle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#options.liveSessions().length > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, deadline - Date.now())));
    }
    return true;
  }

  /** Moves every session left at once, whether or not another node takes sessions now (the node is stopping). */
  async moveAll(): Promise<void> {
    await Promise.all(this.#options.liveSessions().map((sessionId) => this.#move(sessionId)));
  }

  /** Stops moving sessions. Idempotent. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      void this.#step().finally(() => {
        this.#schedule(this.#intervalMs);
      });
    }, delayMs);
  }

  async #step(): Promise<void> {
    const sessions = this.#options.liveSessions();
    if (sessions.length === 0 || !(await this.#options.cluster.admittingElsewhere())) return;
    await Promise.all(sessions.slice(0, this.#batchSize).map((sessionId) => this.#move(sessionId)));
  }

  async #move(sessionId: string): Promise<void> {
    await this.#options.cluster.handOver(sessionId);
    this.#logger.info({ sessionId }, 'moving a session to another node');
    this.#options.moveClients(sessionId);
  }
}
