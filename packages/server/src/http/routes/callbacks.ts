import type { FastifyInstance } from 'fastify';
import type { CallbackService } from '../../projects/CallbackService.js';
import type { CallbackRecord } from '../../store/CallbackRepository.js';
import { objectBody } from './liveSession.js';

/**
 * The legacy callback registration of opentok-node (server-api.md §7): `POST /callback`
 * `{group, event, url}`, `GET /callback` (a bare array), `DELETE /callback/{id}`; groups and
 * events `archive`/`status` and `session`/`monitoring`. And the secret that signs the project's
 * callbacks: `GET /signature-secret`, `POST /signature-secret` makes a new one (`{signatureSecret}`).
 */
export async function callbackRoutes(
  app: FastifyInstance,
  options: { callbacks: CallbackService },
): Promise<void> {
  const { callbacks } = options;

  app.post('/callback', async (request) => {
    const { group, event, url } = objectBody(request.body);
    return callbackJson(await callbacks.register(request.apiKey, group, event, url));
  });

  app.get('/callback', async (request) => (await callbacks.list(request.apiKey)).map(callbackJson));

  app.delete('/callback/:callbackId', async (request, reply) => {
    const { callbackId } = request.params as { callbackId: string };
    await callbacks.unregister(request.apiKey, callbackId);
    return reply.code(204).send();
  });

  app.get('/signature-secret', async (request) => ({
    signatureSecret: await callbacks.signatureSecret(request.apiKey),
  }));

  app.post('/signature-secret', async (request) => ({
    signatureSecret: await callbacks.rotateSignatureSecret(request.apiKey),
  }));
}

function callbackJson(callback: CallbackRecord): object {
  const { callbackId, group, event, url, createdAt } = callback;
  return { id: callbackId, group, event, url, createdAt };
}
