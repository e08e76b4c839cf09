import type { Logger } from '../core/Logger.js';
import type { Collection } from './Collection.js';
import type { OTError } from './errors.js';
import type { Publisher } from './Publisher.js';
import type { Subscriber } from './Subscriber.js';

/** What every object of one `OT` namespace shares. */
export interface OTContext {
  readonly logger: Logger;
  /** Base URL of the Parlor server the SDK was loaded from; sessions may name another. */
  readonly apiUrl: string | undefined;
  /** Dispatches OT's `exception` event. */
  readonly reportException: (error: OTError, target: unknown) => void;
  /** `OT.publishers` and `OT.subscribers`: each object adds itself when made, and leaves when destroyed. */
  readonly publishers: Collection<Publisher>;
  readonly subscribers: Collection<Subscriber>;
}

/** A completion handler, OpenTok-style: called with an error, or with nothing on success. */
export type Completion = (error?: OTError) => void;

/** Hands a promise's outcome to an optional completion handler, never throwing. */
export function complete(promise: Promise<unknown>, completion: Completion | undefined): void {
  promise.then(
    () => completion?.(),
    (error: unknown) => completion?.(error as OTError),
  );
}

/** A short random ID for publishers and subscribers, such as `OT_9f3k2l1m0a`. */
export function newId(): string {
  return `OT_${Math.random().toString(36).slice(2, 12)}`;
}
