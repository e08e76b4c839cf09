import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ParlorError, decodeSessionId } from '@parlor/protocol';
import type { ClusterConfig } from '../config/config.js';
import { NodeRegistry, type Departure, type NodeRecord, type NodeState } from './NodeRegistry.js';
import { pickNode } from './placement.js';
import type { Regions } from './Regions.js';
import { SessionLeases } from './SessionLeases.js';

/** What the node carries now, read at each registry write. */
export interface NodeLoad {
  readonly sessions: number;
  readonly streams: number;
  /** The busiest media worker's event-loop delay (p99), ms. */
  readonly workerLagMs: number;
  /** Whether any media worker takes new sessions. */
  readonly workersAdmitting: boolean;
  /** RTP packets its media workers forward to subscribers per second. */
  readonly packetsPerSecond: number;
}

export interface ClusterOptions {
  readonly config: ClusterConfig;
  readonly nodeId: string;
  /** Connected; the cluster owns it from now on and quits it on close. */
  readonly redis: Redis;
  readonly regions: Regions;
  readonly load: () => NodeLoad;
  /** Whether the node runs the session now (its room is open). */
  readonly isLive: (sessionId: string) => boolean;
  /** The node lost a session's lease: its room must close at once. */
  readonly onLost: (sessionId: string) => void;
  /**
   * Another node left the registry and this one claimed it (no other node does): takes over what
   * it left. A rejection gives the departure back, to be claimed again at a later round.
   */
  readonly onDeparted: (departure: Departure) => Promise<void>;
  readonly logger: Logger;
  /** How long a lease lives unless renewed, ms; also how long a placed session waits for its first client. Default: 8000. */
  readonly leaseMs?: number;
  /** How often leases are renewed and the node's record written, ms. Default: 2000. */
  readonly intervalMs?: number;
  /** The main thread's event-loop delay (p99 since the last record) past which the node takes no new session, ms. Default: no limit. */
  readonly maxLagMs?: number;
}

/** How often leases are checked for a confirmation that came too late, ms. */
const watchIntervalMs = 250;

/** A session whose lease this node holds. */
interface Hold {
  /** When the node took it, Unix ms. */
  readonly since: number;
  /** When the last renewal Redis confirmed was sent: the lease lives `leaseMs` from then. */
  confirmedAt: number;
}

/** Where a client finds a session, and why it is there. */
export interface Placement {
  readonly node: NodeRecord;
  /** How the node was found: the lease's holder, or placed now by hint, address or default. */
  readonly by: 'owner' | 'location hint' | 'client address' | 'default region';
  readonly region: string | null;
}

/**
 * This node's part in a cluster: its record in the registry, the leases of the sessions it runs
 * (taken when their first client connects here, renewed while they live, given up when they
 * end or lost when Redis says another node has them or cannot confirm them in time), and the
 * placement of sessions that have no owner yet.
 */
export class Cluster {
  readonly nodeId: string;
  readonly registry: NodeRegistry;
  readonly #options: ClusterOptions;
  readonly #leases: SessionLeases;
  readonly #leaseMs: number;
  readonly #intervalMs: number;
  readonly #held = new Map<string, Hold>();
  readonly #lag: IntervalHistogram;
  readonly #logger: Logger;
  #state: NodeState = 'serving';
  /** Whether the node listens (`serving()`): until then its record says it takes no session. */
  #listening = false;
  #timer: NodeJS.Timeout | undefined;
  /** Looks, more often than leases are renewed, for a lease Redis has not confirmed in time. */
  #watchTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | null = null;
  /** The departures being taken over, or null: one round at a time. */
  #reaping: Promise<void> | null = null;

  private constructor(options: ClusterOptions) {
    this.#options = options;
    this.nodeId = options.nodeId;
    this.#logger = options.logger.child({ nodeId: options.nodeId });
    this.#leaseMs = options.leaseMs ?? 8000;
    this.#intervalMs = options.intervalMs ?? 2000;
    this.#leases = new SessionLeases(options.redis);
    this.#lag = monitorEventLoopDelay({ resolution: 20 });
    this.#lag.enable();
    this.registry = new NodeRegistry({
      redis: options.redis,
      record: () => {
        const record = this.record();
        // Each write reports the delay since the one before.
        this.#lag.reset();
        return record;
      },
      logger: this.#logger,
      intervalMs: this.#intervalMs,
      ttlMs: 3 * this.#intervalMs,
    });
  }

  /** Registers the node and starts renewing its leases. */
  static async start(options: ClusterOptions): Promise<Cluster> {
    const cluster = new Cluster(options);
    await cluster.registry.start();
    cluster.#watchTimer = setInterval(() => {
      cluster.#dropUnconfirmed();
    }, watchIntervalMs);
    cluster.#timer = setInterval(() => {
      cluster.#renew();
      cluster.#reaping ??= cluster.#takeOverDeparted().finally(() => {
        cluster.#reaping = null;
      });
    }, cluster.#intervalMs);
    // A Redis back from an outage may have restarted empty: the node's record and leases are
    // written again at once, before another node could place its sessions elsewhere.
    options.redis.on('ready', cluster.#onRedisReady);
    cluster.#logger.info(
      { region: options.config.region, publicUrl: options.config.publicUrl },
      'joined the cluster',
    );
    return cluster;
  }

  /**
   * The node has started (it listens): from now on its record says it takes sessions (written at
   * once); before, a node chosen for a session would refuse its clients' connections. The event
   * loop's delays until now were its own start (workers, the HTTP server), not load, and are
   * forgotten at once. Counted, they kept a node that started on a busy machine from taking
   * sessions for its first seconds.
   */
  serving(): void {
    this.#listening = true;
    this.#lag.reset();
    this.registry.write().catch(() => undefined);
  }

  /** The sessions this node holds the lease of. */
  get heldSessions(): number {
    return this.#held.size;
  }

  /** This node's record as it is now. */
  record(): Omit<NodeRecord, 'updatedAt'> {
    const { config } = this.#options;
    const load = this.#options.load();
    const mainLagMs = this.#lag.percentile(99) / 1e6;
    const cores = availableParallelism();
    const withinStreams = config.maxStreams === null || load.streams < config.maxStreams;
    const withinLag = mainLagMs <= (this.#options.maxLagMs ?? Infinity);
    return {
      nodeId: this.nodeId,
      region: config.region,
      publicUrl: config.publicUrl,
      internalUrl: config.internalUrl,
      state: this.#state,
      admitting:
        this.#listening && this.#state === 'serving' && withinStreams && withinLag && load.workersAdmitting,
      cores,
      cpuLoad: Math.round(((loadavg()[0] ?? 0) / cores) * 100) / 100,
      eventLoopLagMs: Math.round(Math.max(mainLagMs, load.workerLagMs)),
      sessions: load.sessions,
      streams: load.streams,
      packetsPerSecond: load.packetsPerSecond,
      maxStreams: config.maxStreams,
    };
  }

  /**
   * Where a client finds the session: its owner, or, when it has none, the node it is placed on
   * now. The region comes from the session's location hint, else from the client's address;
   * concurrent placements of one session agree, as only the first lease is written.
   */
  locate(sessionId: string, clientAddress: string | null): Promise<Placement> {
    return this.#place(sessionId, clientAddress).catch((error: unknown) => {
      if (error instanceof ParlorError) throw error;
      throw new ParlorError('CLUSTER_UNAVAILABLE', 'the cluster state is unavailable', { cause: error });
    });
  }

  async #place(sessionId: string, clientAddress: string | null): Promise<Placement> {
    const holder = await this.#leases.holder(sessionId);
    if (holder !== null) return { node: await this.#recordOf(holder), by: 'owner', region: null };
    const { regions } = this.#options;
    const hint = decodeSessionId(sessionId)?.location ?? null;
    const from = hint !== null && regions.countryOf(hint) !== null ? hint : clientAddress;
    const region = from === null ? regions.table.default : regions.regionOf(from);
    const by = from === null ? 'default region' : from === hint ? 'location hint' : 'client address';
    const chosen = pickNode(await this.registry.list(), regions.preferenceOf(region));
    if (!chosen) throw new ParlorError('CLUSTER_UNAVAILABLE', 'no node takes new sessions');
    if (await this.#leases.acquire(sessionId, chosen.nodeId, this.#leaseMs)) {
      this.#logger.info({ sessionId, node: chosen.nodeId, region, by }, 'placed a session');
      return { node: chosen, by, region };
    }
    // Another node placed it meanwhile: its choice stands.
    const winner = await this.#leases.holder(sessionId);
    if (winner === null) throw new ParlorError('CLUSTER_UNAVAILABLE', 'the session could not be placed');
    return { node: await this.#recordOf(winner), by: 'owner', region: null };
  }

  /**
   * Whether a client may connect here: at once (null) when the node holds the session's lease,
   * else once Redis confirms the lease is this node's (the node then holds it); rejects with
   * `SESSION_ELSEWHERE` when the session is another node's or not placed.
   */
  admit(sessionId: string): Promise<void> | null {
    if (this.#held.has(sessionId)) return null;
    return (async () => {
      const holder = await this.#leases.holder(sessionId);
      if (holder !== this.nodeId)
        throw new ParlorError('SESSION_ELSEWHERE', holder === null ? 'it is not placed' : undefined);
      if (this.#state === 'draining') {
        // Placed here before the drain, or handed over: the client is placed anew elsewhere.
        await this.#leases.release(sessionId, this.nodeId);
        throw new ParlorError('SESSION_ELSEWHERE', 'this node is draining');
      }
      const sentAt = Date.now();
      if ((await this.#leases.renew(sessionId, this.nodeId, this.#leaseMs)) === 'lost')
        throw new ParlorError('SESSION_ELSEWHERE');
      if (this.#held.has(sessionId)) return;
      this.#held.set(sessionId, { since: sentAt, confirmedAt: sentAt });
      this.#logger.info({ sessionId }, 'took a session');
    })().catch((error: unknown) => {
      if (error instanceof ParlorError) throw error;
      throw new ParlorError('CONNECT_FAILED', 'the cluster state is unavailable, try again', {
        cause: error,
      });
    });
  }

  /**
   * The node other than this one that hosts the session now, or null: nobody holds its lease,
   * this node does, or its holder is no longer live. A session this node holds is answered
   * without asking Redis, so that its calls go on through a Redis outage.
   */
  async hostElsewhere(sessionId: string): Promise<NodeRecord | null> {
    if (this.#held.has(sessionId)) return null;
    const holder = await this.#leases.holder(sessionId).catch((error: unknown) => {
      throw new ParlorError('CLUSTER_UNAVAILABLE', 'the cluster state is unavailable', { cause: error });
    });
    return this.nodeElsewhere(holder);
  }

  /** The record of a live node other than this one, or null. */
  nodeElsewhere(nodeId: string | null): Promise<NodeRecord | null> {
    if (nodeId === null || nodeId === this.nodeId) return Promise.resolve(null);
    return this.registry.find(nodeId).catch((error: unknown) => {
      throw new ParlorError('CLUSTER_UNAVAILABLE', 'the cluster state is unavailable', { cause: error });
    });
  }

  /**
   * Stops taking new sessions: the node's record says `draining` from now on (written at once),
   * so placement passes it by; the sessions it hosts go on. Idempotent.
   */
  async drain(): Promise<void> {
    if (this.#state === 'draining') return;
    this.#state = 'draining';
    this.#logger.info({ sessions: this.#held.size }, 'draining: taking no new session');
    await this.registry.write().catch(() => undefined);
  }

  /** Whether this node is draining. */
  get draining(): boolean {
    return this.#state === 'draining';
  }

  /**
   * Gives up a session this node holds so that another node can host it: the lease is deleted
   * (its room is closed by the caller, whose clients then are placed anew).
   */
  async handOver(sessionId: string): Promise<void> {
    if (!this.#held.delete(sessionId)) return;
    await this.#release(sessionId, 'handed over: the node is draining');
  }

  /** Whether another live node takes new sessions now; false when Redis cannot say. */
  async admittingElsewhere(): Promise<boolean> {
    const nodes = await this.registry.list().catch(() => []);
    return nodes.some((node) => node.nodeId !== this.nodeId && node.admitting);
  }

  /** The live nodes' records. */
  nodes(): Promise<NodeRecord[]> {
    return this.registry.list().catch((error: unknown) => {
      throw new ParlorError('CLUSTER_UNAVAILABLE', 'the cluster state is unavailable', { cause: error });
    });
  }

  /**
   * Leaves the cluster: stops renewing, gives up every lease (the sessions' rooms are closed by
   * the server) and the node's record, and quits Redis. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      clearInterval(this.#watchTimer);
      await this.#reaping;
      this.#options.redis.off('ready', this.#onRedisReady);
      this.#lag.disable();
      const held = [...this.#held.keys()];
      this.#held.clear();
      await Promise.all(held.map((sessionId) => this.#release(sessionId, 'the node is stopping')));
      await this.registry.close(this.nodeId);
      await this.#options.redis.quit().catch(() => undefined);
      this.#options.redis.disconnect();
      this.#logger.info('left the cluster');
    })();
    return this.#closing;
  }

  readonly #onRedisReady = (): void => {
    if (this.#closing) return;
    this.registry.write().catch(() => undefined);
    this.#renew();
  };

  async #recordOf(nodeId: string): Promise<NodeRecord> {
    if (nodeId === this.nodeId) return { ...this.record(), updatedAt: Date.now() };
    const record = await this.registry.find(nodeId);
    if (!record)
      throw new ParlorError('CLUSTER_UNAVAILABLE', "the session's node is not answering; try again shortly");
    return record;
  }

  /**
   * Renews every lease the node holds; gives up those whose room has ended, and drops those Redis
   * gave to another node (those it has not confirmed in time go in `#dropUnconfirmed`).
   */
  #renew(): void {
    const now = Date.now();
    for (const [sessionId, hold] of this.#held) {
      if (!this.#options.isLive(sessionId) && now - hold.since > this.#intervalMs) {
        this.#held.delete(sessionId);
        void this.#release(sessionId, 'it ended');
        continue;
      }
      this.#leases.renew(sessionId, this.nodeId, this.#leaseMs).then(
        (outcome) => {
          if (this.#held.get(sessionId) !== hold) return;
          if (outcome === 'lost') {
            this.#lose(sessionId, 'another node holds its lease');
            return;
          }
          hold.confirmedAt = Math.max(hold.confirmedAt, now);
          if (outcome === 'reestablished') this.#logger.info({ sessionId }, 'took the lease again');
        },
        (error: unknown) => {
          this.#logger.debug({ sessionId, err: (error as Error).message }, 'lease not renewed');
        },
      );
    }
  }

  /**
   * Drops the sessions whose lease Redis has not confirmed for nearly a lease: it may have
   * expired, and another node may host them next. Looked at every `watchIntervalMs`, so that a
   * Redis outage of up to a lease less the time since the last renewal and a second (over 5 s
   * with the defaults) changes nothing; looked at only as leases are renewed, 2 s apart, an
   * outage of 3.5 s could already end a session on a loaded machine.
   */
  #dropUnconfirmed(): void {
    const now = Date.now();
    for (const [sessionId, hold] of this.#held) {
      if (now > hold.confirmedAt + this.#leaseMs - 1000)
        this.#lose(sessionId, 'Redis did not confirm its lease in time');
    }
  }

  /** Claims the nodes that left the registry and takes over what each left, one after the other. */
  async #takeOverDeparted(): Promise<void> {
    const departures = await this.registry.claimDeparted().catch((error: unknown) => {
      this.#logger.debug({ err: (error as Error).message }, 'departed nodes not read');
      return [];
    });
    for (const departure of departures) {
      const { nodeId, stopped } = departure;
      this.#logger.info({ node: nodeId, stopped }, 'a node left the cluster: taking over what it left');
      await this.#options.onDeparted(departure).catch(async (error: unknown) => {
        this.#logger.warn(
          { node: nodeId, err: (error as Error).message },
          'could not take over a node: will try again',
        );
        await this.registry.restore(departure).catch(() => undefined);
      });
    }
  }

  #lose(sessionId: string, why: string): void {
    this.#held.delete(sessionId);
    this.#logger.warn({ sessionId, why }, 'lost a session: closing its room');
    this.#options.onLost(sessionId);
  }

  async #release(sessionId: string, why: string): Promise<void> {
    await this.#leases.release(sessionId, this.nodeId).catch(() => false);
    this.#logger.info({ sessionId, why }, 'gave up a session');
  }
}
