/**
 * An event as OpenTok.js dispatches it: `type`, `target`, and a default action that a
 * cancelable event's listener may prevent.
 */
export class OTEvent<Type extends string = string> {
  readonly type: Type;
  readonly target: unknown;
  readonly cancelable: boolean;
  #defaultPrevented = false;

  constructor(type: Type, target: unknown, cancelable = false) {
    this.type = type;
    this.target = target;
    this.cancelable = cancelable;
  }

  /** Stops the default action of a cancelable event; does nothing on others. */
  preventDefault(): void {
    if (this.cancelable) this.#defaultPrevented = true;
  }

  isDefaultPrevented(): boolean {
    return this.#defaultPrevented;
  }
}

/** An event of a type with its own fields. */
export type EventOf<Type extends string, Fields extends object = object> = OTEvent<Type> & Readonly<Fields>;

/** Makes an event with fields; cancelable when its type has a default action. */
export function createEvent<Type extends string, Fields extends object>(
  type: Type,
  target: unknown,
  fields: Fields,
  cancelable = false,
): EventOf<Type, Fields> {
  return Object.assign(new OTEvent(type, target, cancelable), fields);
}
