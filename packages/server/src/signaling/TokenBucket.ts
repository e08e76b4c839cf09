export interface TokenBucketOptions {
  /** Tokens added per second. */
  readonly ratePerSecond: number;
  /** Most tokens the bucket holds, i.e. the longest burst. */
  readonly capacity: number;
  /** Current time in milliseconds. Default: `performance.now()`. */
  readonly clock?: () => number;
}

/**
 * A token bucket: `take()` succeeds while tokens remain; they refill continuously. A take may
 * cost more than what is left (a broadcast whose cost is known only as a whole): the bucket then
 * goes into debt, and refuses until the debt is paid back.
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #capacity: number;
  readonly #clock: () => number;
  #tokens: number;
  #updatedAt: number;

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0)) throw new TypeError('ratePerSecond must be positive');
    if (!(options.capacity >= 1)) throw new TypeError('capacity must be at least 1');
    this.#rate = options.ratePerSecond;
    this.#capacity = options.capacity;
    this.#clock = options.clock ?? (() => performance.now());
    this.#tokens = options.capacity;
    this.#updatedAt = this.#clock();
  }

  /** Takes `cost` tokens (default 1) when at least one remains; false, taking none, when not. */
  take(cost = 1): boolean {
    const now = this.#clock();
    this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#updatedAt) / 1000) * this.#rate);
    this.#updatedAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= cost;
    return true;
  }
}
