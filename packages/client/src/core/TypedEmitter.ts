/** An event map: each event's name and the arguments its listeners receive. */
export type EventMap<T> = { [K in keyof T]: unknown[] };

// Stored untyped: each event's listeners are typed where they are added and called.
type Listener = (...args: unknown[]) => void;

/**
 * An event emitter typed by one map `{ event: [args] }`. `safeEmit` calls every listener even
 * when one throws and hands the exception to `onListenerError`, so application code can never
 * break the engine that emits.
 */
export class TypedEmitter<Events extends EventMap<Events>> {
  readonly #listeners = new Map<keyof Events, Listener[]>();
  readonly #onListenerError: (event: string, error: unknown) => void;

  /** `onListenerError` defaults to ignoring the exception. */
  constructor(onListenerError: (event: string, error: unknown) => void = () => undefined) {
    this.#onListenerError = onListenerError;
  }

  on<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener as Listener]);
    return this;
  }

  once<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    const wrapper = (...args: Events[K]): void => {
      this.off(event, wrapper);
      listener(...args);
    };
    return this.on(event, wrapper);
  }

  off<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    const remaining = (this.#listeners.get(event) ?? []).filter((entry) => entry !== (listener as Listener));
    if (remaining.length > 0) this.#listeners.set(event, remaining);
    else this.#listeners.delete(event);
    return this;
  }

  /** Calls each listener of the event in turn; returns whether there were any. */
  protected safeEmit<K extends keyof Events & string>(event: K, ...args: Events[K]): boolean {
    // A copy: listeners may add or remove listeners while the event is dispatched.
    const listeners = [...(this.#listeners.get(event) ?? [])];
    for (const listener of listeners) {
      try {
        listener(...args);
      } catch (error) {
        this.#onListenerError(event, error);
      }
    }
    return listeners.length > 0;
  }
}
