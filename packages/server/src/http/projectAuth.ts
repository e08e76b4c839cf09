import type { FastifyRequest } from 'fastify';
import { ParlorError } from '@parlor/protocol';
import { authenticateRest } from '../auth/restAuth.js';
import type { CredentialLookup } from '../auth/projectLookup.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key of the project the request authenticated as. */
    apiKey: string;
  }
}

/**
 * Authenticates a REST request by its `X-OPENTOK-AUTH` or `Authorization: Bearer` JWT; returns
 * the project's ID (API key or application ID).
 */
export function authenticateProject(request: FastifyRequest, lookup: CredentialLookup): Promise<string> {
  const opentokAuth = request.headers['x-opentok-auth'];
  return authenticateRest(
    {
      opentokAuth: Array.isArray(opentokAuth) ? opentokAuth[0] : opentokAuth,
      authorization: request.headers.authorization,
    },
    lookup,
  );
}

/**
 * An `onRequest` hook for routes under `/v2/project/:apiKey`: the request must authenticate as
 * that very project (a call forwarded by another node, as the project that node authenticated).
 */
export function projectInPathAuth(lookup: CredentialLookup): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    const apiKey = request.forwardedBy?.apiKey ?? (await authenticateProject(request, lookup));
    const { apiKey: pathKey } = request.params as { apiKey: string };
    if (apiKey !== pathKey) {
      throw new ParlorError('AUTH_FAILED', 'the credentials are not those of this project');
    }
    request.apiKey = apiKey;
  };
}
