/** An event map: each event's name and the arguments its listeners receive. */
export type EventMap<T> = { [K in keyof T]: unknown[] };

type Listener = ((...args: unknown[]) => void) & { readonly listener?: Listener };

/**
 * An event emitter typed by one map `{ event: [args] }`. `safeEmit` calls every listener even
 * when one throws, and hands the exception to `onListenerError`, so application code can never
 * break the core that emits.
 *
 * Each event's listeners are an array replaced, never changed, when one is added or removed: an
 * emit (per packet, on the media path) reads it without the copy node:events' `rawListeners`
 * makes, and a listener removed during an emit is still called by it, as with node:events.
 */
export class TypedEmitter<Events extends EventMap<Events>> {
  readonly #listeners = new Map<string, readonly Listener[]>();
  readonly #onListenerError: (event: string, error: unknown) => void;

  /** `onListenerError` defaults to ignoring the exception. */
  constructor(onListenerError: (event: string, error: unknown) => void = () => undefined) {
    this.#onListenerError = onListenerError;
  }

  on<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener as Listener]);
    this.listenersChanged(event);
    return this;
  }

  once<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    const once: Listener = Object.assign(
      (...args: unknown[]) => {
        this.#remove(event, once);
        (listener as Listener).apply(this, args);
      },
      { listener: listener as Listener },
    );
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), once]);
    this.listenersChanged(event);
    return this;
  }

  /** Removes the listener (the one added last, if added more than once), `once` or not. */
  off<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    const listeners = this.#listeners.get(event) ?? [];
    for (let i = listeners.length - 1; i >= 0; i--) {
      const candidate = listeners[i] as Listener;
      if (candidate === listener || candidate.listener === listener) {
        this.#remove(event, candidate);
        break;
      }
    }
    return this;
  }

  listenerCount(event: keyof Events & string): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /** Called after a listener of `event` was added or removed. */
  protected listenersChanged(_event: string): void {
    // Nothing by default: a subclass overrides it to follow its listeners.
  }

  /** Calls each listener of the event in turn; returns whether there were any. */
  safeEmit<K extends keyof Events & string>(event: K, ...args: Events[K]): boolean {
    const listeners = this.#listeners.get(event);
    if (!listeners) return false;
    for (const listener of listeners) {
      try {
        listener.apply(this, args);
      } catch (error) {
        this.#onListenerError(event, error);
      }
    }
    return true;
  }

  #remove(event: string, listener: Listener): void {
    const listeners = this.#listeners.get(event) ?? [];
    const index = listeners.lastIndexOf(listener);
    if (index < 0) return;
    if (listeners.length === 1) this.#listeners.delete(event);
    else this.#listeners.set(event, [...listeners.slice(0, index), ...listeners.slice(index + 1)]);
    this.listenersChanged(event);
  }
}
