import type { FastifyInstance } from 'fastify';
import type { CallbackService } from '../../projects/CallbackService.js';
import type { CallbackRecord } from '../../store/CallbackRepository.js';
import { objectBody } from './liveSession.js';

/**
 * The legacy callback registration of opentok-node (server-api.md §7): `POST /callback`
 * `{group, event, url}`, `GET /callback` (a bare array), `DELETE /callback/{id}`.
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
}

function callbackJson(callback: CallbackRecord): object {
  const { callbackId, group, event, url, createdAt } = callback;
  return { id: callbackId, group, event, url, createdAt };
}
