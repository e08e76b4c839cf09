import type { FastifyInstance } from 'fastify';
import { readDialRequest, readDtmfDigits } from '../../sip/dialRequest.js';
import type { SipService } from '../../sip/SipService.js';

/** SIP interconnect (contracts/server-api.md §9.2): dial out, and DTMF into calls. */
export async function sipRoutes(app: FastifyInstance, options: { sip: SipService }): Promise<void> {
  app.post('/dial', async (request) => options.sip.dial(request.apiKey, readDialRequest(request.body)));

  app.post('/session/:sessionId/play-dtmf', async (request, reply) => {
    const { sessionId } = request.params as { sessionId: string };
    await options.sip.playDtmf(request.apiKey, sessionId, null, readDtmfDigits(request.body));
    return reply.code(200).send();
  });

  app.post('/session/:sessionId/connection/:connectionId/play-dtmf', async (request, reply) => {
    const { sessionId, connectionId } = request.params as { sessionId: string; connectionId: string };
    await options.sip.playDtmf(request.apiKey, sessionId, connectionId, readDtmfDigits(request.body));
    return reply.code(200).send();
  });
}
