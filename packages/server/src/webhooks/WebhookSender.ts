import type { Logger } from 'pino';
import type { WebhookDelivery, WebhookRepository } from '../store/WebhookRepository.js';

/** A URL being drained: the wait before its next attempt. */
interface DrainState {
  wake: (() => void) | null;
  timer: NodeJS.Timeout | undefined;
}

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
  readonly #draining = new Map<string, DrainState>();
  readonly #closing = new AbortController();
  /** The last callback being stored: each is stored after the one before, in the order sent. */
  #adding: Promise<void> = Promise.resolve();

  constructor(options: WebhookSenderOptions) {
    this.#repository = options.repository;
    this.#logger = options.logger.child({ component: 'webhooks' });
    this.#retryBaseMs = options.retryBaseMs ?? 1000;
    this.#retryMaxMs = options.retryMaxMs ?? 300_000;
    this.#maxAgeMs = options.maxAgeMs ?? 86_400_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#repository.pendingUrls().then(
      (urls) => {
        for (const url of urls) this.#drain(url);
      },
      (error: unknown) => {
        this.#logger.error({ err: error }, 'the callbacks left undelivered could not be read');
      },
    );
  }

  /** Queues a JSON POST of `body` to `url`; rejects when the store cannot take it. */
  send(url: string, body: unknown): Promise<void> {
    if (this.#closing.signal.aborted) return Promise.resolve();
    const text = JSON.stringify(body);
    const createdAt = Date.now();
    const added = this.#adding.then(() => this.#repository.add(url, text, createdAt));
    this.#adding = added.catch(() => undefined);
    return added.then(() => {
      this.#drain(url);
    });
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
    const state: DrainState = {
      wake: null,
      timer: undefined,
    };
    this.#draining.set(url, state);
    void (async () => {
      /** Store failures in a row: the drain waits as after failed attempts, then reads again. */
      let storeFailures = 0;
      for (;;) {
        if (this.#closed()) return;
        let delivery: WebhookDelivery | undefined;
        try {
          delivery = await this.#repository.next(url);
        } catch (error) {
          const delayMs = Math.min(this.#retryBaseMs * 2 ** storeFailures++, this.#retryMaxMs);
          this.#logger.error({ err: error, url, delayMs }, 'the callback queue could not be read');
          await this.#wait(state, delayMs);
          continue;
        }
        storeFailures = 0;
        if (!delivery) break;
        if (Date.now() - delivery.createdAt > this.#maxAgeMs) {
          this.#logger.warn(
            { url, attempts: delivery.attempts },
            'callback given up: undelivered for too long',
          );
          await this.#settle(this.#repository.delete(delivery.deliveryId));
          continue;
        }
        const failure = await this.#post(url, delivery.body);
        if (this.#closed()) return;
        if (failure === null) {
          await this.#settle(this.#repository.delete(delivery.deliveryId));
          continue;
        }
        await this.#settle(this.#repository.failed(delivery.deliveryId));
        const delayMs = Math.min(this.#retryBaseMs * 2 ** delivery.attempts, this.#retryMaxMs);
        this.#logger.info(
          { url, attempt: delivery.attempts + 1, delayMs, failure },
          'callback failed; will retry',
        );
        await this.#wait(state, delayMs);
      }
      this.#draining.delete(url);
    })();
  }

  /** Waits `delayMs`, or less when the sender closes. */
  async #wait(state: DrainState, delayMs: number): Promise<void> {
    await new Promise<void>((resolve) => {
      state.wake = resolve;
      state.timer = setTimeout(resolve, delayMs);
    });
    state.wake = null;
  }

  /**
   * A write to the queue that failed is logged: the delivery is then sent again (when deleting it
   * failed) or its attempt not counted.
   */
  async #settle(write: Promise<void>): Promise<void> {
    await write.catch((error: unknown) => {
      this.#logger.error({ err: error }, 'the callback queue could not be written');
    });
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
