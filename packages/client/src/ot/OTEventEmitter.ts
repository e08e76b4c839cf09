import type { Logger } from '../core/Logger.js';
import type { OTEvent } from './OTEvent.js';

/**
 * A handler, called with the context given to `on` as `this` (the emitter when none); a handler
 * may declare the type of its context.
 */
export type EventHandler<E> = (this: never, event: E) => void;

/** `{ eventType: handler }`, the object form of `on`, `once` and `off`. */
export type EventHandlers<Events> = { [K in keyof Events]?: EventHandler<Events[K]> };

interface Registration {
  readonly handler: EventHandler<never>;
  readonly context: unknown;
  readonly once: boolean;
}

/**
 * OpenTok.js's event dispatcher: `on`, `once` and `off` with a type (or several, separated by
 * spaces) or an object of handlers, and an optional context; each returns the emitter so that
 * calls chain. Typed by one map `{ eventType: EventObject }` per class.
 */
export class OTEventEmitter<Events extends { [K in keyof Events]: OTEvent }> {
  readonly #registrations = new Map<string, Registration[]>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  on<K extends keyof Events & string>(type: K, handler: EventHandler<Events[K]>, context?: unknown): this;
  on(handlers: EventHandlers<Events>, context?: unknown): this;
  on(typeOrHandlers: string | EventHandlers<Events>, handlerOrContext?: unknown, context?: unknown): this {
    this.#register(typeOrHandlers, handlerOrContext, context, false);
    return this;
  }

  once<K extends keyof Events & string>(type: K, handler: EventHandler<Events[K]>, context?: unknown): this;
  once(handlers: EventHandlers<Events>, context?: unknown): this;
  once(typeOrHandlers: string | EventHandlers<Events>, handlerOrContext?: unknown, context?: unknown): this {
    this.#register(typeOrHandlers, handlerOrContext, context, true);
    return this;
  }

  /**
   * Removes handlers: with no argument every handler, with a type every handler of it, with a
   * handler (and context) that one only.
   */
  off<K extends keyof Events & string>(type?: K, handler?: EventHandler<Events[K]>, context?: unknown): this;
  off(handlers: EventHandlers<Events>, context?: unknown): this;
  off(typeOrHandlers?: string | EventHandlers<Events>, handlerOrContext?: unknown, context?: unknown): this {
    if (typeOrHandlers === undefined) {
      const types = [...this.#registrations.keys()];
      this.#registrations.clear();
      for (const type of types) this.listenersChanged(type);
      return this;
    }
    for (const [type, handler, ctx] of this.#entries(typeOrHandlers, handlerOrContext, context)) {
      const remaining =
        handler === undefined
          ? []
          : (this.#registrations.get(type) ?? []).filter(
              (entry) => entry.handler !== handler || (ctx !== undefined && entry.context !== ctx),
            );
      if (remaining.length > 0) this.#registrations.set(type, remaining);
      else this.#registrations.delete(type);
      this.listenersChanged(type);
    }
    return this;
  }

  /** How many handlers the type has. */
  protected listenerCount(type: string): number {
    return this.#registrations.get(type)?.length ?? 0;
  }

  /** Called once handlers of the type were added or removed (`once` handlers as they run). */
  protected listenersChanged(_type: string): void {
    // Emitters whose events cost something to produce start and stop producing them here.
  }

  /**
   * Calls the event's handlers in order, then its default action unless a handler prevented
   * it. A handler that throws is logged and the others still run.
   */
  protected dispatch(event: Events[keyof Events], defaultAction?: () => void): void {
    this.dispatchTo(event.type, event);
    if (defaultAction && !event.isDefaultPrevented()) defaultAction();
  }

  /** Calls the handlers of a type with an event of another (a typed signal's generic `signal` handlers). */
  protected dispatchTo(type: string, event: Events[keyof Events]): void {
    const registrations = this.#registrations.get(type) ?? [];
    if (registrations.some((entry) => entry.once)) {
      this.#registrations.set(
        type,
        registrations.filter((entry) => !entry.once),
      );
      this.listenersChanged(type);
    }
    for (const { handler, context } of registrations) {
      try {
        (handler as (this: unknown, event: OTEvent) => void).call(context ?? this, event);
      } catch (error) {
        this.#logger.error(`a "${type}" event handler threw`, error);
      }
    }
  }

  #register(
    typeOrHandlers: string | EventHandlers<Events>,
    handlerOrContext: unknown,
    context: unknown,
    once: boolean,
  ): void {
    for (const [type, handler, ctx] of this.#entries(typeOrHandlers, handlerOrContext, context)) {
      if (typeof handler !== 'function') throw new TypeError(`the handler of "${type}" must be a function`);
      const registration: Registration = { handler, context: ctx, once };
      this.#registrations.set(type, [...(this.#registrations.get(type) ?? []), registration]);
      this.listenersChanged(type);
    }
  }

  /** The (type, handler, context) triples a call names, from either form. */
  #entries(
    typeOrHandlers: string | EventHandlers<Events>,
    handlerOrContext: unknown,
    context: unknown,
  ): [string, EventHandler<never> | undefined, unknown][] {
    if (typeof typeOrHandlers === 'string') {
      const handler = handlerOrContext as EventHandler<never> | undefined;
      return typeOrHandlers
        .split(/\s+/)
        .filter((type) => type !== '')
        .map((type) => [type, handler, context]);
    }
    return Object.entries(typeOrHandlers).map(([type, handler]) => [
      type,
      handler as EventHandler<never>,
      handlerOrContext,
    ]);
  }
}
