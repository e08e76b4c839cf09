/** A method was called on an object in a state that does not allow it, e.g. after `close()`. */
export class InvalidStateError extends Error {
  override readonly name = 'InvalidStateError';
}
