import type { Callback } from './OpenTok.js';
import { RequestError } from './errors.js';

/**
 * The `opentok` package's calling convention: with a callback, calls it once as
 * `(error, result)` and returns nothing; without one, returns the promise.
 */
export function settle<T>(promise: Promise<T>, callback: Callback<T> | undefined): Promise<T> | undefined {
  if (!callback) return promise;
  promise.then(
    (result) => {
      callback(null, result);
    },
    (error: unknown) => {
      callback(error instanceof Error ? error : new RequestError(String(error)));
    },
  );
  return undefined;
}
