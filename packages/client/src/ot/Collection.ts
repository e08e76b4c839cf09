/** What `find` and `where` match: a predicate, or fields every match has (`{ id: 'OT_…' }`). */
export type CollectionFilter<T> = ((item: T) => boolean) | Partial<T>;

/**
 * OpenTok.js's `OT.publishers` and `OT.subscribers`: the live objects of the page, oldest first.
 * `length()` is a method, as in OpenTok.js; the collection is iterable too.
 */
export class Collection<T extends { readonly id: string }> {
  readonly #items = new Map<string, T>();

  /** How many there are. */
  length(): number {
    return this.#items.size;
  }

  /** The one with this ID. */
  get(id: string): T | undefined {
    return this.#items.get(id);
  }

  has(id: string): boolean {
    return this.#items.has(id);
  }

  /** The first that matches; the first of all without a filter. The predicate's `this` is `context`. */
  find(filter?: CollectionFilter<T>, context?: unknown): T | undefined {
    return this.where(filter, context)[0];
  }

  /** All that match; all without a filter. */
  where(filter?: CollectionFilter<T>, context?: unknown): T[] {
    const items = [...this.#items.values()];
    if (filter === undefined) return items;
    if (typeof filter === 'function') return items.filter((item) => filter.call(context, item));
    const fields = Object.entries(filter);
    return items.filter((item) => fields.every(([key, value]) => item[key as keyof T] === value));
  }

  forEach(callback: (item: T, index: number) => void, context?: unknown): void {
    this.where().forEach((item, index) => {
      callback.call(context, item, index);
    });
  }

  [Symbol.iterator](): Iterator<T> {
    return this.where()[Symbol.iterator]();
  }

  /** @internal */
  _add(item: T): void {
    this.#items.set(item.id, item);
  }

  /** @internal */
  _remove(item: T): void {
    this.#items.delete(item.id);
  }
}
