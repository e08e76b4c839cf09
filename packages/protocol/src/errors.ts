/**
 * Every error Parlor reports: a stable id, the HTTP status the REST API answers with, and the
 * message. A `ParlorError` may add a detail after the message.
 */
export const errorCatalogue = {
  AUTH_FAILED: { status: 403, message: 'Authentication failed' },
  INVALID_REQUEST: { status: 400, message: 'Invalid request' },
  SESSION_NOT_FOUND: { status: 404, message: 'Session not found' },
  ROUTE_NOT_FOUND: { status: 404, message: 'Not found' },
  TOKEN_REFUSED: { status: 403, message: 'Invalid token' },
  INTERNAL: { status: 500, message: 'Internal server error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorId = keyof typeof errorCatalogue;

/** The one error class of the catalogue; subclasses exist only where callers branch on them. */
export class ParlorError extends Error {
  override readonly name: string = 'ParlorError';
  readonly id: ErrorId;
  /** HTTP status of the REST answer. */
  readonly status: number;

  constructor(id: ErrorId, detail?: string, options?: ErrorOptions) {
    const entry = errorCatalogue[id];
    super(detail ? `${entry.message}: ${detail}` : entry.message, options);
    this.id = id;
    this.status = entry.status;
  }
}
