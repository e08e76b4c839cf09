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
  /** RTP packets its media workers forward to subscribers per second (absent from older nodes). */
  readonly packetsPerSecond?: number;
  /** Its stream limit (`--max-streams`), or null. */
  readonly maxStreams: number | null;
  /** Unix ms of the write. */
  readonly updatedAt: number;
}

/** A node that left the registry, claimed by the node that takes over what it left. */
export interface Departure {
  readonly nodeId: string;
  /** When it last wrote its record, Unix ms by its clock (0 when it stopped itself). */
  readonly lastSeenAt: number;
  /** Whether it stopped itself (drained or shut down) rather than vanished (killed, cut off). */
  readonly stopped: boolean;
}

/**
 * Claims the nodes of the index whose record is gone (expired, or removed at a stop): each is
 * taken out of the index here, so one caller only gets it. A record still there (a writer whose
 * clock runs behind) is left alone. KEYS[1] index, KEYS[2] stopped nodes; ARGV[1] now, ARGV[2]
 * record key prefix, ARGV[3] most claimed at once. Returns id, score, '1' or '0' for each.
 */
const claimScript = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local claimed = {}
for _, id in ipairs(ids) do
  if redis.call('EXISTS', ARGV[2] .. id) == 0 then
    claimed[#claimed + 1] = id
    claimed[#claimed + 1] = redis.call('ZSCORE', KEYS[1], id)
    claimed[#claimed + 1] = redis.call('HDEL', KEYS[2], id) == 1 and '1' or '0'
    redis.call('ZREM', KEYS[1], id)
  end
end
return claimed
`;

interface RegistryCommands {
  parlorClaimDeparted(
    index: string,
    stopped: string,
    now: number,
    prefix: string,
    max: number,
  ): Promise<string[]>;
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
 * by expiry; a node leaves it only when another claims its departure (`claimDeparted`), so that
 * what a node leaves behind is taken over once, by one node.
 */
export class NodeRegistry {
  readonly #options: Required<Omit<NodeRegistryOptions, 'logger' | 'redis' | 'record'>> & NodeRegistryOptions;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: NodeRegistryOptions) {
    this.#options = { intervalMs: 2000, ttlMs: 6000, prefix: 'parlor:', ...options };
    if (!('parlorClaimDeparted' in options.redis))
      options.redis.defineCommand('parlorClaimDeparted', { numberOfKeys: 2, lua: claimScript });
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
      // A node started again is no longer one that stopped itself.
      .hdel(`${prefix}stopped`, record.nodeId)
      .exec();
  }

  /** The live nodes' records. */
  async list(): Promise<NodeRecord[]> {
    const { redis, prefix } = this.#options;
    const index = `${prefix}nodes`;
    // Scores are each writer's clock: a skewed one is read with 10 s of margin, and the record
    // key (whose expiry is Redis's) decides.
    const ids = await redis.zrangebyscore(index, Date.now() - 10_000, '+inf');
    if (ids.length === 0) return [];
    const texts = await redis.mget(ids.map((id) => `${prefix}node:${id}`));
    return texts.flatMap((text) => (text === null ? [] : [JSON.parse(text) as NodeRecord]));
  }

  /** One node's record, or null when it is not live. */
  async find(nodeId: string): Promise<NodeRecord | null> {
    const text = await this.#options.redis.get(`${this.#options.prefix}node:${nodeId}`);
    return text === null ? null : (JSON.parse(text) as NodeRecord);
  }

  /**
   * Claims up to `max` nodes whose record expired or was removed at their stop: each is claimed
   * by one caller only, who takes over what it left (or gives it back with `restore`).
   */
  async claimDeparted(max = 16): Promise<Departure[]> {
    const { redis, prefix } = this.#options;
    const flat = await (redis as Redis & RegistryCommands).parlorClaimDeparted(
      `${prefix}nodes`,
      `${prefix}stopped`,
      Date.now(),
      `${prefix}node:`,
      max,
    );
    const departures: Departure[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3)
      departures.push({
        nodeId: flat[i] ?? '',
        lastSeenAt: Math.max(0, Number(flat[i + 1]) - this.#options.ttlMs),
        stopped: flat[i + 2] === '1',
      });
    return departures;
  }

  /** Puts a claimed departure back, for a later claim to take over. */
  async restore(departure: Departure): Promise<void> {
    const { redis, prefix } = this.#options;
    const score = departure.lastSeenAt === 0 ? 0 : departure.lastSeenAt + this.#options.ttlMs;
    const multi = redis.multi().zadd(`${prefix}nodes`, score, departure.nodeId);
    if (departure.stopped) multi.hset(`${prefix}stopped`, departure.nodeId, '1');
    await multi.exec();
  }

  /**
   * Stops writing and removes this node's record; it stays in the index as stopped, for another
   * node to take over what it leaves (its queued callbacks). Idempotent.
   */
  async close(nodeId: string): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    const { redis, prefix } = this.#options;
    await redis
      .multi()
      .del(`${prefix}node:${nodeId}`)
      .zadd(`${prefix}nodes`, 0, nodeId)
      .hset(`${prefix}stopped`, nodeId, '1')
      .exec()
      .catch(() => undefined);
  }
}
