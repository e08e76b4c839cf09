import { EventEmitter } from 'node:events';

/** An event map: each event's name and the arguments its listeners receive. */
export type EventMap<T> = { [K in keyof T]: unknown[] };

/**
 * An event emitter typed by one map `{ event: [args] }`. `safeEmit` calls every listener even
 * when one throws, and hands the exception to `onListenerError`, so application code can never
 * break the core that emits.
 */
export class TypedEmitter<Events extends EventMap<Events>> {
  readonly #emitter = new EventEmitter();
  readonly #onListenerError: (event: string, error: unknown) => void;

  /** `onListenerError` defaults to ignoring the exception. */
  constructor(onListenerError: (event: string, error: unknown) => void = () => undefined) {
    this.#onListenerError = onListenerError;
    this.#emitter.setMaxListeners(Infinity);
  }

  on<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.#emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.#emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.#emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  listenerCount(event: keyof Events & string): number {
    return this.#emitter.listenerCount(event);
  }

  /** Calls each listener of the event in turn; returns whether there were any. */
  safeEmit<K extends keyof Events & string>(event: K, ...args: Events[K]): boolean {
    const listeners = this.#emitter.rawListeners(event) as ((...args: unknown[]) => void)[];
    for (const listener of listeners) {
      try {
        listener.apply(this, args);
      } catch (error) {
        this.#onListenerError(event, error);
      }
    }
    return listeners.length > 0;
  }
}
