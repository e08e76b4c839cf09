import { addressKey } from '../addressKey.js';
import { TokenBucket } from '../signaling/TokenBucket.js';

export interface AddressBucketsOptions {
  /** Tokens each address gets back per minute. */
  readonly perMinute: number;
  /** Most tokens an address holds, i.e. its longest burst. */
  readonly burst: number;
  /** Addresses remembered at most; past it the least recently seen is forgotten. Default: 10000. */
  readonly maxAddresses?: number;
  /** Current time in milliseconds. Default: `performance.now()`. */
  readonly clock?: () => number;
}

interface Entry {
  readonly bucket: TokenBucket;
  seenAt: number;
}

/**
 * A token bucket per client address, an IPv6 address counted by its /64 (what one host usually
 * holds). The map is bounded: an address idle long enough for its bucket to be full again is
 * forgotten (it would behave as a new one anyway), and past `maxAddresses` the least recently
 * seen is forgotten.
 */
export class AddressBuckets {
  /** Seconds after which an address that was refused has a token again. */
  readonly retryAfterSeconds: number;
  readonly #options: Required<AddressBucketsOptions>;
  readonly #idleMs: number;
  /** In the order addresses were last seen, oldest first. */
  readonly #entries = new Map<string, Entry>();

  constructor(options: AddressBucketsOptions) {
    this.#options = { maxAddresses: 10_000, clock: () => performance.now(), ...options };
    if (!(options.perMinute > 0)) throw new TypeError('perMinute must be positive');
    this.#idleMs = (options.burst / options.perMinute) * 60_000;
    this.retryAfterSeconds = Math.ceil(60 / options.perMinute);
  }

  /** How many addresses are remembered now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Takes one token of this address's bucket; false when it is empty. */
  take(address: string): boolean {
    const now = this.#options.clock();
    this.#forgetIdle(now);
    const key = addressKey(address);
    let entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key);
    } else {
      const { perMinute, burst, clock } = this.#options;
      entry = {
        bucket: new TokenBucket({ ratePerSecond: perMinute / 60, capacity: burst, clock }),
        seenAt: now,
      };
    }
    entry.seenAt = now;
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#options.maxAddresses) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    return entry.bucket.take();
  }

  #forgetIdle(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (now - entry.seenAt < this.#idleMs) return;
      this.#entries.delete(key);
    }
  }
}
