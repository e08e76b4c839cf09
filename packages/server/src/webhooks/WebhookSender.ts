import type { Logger } from 'pino';
import type { WebhookRepository } from '../store/WebhookRepository.js';

export interface WebhookSenderOptions {
  /** Where deliveries wait, so that they survive a restart. */
  readonly repository: WebhookRepository;
  readonly logger: Logger;
  /** Delay before the first retry, in ms; it doubles with each failure. Default: 1000. */
  readonly retryBaseMs?: number;
  /** Longest delay between retries, in ms. Default: 300000 (5 minutes). */
  readonly retryMaxMs?: number;
  /** Age past which an undelivered callback is given up, in ms. Default: 86400000 (a day). */
  readonly maxAgeMs?: number;
  /** How long one attempt may take, in ms. Default: 10000. */
  readonly timeoutMs?: number;
}

/**
 * Delivers callbacks: JSON POSTs to the customer's URLs. A callback is stored before anything is
 * sent and `send` returns at once, so the request that caused it never waits. Each URL gets its
 * callbacks one at a time, oldest first (an archive's `started` before its `stopped`); a failure
 * (no answer, or not 2xx) is retried with exponential backoff, holding the later ones back, for
 * up to `maxAgeMs`. Deliveries left at shutdown resume at the next start.
 */
export class WebhookSender {
  readonly #repository: WebhookRepository;
  readonly #logger: Logger;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  readonly #maxAgeMs: number;
  readonly #timeoutMs: number;
  /** URLs being drained, and the wait before the next attempt of each. */
  readonly #draining = new Map<string, { wake: (() => void) | null; timer: NodeJS.Timeout | undefined }>();
  readonly #closing = new AbortController();

  constructor(options: WebhookSenderOptions) {
    this.#repository = options.repository;
    this.#logger = options.logger.child({ component: 'webhooks' });
    this.#retryBaseMs = options.retryBaseMs ?? 1000;
    this.#retryMaxMs = options.retryMaxMs ?? 300_000;
    this.#maxAgeMs = options.maxAgeMs ?? 86_400_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    for (const url of this.#repository.pendingUrls()) this.#drain(url);
  }

  /** Queues a JSON POST of `body` to `url`. */
  send(url: string, body: unknown): void {
    if (this.#closing.signal.aborted) return;
    this.#repository.add(url, JSON.stringify(body), Date.now());
    this.#drain(url);
  }

  /** Stops sending; what is not delivered yet stays stored. Idempotent. */
  close(): void {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    for (const state of this.#draining.values()) {
      clearTimeout(state.timer);
      state.wake?.();
    }
    this.#draining.clear();
  }

  #drain(url: string): void {
    if (this.#draining.has(url)) return;
    const state: { wake: (() => void) | null; timer: NodeJS.Timeout | undefined } = {
      wake: null,
      timer: undefined,
    };
    this.#draining.set(url, state);
    void (async () => {
      for (;;) {
        if (this.#closed()) return;
        const delivery = this.#repository.next(url);
        if (!delivery) break;
        if (Date.now() - delivery.createdAt > this.#maxAgeMs) {
          this.#logger.warn(
            { url, attempts: delivery.attempts },
            'callback given up: undelivered for too long',
          );
          this.#repository.delete(delivery.deliveryId);
          continue;
        }
        const failure = await this.#post(url, delivery.body);
        if (this.#closed()) return;
        if (failure === null) {
          this.#repository.delete(delivery.deliveryId);
          continue;
        }
        this.#repository.failed(delivery.deliveryId);
        const delayMs = Math.min(this.#retryBaseMs * 2 ** delivery.attempts, this.#retryMaxMs);
        this.#logger.info(
          { url, attempt: delivery.attempts + 1, delayMs, failure },
          'callback failed; will retry',
        );
        await new Promise<void>((resolve) => {
          state.wake = resolve;
          state.timer = setTimeout(resolve, delayMs);
        });
        state.wake = null;
      }
      this.#draining.delete(url);
    })();
  }

  #closed(): boolean {
    return this.#closing.signal.aborted;
  }

  /** POSTs once; resolves to null when delivered, else to what went wrong. */
  async #post(url: string, body: string): Promise<string | null> {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'Parlor' },
        body,
        signal: AbortSignal.any([this.#closing.signal, AbortSignal.timeout(this.#timeoutMs)]),
      });
      await response.arrayBuffer();
      return response.ok ? null : `HTTP ${response.status}`;
    } catch (error) {
      return (error as Error).message;
    }
  }
}
