import type { Logger } from 'pino';
import type {
  InspectorBounds,
  InspectorRecord,
  InspectorRepository,
  InspectorSessionSummary,
} from '../store/InspectorRepository.js';
import { timelineOf, type InspectorTimeline, type TimelineView } from './timeline.js';

export interface InspectorServiceOptions {
  readonly repository: InspectorRepository;
  /** How long a session's records are kept after its last one, in ms. */
  readonly retentionMs: number;
  /** What one session may hold. Default: 50,000 records and 32 MiB. */
  readonly bounds?: InspectorBounds;
  /** How often records past the retention are purged, in ms. Default: one hour. */
  readonly purgeIntervalMs?: number;
  /**
   * Batches being written at most; past it a batch is dropped (the store is slower than what
   * comes in). Default: 256.
   */
  readonly maxPendingWrites?: number;
  readonly logger: Logger;
}

export const defaultInspectorBounds: InspectorBounds = { maxRecords: 50_000, maxBytes: 32 * 1024 * 1024 };

/**
 * The Inspector's records: written best effort (a write that fails or finds the store too busy
 * drops its batch, counted, and never holds up the caller), read back as a session's timeline,
 * and purged once past the retention.
 */
export class InspectorService {
  readonly #repository: InspectorRepository;
  readonly #bounds: InspectorBounds;
  readonly #retentionMs: number;
  readonly #maxPendingWrites: number;
  readonly #logger: Logger;
  readonly #purgeTimer: NodeJS.Timeout;
  readonly #writes = new Set<Promise<void>>();
  #dropped = 0;
  #closed = false;

  constructor(options: InspectorServiceOptions) {
    this.#repository = options.repository;
    this.#bounds = options.bounds ?? defaultInspectorBounds;
    this.#retentionMs = options.retentionMs;
    this.#maxPendingWrites = options.maxPendingWrites ?? 256;
    this.#logger = options.logger.child({ component: 'inspector' });
    this.#purgeTimer = setInterval(() => {
      void this.purge();
    }, options.purgeIntervalMs ?? 3_600_000);
    this.#purgeTimer.unref();
  }

  /** Records dropped here since the start: the store was too busy or failed. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Stores a batch of a session's records, best effort. */
  add(sessionId: string, apiKey: string, records: readonly InspectorRecord[]): void {
    if (this.#closed || records.length === 0) return;
    if (this.#writes.size >= this.#maxPendingWrites) {
      this.#dropped += records.length;
      return;
    }
    const write = this.#repository.add(sessionId, apiKey, records, this.#bounds).then(
      () => undefined,
      (error: unknown) => {
        this.#dropped += records.length;
        this.#logger.warn({ err: error, sessionId }, 'inspector records not stored');
      },
    );
    this.#writes.add(write);
    void write.finally(() => this.#writes.delete(write));
  }

  /** Counts records a connection sent past its rate. */
  countDropped(sessionId: string, count: number): void {
    if (this.#closed) return;
    this.#repository.countDropped(sessionId, count).catch((error: unknown) => {
      this.#logger.debug({ err: error, sessionId }, 'dropped inspector records not counted');
    });
  }

  /** Settles once the writes under way have ended. */
  async idle(): Promise<void> {
    await Promise.all(this.#writes);
  }

  /** The session's timeline, or null when the Inspector has nothing of it for that project. */
  async timeline(
    apiKey: string,
    sessionId: string,
    view: TimelineView = {},
  ): Promise<InspectorTimeline | null> {
    const summary = await this.#repository.summary(sessionId);
    if (!summary || summary.apiKey !== apiKey) return null;
    return timelineOf(summary, await this.#repository.records(sessionId), view);
  }

  /** The project's sessions the Inspector has, the most recently active first. */
  recentSessions(apiKey: string, limit: number): Promise<InspectorSessionSummary[]> {
    return this.#repository.recentSessions(apiKey, limit);
  }

  /** Deletes the sessions idle past the retention; resolves to how many. */
  async purge(now = Date.now()): Promise<number> {
    try {
      const purged = await this.#repository.purge(now - this.#retentionMs);
      if (purged > 0) this.#logger.info({ sessions: purged }, 'inspector sessions past retention purged');
      return purged;
    } catch (error) {
      this.#logger.warn({ err: error }, 'inspector purge failed');
      return 0;
    }
  }

  /** Stops the purge and takes no more records; idempotent. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#purgeTimer);
  }
}
