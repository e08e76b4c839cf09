/** How many DTLS handshakes one media worker runs at once and starts per second, and how many wait. */
export interface HandshakeLimits {
  /** Handshakes under way at once. Default: 8. */
  readonly maxConcurrent: number;
  /**
   * Handshakes started per second, on average (a burst of up to `maxConcurrent` may start at
   * once). Default: 200, a fifth of a core at about 1 ms of CPU each.
   */
  readonly perSecond: number;
  /** Handshakes waiting for one of those; more are refused. Default: 256. */
  readonly maxQueued: number;
  /** The longest wait before a handshake starts; longer ones are refused, ms. Default: 10,000. */
  readonly queueTimeoutMs: number;
  /** The longest a started handshake keeps its place; a peer that stalls longer is refused, ms. Default: 10,000. */
  readonly holdTimeoutMs: number;
}

export const defaultHandshakeLimits: HandshakeLimits = Object.freeze({
  maxConcurrent: 8,
  perSecond: 200,
  maxQueued: 256,
  queueTimeoutMs: 10_000,
  holdTimeoutMs: 10_000,
});

interface Waiter {
  readonly granted: () => void;
  readonly refused: () => void;
  timer: NodeJS.Timeout | null;
}

/**
 * Bounds the DTLS handshakes of one media worker. A handshake's key exchange and signatures cost
 * the worker's loop milliseconds per flight; a burst of hundreds of joins running them all at
 * once held datagrams, and with them established peers' consent checks, for seconds. Through
 * this, at most `maxConcurrent` run at once, at most `perSecond` start per second (a token
 * bucket `maxConcurrent` deep), and the rest wait their turn, in order, with bounds.
 */
export class HandshakeLimiter {
  readonly #limits: HandshakeLimits;
  readonly #running = new Set<Waiter>();
  readonly #queue: Waiter[] = [];
  #tokens: number;
  #refilledAt = performance.now();
  /** Wakes the queue when the next token is due while a turn is free. */
  #refillTimer: NodeJS.Timeout | null = null;

  constructor(limits: HandshakeLimits = defaultHandshakeLimits) {
    this.#limits = limits;
    this.#tokens = limits.maxConcurrent;
  }

  /** Handshakes under way, and waiting. */
  get counts(): { readonly running: number; readonly queued: number } {
    return { running: this.#running.size, queued: this.#queue.length };
  }

  /**
   * Asks for a turn: `granted` is called now or once one is free; `refused` when the queue is
   * full, the wait too long, or the handshake outlasts its time. Returns the function that gives
   * the turn back (or leaves the queue), idempotent; neither callback is called after it.
   */
  request(granted: () => void, refused: () => void): () => void {
    const waiter: Waiter = { granted, refused, timer: null };
    const release = (): void => {
      if (waiter.timer) clearTimeout(waiter.timer);
      waiter.timer = null;
      const queued = this.#queue.indexOf(waiter);
      if (queued >= 0) this.#queue.splice(queued, 1);
      if (this.#running.delete(waiter)) this.#next();
    };
    if (this.#queue.length === 0 && this.#running.size < this.#limits.maxConcurrent && this.#takeToken()) {
      this.#start(waiter);
    } else if (this.#queue.length >= this.#limits.maxQueued) {
      refused();
    } else {
      this.#queue.push(waiter);
      waiter.timer = setTimeout(() => {
        release();
        refused();
      }, this.#limits.queueTimeoutMs);
      this.#next();
    }
    return release;
  }

  #start(waiter: Waiter): void {
    if (waiter.timer) clearTimeout(waiter.timer);
    this.#running.add(waiter);
    waiter.timer = setTimeout(() => {
      waiter.timer = null;
      this.#running.delete(waiter);
      waiter.refused();
      this.#next();
    }, this.#limits.holdTimeoutMs);
    waiter.granted();
  }

  #next(): void {
    while (this.#queue.length > 0 && this.#running.size < this.#limits.maxConcurrent) {
      if (!this.#takeToken()) {
        this.#refillTimer ??= setTimeout(
          () => {
            this.#refillTimer = null;
            this.#next();
          },
          Math.ceil((1 - this.#tokens) * (1000 / this.#limits.perSecond)),
        );
        this.#refillTimer.unref();
        return;
      }
      const waiter = this.#queue.shift();
      if (waiter) this.#start(waiter);
    }
  }

  #takeToken(): boolean {
    const now = performance.now();
    const { maxConcurrent, perSecond } = this.#limits;
    this.#tokens = Math.min(maxConcurrent, this.#tokens + ((now - this.#refilledAt) * perSecond) / 1000);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }
}
