/** Base class of every error the SDK reports. */
export class OpenTokError extends Error {
  override readonly name: string = 'OpenTokError';
}

/** An argument was invalid; nothing was sent. */
export class ArgumentError extends OpenTokError {
  override readonly name = 'ArgumentError';
}

/** The server did not answer as expected: a network failure, a timeout or an error status. */
export class RequestError extends OpenTokError {
  override readonly name: string = 'RequestError';
  /** HTTP status of the answer; undefined when none came. */
  readonly status: number | undefined;

  constructor(message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/** The server refused the credentials (HTTP 403 or 401). */
export class AuthError extends RequestError {
  override readonly name = 'AuthError';
}

/** The session, stream or connection does not exist (HTTP 404). */
export class NotFoundError extends RequestError {
  override readonly name = 'NotFoundError';
}

/** The archive is not in a state that allows the operation (HTTP 409), or not in manual stream mode (405). */
export class ArchiveError extends RequestError {
  override readonly name = 'ArchiveError';
}
