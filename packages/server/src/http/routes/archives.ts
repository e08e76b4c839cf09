import type { FastifyInstance } from 'fastify';
import type { ArchiveService } from '../../archive/ArchiveService.js';
import {
  parseArchiveSettings,
  parseLayout,
  parseListQuery,
  parseStreamChange,
} from '../../archive/archiveRequests.js';
import { objectBody } from './liveSession.js';

/** Archiving (server-api.md §6): start, stop, get, list, delete, streams, layout. */
export async function archiveRoutes(
  app: FastifyInstance,
  options: { archives: ArchiveService },
): Promise<void> {
  const { archives } = options;

  app.post('/archive', async (request) =>
    archives.start(request.apiKey, parseArchiveSettings(objectBody(request.body))),
  );

  app.get('/archive', async (request) =>
    archives.list(request.apiKey, parseListQuery(request.query as Record<string, unknown>)),
  );

  app.get('/archive/:archiveId', async (request) => {
    const { archiveId } = request.params as { archiveId: string };
    return archives.get(request.apiKey, archiveId);
  });

  app.post('/archive/:archiveId/stop', async (request) => {
    const { archiveId } = request.params as { archiveId: string };
    return archives.stop(request.apiKey, archiveId);
  });

  app.delete('/archive/:archiveId', async (request, reply) => {
    const { archiveId } = request.params as { archiveId: string };
    await archives.delete(request.apiKey, archiveId);
    return reply.code(204).send();
  });

  app.patch('/archive/:archiveId/streams', async (request, reply) => {
    const { archiveId } = request.params as { archiveId: string };
    await archives.changeStreams(request.apiKey, archiveId, parseStreamChange(objectBody(request.body)));
    return reply.code(204).send();
  });

  app.put('/archive/:archiveId/layout', async (request, reply) => {
    const { archiveId } = request.params as { archiveId: string };
    await archives.setLayout(request.apiKey, archiveId, parseLayout(objectBody(request.body)));
    return reply.code(200).send();
  });
}
