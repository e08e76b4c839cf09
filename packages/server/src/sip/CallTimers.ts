/**
 * The timers one call part holds, counted honestly: a timeout leaves the count when it fires or
 * is cleared, an interval when it is cleared, so `size` is what is still pending (the gateway's
 * resource accounting reads it).
 */
export class CallTimers {
  readonly #pending = new Set<NodeJS.Timeout>();

  get size(): number {
    return this.#pending.size;
  }

  /** Runs `action` once after `delayMs`, unless cleared first. */
  timeout(action: () => void, delayMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.#pending.delete(timer);
      action();
    }, delayMs);
    this.#pending.add(timer);
    return timer;
  }

  /** Runs `action` every `periodMs` until cleared. */
  interval(action: () => void, periodMs: number): NodeJS.Timeout {
    const timer = setInterval(action, periodMs);
    this.#pending.add(timer);
    return timer;
  }

  /** Clears one timer (or none, for null); idempotent. */
  clear(timer: NodeJS.Timeout | null | undefined): void {
    if (!timer) return;
    clearTimeout(timer);
    this.#pending.delete(timer);
  }

  clearAll(): void {
    for (const timer of this.#pending) clearTimeout(timer);
    this.#pending.clear();
  }
}
