import type { Logger } from 'pino';
import type { WebhookSender } from './WebhookSender.js';

export interface OrderedEnqueuerOptions {
  readonly webhooks: WebhookSender;
  readonly logger: Logger;
  /** Callbacks that may wait for their URL to be looked up; more are dropped. Default: 10000. */
  readonly maxWaiting?: number;
}

/** A callback to queue: its body, and how to look up its project's URL for its kind. */
export interface OrderedCallback {
  readonly apiKey: string;
  /** The webhook queue it goes in: callbacks of one session are delivered in order. */
  readonly sessionId: string;
  /** What it is, in log lines. */
  readonly event: string;
  /** Null when the project has none for this kind. */
  readonly url: () => Promise<string | null>;
  readonly body: object;
}

/**
 * Puts callbacks into the webhook queue (stored, retried, signed) in the order they happened:
 * each one's URL is looked up at once, and they are queued in turn. A slow store makes callbacks
 * wait, at most `maxWaiting` of them; later ones are dropped (counted, and logged now and then).
 * Session monitoring and SIP callbacks share one.
 */
export class OrderedEnqueuer {
  readonly #webhooks: WebhookSender;
  readonly #logger: Logger;
  readonly #maxWaiting: number;
  #queueing: Promise<void> = Promise.resolve();
  #waiting = 0;
  #dropped = 0;

  constructor(options: OrderedEnqueuerOptions) {
    this.#webhooks = options.webhooks;
    this.#logger = options.logger.child({ component: 'callbacks' });
    this.#maxWaiting = options.maxWaiting ?? 10_000;
  }

  /** Callbacks dropped because too many waited, since the start. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Settles once every callback so far is stored (or dropped): before the server stops. */
  idle(): Promise<void> {
    return this.#queueing;
  }

  enqueue(callback: OrderedCallback): void {
    const { apiKey, sessionId, event, body } = callback;
    if (this.#waiting >= this.#maxWaiting) {
      this.#dropped += 1;
      if (this.#dropped % 1000 === 1)
        this.#logger.warn(
          { sessionId, event, dropped: this.#dropped },
          'callback dropped: too many wait to be queued',
        );
      return;
    }
    this.#waiting += 1;
    const lookup = callback.url();
    lookup.catch(() => undefined);
    this.#queueing = this.#queueing.then(async () => {
      try {
        const url = await lookup;
        if (url !== null) await this.#webhooks.send({ url, body, apiKey, queue: sessionId });
      } catch (error) {
        this.#logger.error({ err: error, sessionId, event }, 'a callback could not be queued');
      } finally {
        this.#waiting -= 1;
      }
    });
  }
}
