import type { Logger } from 'pino';
import type { DeliveryHistoryRepository, DeliveryState } from '../store/DeliveryHistoryRepository.js';
import type { Repositories, Store } from '../store/Store.js';
import type { WebhookDelivery, WebhookRepository } from '../store/WebhookRepository.js';
import type { PublicAddressPolicy } from '../nonPublicAddresses.js';
import { signCallback } from './callbackSignature.js';
import { postCallback } from './postCallback.js';

/** A queue being drained: the wait before its next attempt. */
interface DrainState {
  /** Wakes the drain from its wait before a retry; null while it is not waiting. */
  wake: (() => void) | null;
  timer: NodeJS.Timeout | undefined;
}

/** A callback to send. */
export interface Webhook {
  readonly url: string;
  /** Sent as JSON. */
  readonly body: unknown;
  /** The project whose signature secret signs it. */
  readonly apiKey: string;
  /** What it is ordered with: the session it tells of. */
  readonly queue: string;
}

/** A callback with its body as it is sent. */
interface SerializedWebhook extends Omit<Webhook, 'body'> {
  readonly body: string;
}

/** A change made in a transaction, and the callbacks that tell of it. */
export interface ToldChange<T> {
  /** What the change resolves to. */
  readonly result: T;
  readonly webhooks: readonly Webhook[];
}

export interface WebhookSenderOptions {
  /**
   * Where deliveries wait, so that they survive a restart, and whose transactions store a change
   * together with its callbacks (`sendWithChange`).
   */
  readonly store: Pick<Store, 'webhooks' | 'transaction'>;
  /** Where the outcome of each attempt of a project's callbacks is kept for the console. Default: none. */
  readonly history?: DeliveryHistoryRepository;
  readonly logger: Logger;
  /** The secret that signs a project's callbacks (read at each attempt, so a rotation applies at once). */
  readonly signatureSecretOf: (apiKey: string) => Promise<string>;
  /** Delay before the first retry, in ms; it doubles with each failure. Default: 1000. */
  readonly retryBaseMs?: number;
  /** Longest delay between retries, in ms. Default: 300000 (5 minutes). */
  readonly retryMaxMs?: number;
  /** Age past which an undelivered callback is given up, in ms. Default: 86400000 (a day). */
  readonly maxAgeMs?: number;
  /** How long one attempt may take, in ms. Default: 10000. */
  readonly timeoutMs?: number;
  /** Callbacks that may wait at once; more are dropped, counted and logged. Default: 100000. */
  readonly maxQueued?: number;
  /** POSTs under way at once, all queues together; the others wait their turn. Default: 64. */
  readonly maxConcurrent?: number;
  /** The addresses callbacks may go to. Default: any. */
  readonly addresses?: PublicAddressPolicy;
  /**
   * The cluster node this is: it sends only the deliveries in its own queues, until another node
   * takes them over after it left. Default: null, a node on its own (every delivery is its own).
   */
  readonly nodeId?: string | null;
}

/**
 * Delivers callbacks: signed JSON POSTs to the customer's URLs. A callback is stored before
 * anything is sent and `send` returns at once, so the request that caused it never waits. Each
 * URL gets the callbacks of one queue (one session) one at a time, oldest first (a connection's
 * `connectionCreated` before its `connectionDestroyed`, an archive's `started` before its
 * `stopped`); a failure (no answer, or not 2xx) is retried with exponential backoff, holding the
 * later ones of that queue back, for up to `maxAgeMs`, while the other queues go on. Deliveries
 * left at shutdown resume at the next start. A change that is told by callbacks (an archive's
 * status) is stored with them in one transaction (`sendWithChange`): none is seen without them.
 */
export class WebhookSender {
  readonly #repository: WebhookRepository;
  readonly #transaction: Store['transaction'];
  readonly #history: DeliveryHistoryRepository | null;
  readonly #logger: Logger;
  readonly #signatureSecretOf: (apiKey: string) => Promise<string>;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  readonly #maxAgeMs: number;
  readonly #timeoutMs: number;
  readonly #maxQueued: number;
  /** Queues being drained, by URL and queue, and the wait before the next attempt of each. */
  readonly #draining = new Map<string, DrainState>();
  readonly #closing = new AbortController();
  /** The last callback being stored: each is stored after the one before, in the order sent. */
  #adding: Promise<void>;
  /** Callbacks stored and not yet delivered or given up. */
  #queued = 0;
  #dropped = 0;
  readonly #maxConcurrent: number;
  readonly #addresses: PublicAddressPolicy | undefined;
  readonly #nodeId: string | null;
  #posting = 0;
  /** Queues waiting for a POST to end before they send theirs, first come first served. */
  readonly #turns: (() => void)[] = [];

  constructor(options: WebhookSenderOptions) {
    this.#repository = options.store.webhooks;
    this.#transaction = (fn) => options.store.transaction(fn);
    this.#history = options.history ?? null;
    this.#logger = options.logger.child({ component: 'webhooks' });
    this.#signatureSecretOf = options.signatureSecretOf;
    this.#retryBaseMs = options.retryBaseMs ?? 1000;
    this.#addresses = options.addresses;
    this.#retryMaxMs = options.retryMaxMs ?? 300_000;
    this.#maxAgeMs = options.maxAgeMs ?? 86_400_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxQueued = options.maxQueued ?? 100_000;
    this.#maxConcurrent = options.maxConcurrent ?? 64;
    this.#nodeId = options.nodeId ?? null;
    this.#adding = this.#repository.count(this.#nodeId).then(
      (count) => {
        this.#queued = count;
      },
      (error: unknown) => {
        this.#logger.error({ err: error }, 'the callback queue could not be counted');
      },
    );
    this.#repository.pendingQueues(this.#nodeId).then(
      (queues) => {
        for (const { url, queue } of queues) this.#drain(url, queue);
      },
      (error: unknown) => {
        this.#logger.error({ err: error }, 'the callbacks left undelivered could not be read');
      },
    );
  }

  /** Callbacks stored and not yet delivered or given up. */
  get queued(): number {
    return this.#queued;
  }

  /** Callbacks dropped because the queue was full, since the start. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Queues a POST of the callback; rejects when the store cannot take it. */
  send(webhook: Webhook): Promise<void> {
    if (this.#closed()) return Promise.resolve();
    // The body as it is now, whatever becomes of the object while earlier callbacks are stored.
    const serialized = serialize(webhook);
    return this.#inTurn(async () => ({
      result: undefined,
      stored: await this.#add(this.#repository, [serialized]),
    }));
  }

  /**
   * Makes a change and stores the callbacks that tell of it in one transaction: both land or
   * neither (it rejects, and nothing is sent), so that a process that dies after the change
   * leaves its callbacks stored, for its next start or the node that takes over. `change`
   * writes through the transaction's repositories only. It runs in turn with the callbacks sent
   * before it, each queue keeping the order things happened in. A full queue drops the
   * callbacks, never the change. Resolves to the change's result once both are stored; after
   * `close` they are still stored, to be sent at the next start.
   */
  sendWithChange<T>(change: (tx: Repositories) => Promise<ToldChange<T>>): Promise<T> {
    return this.#inTurn(() =>
      this.#transaction(async (tx) => {
        const { result, webhooks } = await change(tx);
        return { result, stored: await this.#add(tx.webhooks, webhooks.map(serialize)) };
      }),
    );
  }

  /** Stores after what was stored before, in the order asked; then counts and sends what it stored. */
  #inTurn<T>(store: () => Promise<{ result: T; stored: readonly SerializedWebhook[] }>): Promise<T> {
    const stored = this.#adding.then(store);
    this.#adding = stored.then(
      () => undefined,
      () => undefined,
    );
    return stored.then(({ result, stored: webhooks }) => {
      this.#queued += webhooks.length;
      if (!this.#closed()) for (const { url, queue } of webhooks) this.#drain(url, queue);
      return result;
    });
  }

  /** Adds the callbacks the queue has room for; drops the others. Resolves to those added. */
  async #add(
    repository: WebhookRepository,
    webhooks: readonly SerializedWebhook[],
  ): Promise<SerializedWebhook[]> {
    const added: SerializedWebhook[] = [];
    for (const webhook of webhooks) {
      const { url, body, apiKey, queue } = webhook;
      if (this.#queued + added.length >= this.#maxQueued) {
        this.#dropped += 1;
        // One line for the first and then every thousandth: a dead receiver must not flood the log.
        if (this.#dropped % 1000 === 1)
          this.#logger.warn(
            { url, queue, dropped: this.#dropped, maxQueued: this.#maxQueued },
            'callback dropped: the callback queue is full',
          );
        continue;
      }
      await repository.add({ url, body, apiKey, queue, createdAt: Date.now(), nodeId: this.#nodeId });
      added.push(webhook);
    }
    return added;
  }

  /**
   * Takes over the deliveries waiting in the queues of a cluster node that left, and sends them
   * in their order (merged by age into this node's queue of the same session); resolves to how
   * many were taken. Only one node takes each delivery.
   */
  async adopt(nodeId: string): Promise<number> {
    if (this.#nodeId === null || this.#closed()) return 0;
    const { queues, count } = await this.#repository.adopt(nodeId, this.#nodeId);
    this.#queued += count;
    for (const { url, queue } of queues) this.#drain(url, queue);
    return count;
  }

  /**
   * Settles once no queue has a callback to send but after a failure (every attempt under way
   * ended, and what followed it sent), or after `timeoutMs`: before the server stops.
   */
  async flush(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const busy = (): boolean => [...this.#draining.values()].some((state) => state.wake === null);
    while (busy() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
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
    for (const turn of this.#turns.splice(0)) turn();
  }

  #drain(url: string, queue: string): void {
    const key = `${queue}\n${url}`;
    if (this.#draining.has(key)) return;
    const state: DrainState = {
      wake: null,
      timer: undefined,
    };
    this.#draining.set(key, state);
    void (async () => {
      /** Store failures in a row: the drain waits as after failed attempts, then reads again. */
      let storeFailures = 0;
      for (;;) {
        if (this.#closed()) return;
        let delivery: WebhookDelivery | undefined;
        try {
          delivery = await this.#repository.next(url, queue, this.#nodeId);
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
            { url, queue, attempts: delivery.attempts },
            'callback given up: undelivered for too long',
          );
          await this.#record(delivery, 'given up', 'undelivered for too long', delivery.attempts);
          await this.#remove(delivery);
          continue;
        }
        const { delivered, result } = await this.#post(delivery);
        if (this.#closed()) return;
        if (delivered) {
          await this.#record(delivery, 'delivered', result, delivery.attempts + 1);
          await this.#remove(delivery);
          continue;
        }
        await this.#record(delivery, 'retrying', result, delivery.attempts + 1);
        await this.#settle(this.#repository.failed(delivery.deliveryId));
        const delayMs = Math.min(this.#retryBaseMs * 2 ** delivery.attempts, this.#retryMaxMs);
        this.#logger.info(
          { url, queue, attempt: delivery.attempts + 1, delayMs, failure: result },
          'callback failed; will retry',
        );
        await this.#wait(state, delayMs);
      }
      this.#draining.delete(key);
    })();
  }

  async #remove(delivery: WebhookDelivery): Promise<void> {
    if (await this.#settle(this.#repository.delete(delivery.deliveryId))) this.#queued -= 1;
  }

  /** Keeps the outcome of a project's delivery for the console (a failure to is only logged). */
  async #record(
    delivery: WebhookDelivery,
    state: DeliveryState,
    result: string,
    attempts: number,
  ): Promise<void> {
    if (!this.#history || delivery.apiKey === null) return;
    const body = JSON.parse(delivery.body) as { event?: unknown; status?: unknown };
    const event = body.event === 'archive' ? `archive ${String(body.status)}` : String(body.event);
    await this.#settle(
      this.#history.record({
        deliveryId: delivery.deliveryId,
        apiKey: delivery.apiKey,
        url: delivery.url,
        event,
        state,
        result,
        attempts,
        updatedAt: Date.now(),
      }),
    );
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
   * A write to the queue that failed is logged (resolving to false): the delivery is then sent
   * again (when deleting it failed) or its attempt not counted.
   */
  async #settle(write: Promise<void>): Promise<boolean> {
    return write.then(
      () => true,
      (error: unknown) => {
        this.#logger.error({ err: error }, 'the callback queue could not be written');
        return false;
      },
    );
  }

  #closed(): boolean {
    return this.#closing.signal.aborted;
  }

  /** POSTs once, signed, when its turn comes; resolves to whether it was delivered, and the status or what went wrong. */
  async #post(delivery: WebhookDelivery): Promise<{ delivered: boolean; result: string }> {
    // A POST that ends hands its slot to the first waiting, which `#posting` still counts.
    if (this.#posting < this.#maxConcurrent) this.#posting += 1;
    else
      await new Promise<void>((resolve) => {
        this.#turns.push(resolve);
      });
    try {
      if (this.#closed()) return { delivered: false, result: 'the sender closed' };
      const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': 'Parlor' };
      // Deliveries queued before callbacks were signed name no project.
      if (delivery.apiKey !== null) {
        const secret = await this.#signatureSecretOf(delivery.apiKey);
        headers.Authorization = signCallback(delivery.body, delivery.apiKey, secret);
      }
      const status = await postCallback({
        url: delivery.url,
        headers,
        body: delivery.body,
        signal: AbortSignal.any([this.#closing.signal, AbortSignal.timeout(this.#timeoutMs)]),
        ...(this.#addresses ? { addresses: this.#addresses } : {}),
      });
      return { delivered: status >= 200 && status < 300, result: `HTTP ${status}` };
    } catch (error) {
      return { delivered: false, result: (error as Error).message };
    } finally {
      const next = this.#turns.shift();
      if (next) next();
      else this.#posting -= 1;
    }
  }
}

function serialize(webhook: Webhook): SerializedWebhook {
  return { ...webhook, body: JSON.stringify(webhook.body) };
}
