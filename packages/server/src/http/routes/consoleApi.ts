import type { FastifyInstance } from 'fastify';
import { ArgumentError, OpenTok } from '@parlor/server-sdk';
import { ParlorError } from '@parlor/protocol';
import type { ArchiveService } from '../../archive/ArchiveService.js';
import type { LiveSessions } from '../../console/LiveSessions.js';
import { recentCount, recentSessions, sessionSummary } from '../../console/recentSessions.js';
import {
  callbackKindsByName,
  isCallbackKindName,
  sendTestCallback,
  type CallbackKindName,
} from '../../console/testCallback.js';
import type { InspectorService } from '../../inspector/InspectorService.js';
import type { ApplicationService } from '../../projects/ApplicationService.js';
import type { CallbackService } from '../../projects/CallbackService.js';
import type { ProjectService } from '../../projects/ProjectService.js';
import { parseSessionSettings } from '../../sessions/sessionSettings.js';
import type { SessionService } from '../../sessions/SessionService.js';
import type { DeliveryHistoryRepository } from '../../store/DeliveryHistoryRepository.js';
import type { Project } from '../../store/ProjectRepository.js';
import type { WebhookSender } from '../../webhooks/WebhookSender.js';
import { timelineQuery } from './inspector.js';
import { objectBody } from './liveSession.js';

/** What the console's API acts on. */
export interface ConsoleApiOptions {
  readonly projects: ProjectService;
  readonly applications: ApplicationService;
  readonly sessions: SessionService;
  /** The sessions live on this node or, in a cluster, on any. */
  readonly live: LiveSessions;
  readonly archives: ArchiveService;
  /** Deletes an archive where its file is kept (in a cluster, the node that recorded it). */
  readonly deleteArchive: (apiKey: string, archiveId: string) => Promise<void>;
  readonly callbacks: CallbackService;
  readonly deliveries: DeliveryHistoryRepository;
  readonly webhooks: WebhookSender;
  /** The Inspector's data, which the `/inspector` page reads with the console's login too. */
  readonly inspector: InspectorService;
}

/**
 * The console's API under `/console/api` (its guard checks the login and CSRF token first):
 * projects and applications, a test session and token, recent sessions and archives, and the
 * callback URLs with their last deliveries. The same operations as REST (`/v2/project/…`) and
 * the CLI where they exist; what only an operator may do (suspend, rotate) is here and in the CLI.
 */
export async function consoleApiRoutes(app: FastifyInstance, options: ConsoleApiOptions): Promise<void> {
  const { projects, sessions, archives, callbacks } = options;
  const projectOf = async (params: unknown): Promise<Project> =>
    projects.get((params as { apiKey: string }).apiKey);

  app.get('/projects', async () => (await projects.list()).map(projectJson));

  app.post('/projects', async (request) => {
    const { name } = objectBody(request.body);
    return projectJson(await projects.create(nameOf(name)));
  });

  app.patch('/projects/:apiKey', async (request) => {
    const { apiKey } = await projectOf(request.params);
    const { name, suspended } = objectBody(request.body);
    if (suspended !== undefined && typeof suspended !== 'boolean')
      throw new ParlorError('INVALID_REQUEST', 'suspended must be true or false');
    if (name !== undefined) await projects.rename(apiKey, nameOf(name));
    if (suspended !== undefined) {
      await projects.setSuspended(apiKey, suspended);
      if (suspended) await options.live.disconnectProject(apiKey);
    }
    return projectJson(await projects.get(apiKey));
  });

  app.post('/projects/:apiKey/secret', async (request) => ({
    apiSecret: (await projectOf(request.params)).apiSecret,
  }));

  app.post('/projects/:apiKey/secret/rotate', async (request) => ({
    apiSecret: await projects.rotateSecret((await projectOf(request.params)).apiKey),
  }));

  app.get('/projects/:apiKey/inspector/sessions', async (request) => {
    const items = await options.inspector.recentSessions(
      (await projectOf(request.params)).apiKey,
      recentCount,
    );
    return { count: items.length, items };
  });

  app.get(
    '/projects/:apiKey/sessions/:sessionId/inspector',
    { schema: { querystring: timelineQuery.schema } },
    async (request) => {
      const { apiKey } = await projectOf(request.params);
      const { sessionId } = request.params as { sessionId: string };
      const timeline = await options.inspector.timeline(apiKey, sessionId, timelineQuery.view(request.query));
      if (!timeline)
        throw new ParlorError('SESSION_NOT_FOUND', 'the Inspector has no records of this session');
      return timeline;
    },
  );

  app.get('/applications', async () =>
    (await options.applications.list()).map(({ applicationId, name, createdAt }) => ({
      applicationId,
      name,
      createdAt,
    })),
  );

  // The private key is in this answer only: Parlor keeps the public key.
  app.post('/applications', async (request) => {
    const { name } = objectBody(request.body);
    const { application, privateKey } = await options.applications.create(nameOf(name));
    return { applicationId: application.applicationId, name: application.name, privateKey };
  });

  app.post('/projects/:apiKey/sessions', async (request) => {
    const { apiKey } = await projectOf(request.params);
    const { mediaMode, archiveMode, location } = objectBody(request.body);
    if (mediaMode !== 'routed' && mediaMode !== 'relayed')
      throw new ParlorError('INVALID_REQUEST', 'mediaMode must be "routed" or "relayed"');
    const settings = parseSessionSettings({
      'p2p.preference': mediaMode === 'relayed' ? 'enabled' : 'disabled',
      archiveMode,
      location,
    });
    const session = await sessions.create(apiKey, settings);
    return sessionSummary(session, null);
  });

  app.post('/projects/:apiKey/tokens', async (request) => {
    const project = await projectOf(request.params);
    const { sessionId, role, data, expireTime } = objectBody(request.body);
    if (typeof sessionId !== 'string') throw new ParlorError('INVALID_REQUEST', 'sessionId must be a string');
    if (data !== undefined && typeof data !== 'string')
      throw new ParlorError('INVALID_REQUEST', 'data must be a string');
    await sessions.get(project.apiKey, sessionId);
    try {
      const token = new OpenTok(project.apiKey, project.apiSecret).generateToken(sessionId, {
        ...(role === undefined ? {} : { role: role as 'publisher' }),
        ...(typeof data === 'string' && data !== '' ? { data } : {}),
        ...(expireTime === undefined ? {} : { expireTime: Number(expireTime) }),
      });
      return { token };
    } catch (error) {
      if (error instanceof ArgumentError) throw new ParlorError('INVALID_REQUEST', error.message);
      throw error;
    }
  });

  app.get('/projects/:apiKey/sessions', async (request) =>
    recentSessions(sessions, options.live, (await projectOf(request.params)).apiKey),
  );

  app.get('/projects/:apiKey/archives', async (request) => {
    const { apiKey } = await projectOf(request.params);
    return (await archives.list(apiKey, { offset: 0, count: recentCount })).items;
  });

  app.delete('/projects/:apiKey/archives/:archiveId', async (request, reply) => {
    const { apiKey } = await projectOf(request.params);
    await options.deleteArchive(apiKey, (request.params as { archiveId: string }).archiveId);
    return reply.code(204).send();
  });

  app.get('/projects/:apiKey/callbacks', async (request) => {
    const { apiKey } = await projectOf(request.params);
    const urls: Record<string, string | null> = {};
    for (const [name, kind] of Object.entries(callbackKindsByName))
      urls[name] = await callbacks.urlFor(apiKey, kind);
    return { urls, deliveries: await options.deliveries.list(apiKey) };
  });

  app.put('/projects/:apiKey/callbacks/:kind', async (request) => {
    const { apiKey } = await projectOf(request.params);
    const kind = callbackKindsByName[kindNameOf(request.params)];
    const { url } = objectBody(request.body);
    if (typeof url !== 'string' && url !== null)
      throw new ParlorError('INVALID_REQUEST', 'url must be a string or null');
    await callbacks.setUrl(apiKey, kind, url === '' ? null : url);
    return { url: await callbacks.urlFor(apiKey, kind) };
  });

  // A test event, queued and signed like the real ones: its delivery shows in the history.
  app.post('/projects/:apiKey/callbacks/:kind/test', async (request, reply) => {
    const { apiKey } = await projectOf(request.params);
    const kind = kindNameOf(request.params);
    await sendTestCallback({ callbacks, webhooks: options.webhooks, apiKey, kind });
    return reply.code(202).send({ queued: true });
  });
}

function projectJson(project: Project): object {
  const { apiKey, name, isDefault, suspended, createdAt } = project;
  return { apiKey, name, isDefault, suspended, createdAt };
}

function nameOf(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 200)
    throw new ParlorError('INVALID_REQUEST', 'name must be 1 to 200 characters');
  return name.trim();
}

function kindNameOf(params: unknown): CallbackKindName {
  const { kind } = params as { kind: string };
  if (!isCallbackKindName(kind))
    throw new ParlorError(
      'INVALID_REQUEST',
      `callbacks are of kind ${Object.keys(callbackKindsByName).join(', ')}`,
    );
  return kind;
}
