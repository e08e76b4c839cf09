import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ParlorError } from '@parlor/protocol';

/** The OpenTok-shaped error body every SDK reads: `{code, message}`. */
export interface ErrorBody {
  readonly code: number;
  readonly message: string;
}

/**
 * The one place errors become HTTP answers: catalogue errors with their status, Fastify's own
 * client errors (unparsable body, unsupported content type) with theirs, anything else as 500.
 */
export function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof ParlorError) {
    void reply.code(error.status).send(errorBody(error.status, error.message));
    return;
  }
  const status = 'statusCode' in error ? error.statusCode : undefined;
  if (status !== undefined && status >= 400 && status < 500) {
    void reply.code(status).send(errorBody(status, error.message));
    return;
  }
  request.log.error({ err: error }, 'request failed');
  const internal = new ParlorError('INTERNAL');
  void reply.code(internal.status).send(errorBody(internal.status, internal.message));
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply): void {
  const error = new ParlorError('ROUTE_NOT_FOUND', `${request.method} ${request.url.split('?')[0]}`);
  void reply.code(error.status).send(errorBody(error.status, error.message));
}

function errorBody(code: number, message: string): ErrorBody {
  return { code, message };
}
