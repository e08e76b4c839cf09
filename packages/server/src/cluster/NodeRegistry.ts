import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export const nodeStates = ['serving', 'draining'] as const;
export type NodeState = (typeof nodeStates)[number];

/** What a node says of itself in the registry, rewritten every few seconds. */
export interface NodeRecord {
  readonly nodeId: string;
  readonly region: string;
  /** How clients reach it: HTTP and WebSocket base. */
  readonly publicUrl: string;
  /** How other nodes reach it. */
  readonly internalUrl: string;
  readonly state: NodeState;
  /** Whether it takes new sessions: serving, and within its admission limits. */
  readonly admitting: boolean;
  readonly cores: number;
  /** Load average over a minute, per core. */
  readonly cpuLoad: number;
  /** Its main thread's event-loop delay (p99), or its busiest media worker's if higher, ms. */
  readonly eventLoopLagMs: number;
  readonly sessions: number;
  readonly streams: number;
  /** Its stream limit (`--max-streams`), or null. */
  readonly maxStreams: number | null;
  /** Unix ms of the write. */
  readonly updatedAt: number;
}

export interface NodeRegistryOptions {
  readonly redis: Redis;
  /** This node's record as it is now, read at each write. */
  readonly record: () => Omit<NodeRecord, 'updatedAt'>;
  readonly logger: Logger;
  /** How often the record is written, ms. Default: 2000. */
  readonly intervalMs?: number;
  /** How long a record lives without being written again, ms. Default: 6000. */
  readonly ttlMs?: number;
  /** Starts every key. Default: `parlor:`. */
  readonly prefix?: string;
}

/**
 * The cluster's nodes on Redis: each node writes its record every `intervalMs` with an expiry of
 * `ttlMs`, so a node that dies vanishes by itself. The index of node IDs is a sorted set scored
 * by expiry, pruned as it is read.
 */
export class NodeRegistry {
  readonly #options: Required<Omit<NodeRegistryOptions, 'logger' | 'redis' | 'record'>> & NodeRegistryOptions;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: NodeRegistryOptions) {
    this.#options = { intervalMs: 2000, ttlMs: 6000, prefix: 'parlor:', ...options };
  }

  /** Writes the record now (resolves once Redis has it) and every `intervalMs` from now on. */
  async start(): Promise<void> {
    await this.write();
    this.#timer = setInterval(() => {
      this.write().catch((error: unknown) => {
        this.#options.logger.debug({ err: (error as Error).message }, 'node record not written');
      });
    }, this.#options.intervalMs);
  }

  /** Writes this node's record. */
  async write(): Promise<void> {
    if (this.#closed) return;
    const { redis, ttlMs, prefix } = this.#options;
    const record: NodeRecord = { ...this.#options.record(), updatedAt: Date.now() };
    await redis
      .multi()
      .set(`${prefix}node:${record.nodeId}`, JSON.stringify(record), 'PX', ttlMs)
      .zadd(`${prefix}nodes`, record.updatedAt + ttlMs, record.nodeId)
      .exec();
  }

  /** The live nodes' records. */
  async list(): Promise<NodeRecord[]> {
    const { redis, prefix } = this.#options;
    const index = `${prefix}nodes`;
    const now = Date.now();
    // Scores are each writer's clock: a record dropped from the index by a skewed clock still
    // has its key, and its node adds it again at its next write.
    await redis.zremrangebyscore(index, '-inf', now - 60_000);
    const ids = await redis.zrangebyscore(index, now - 10_000, '+inf');
    if (ids.length === 0) return [];
    const texts = await redis.mget(ids.map((id) => `${prefix}node:${id}`));
    return texts.flatMap((text) => (text === null ? [] : [JSON.parse(text) as NodeRecord]));
  }

  /** One node's record, or null when it is not live. */
  async find(nodeId: string): Promise<NodeRecord | null> {
    const text = await this.#options.redis.get(`${this.#options.prefix}node:${nodeId}`);
    return text === null ? null : (JSON.parse(text) as NodeRecord);
  }

  /** Stops writing and removes this node's record. Idempotent. */
  async close(nodeId: string): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    const { redis, prefix } = this.#options;
    await redis
      .multi()
      .del(`${prefix}node:${nodeId}`)
      .zrem(`${prefix}nodes`, nodeId)
      .exec()
      .catch(() => undefined);
  }
}
