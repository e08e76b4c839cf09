import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import formBody from '@fastify/formbody';
import type { ArchiveService } from '../archive/ArchiveService.js';
import type { CredentialLookup } from '../auth/projectLookup.js';
import type { DemoService } from '../demo/DemoService.js';
import type { CallbackService } from '../projects/CallbackService.js';
import type { SessionService } from '../sessions/SessionService.js';
import type { SignalingServer } from '../signaling/SignalingServer.js';
import { ConnectionGuard, type ConnectionGuardOptions } from './ConnectionGuard.js';
import { handleError, handleNotFound } from './errorHandler.js';
import { forwardToOwner, nodeCallAuth, nodeCallBody, type ForwardingOptions } from './ownerForwarding.js';
import { projectInPathAuth } from './projectAuth.js';
import { archiveDownloadRoutes } from './routes/archiveDownload.js';
import { archiveRoutes } from './routes/archives.js';
import { callbackRoutes } from './routes/callbacks.js';
import { clientLoggingRoutes } from './routes/clientLogging.js';
import { connectionRoutes } from './routes/connections.js';
import { consoleRoutes, type ConsoleRouteOptions } from './routes/console.js';
import { clientSdkRoutes } from './routes/clientSdk.js';
import { clusterRoutes, type ClusterRouteOptions } from './routes/cluster.js';
import { connectionInfoRoutes, type ConnectionInfoRouteOptions } from './routes/connectionInfo.js';
import { demoRoutes } from './routes/demo.js';
import { filterAssetRoutes } from './routes/filterAssets.js';
import { healthRoutes } from './routes/health.js';
import { inspectorRoutes, type InspectorRouteOptions } from './routes/inspector.js';
import { homeRoutes } from './routes/home.js';
import { mediaStatsRoutes } from './routes/mediaStats.js';
import { metricsRoutes, type MetricsRouteOptions } from './routes/metrics.js';
import { muteRoutes } from './routes/mute.js';
import { sessionCreateRoutes } from './routes/sessionCreate.js';
import { signalRoutes } from './routes/signals.js';
import { sipRoutes } from './routes/sip.js';
import type { SipService } from '../sip/SipService.js';
import { streamRoutes } from './routes/streams.js';

export interface HttpAppOptions {
  readonly logger: FastifyBaseLogger;
  readonly sessions: SessionService;
  readonly lookup: CredentialLookup;
  /** The WebSocket endpoint, and the live sessions the REST API acts on. */
  readonly signaling: SignalingServer;
  readonly archives: ArchiveService;
  readonly callbacks: CallbackService;
  /** SIP interconnect (dial out); it refuses with 503 when SIP is off. */
  readonly sip: SipService;
  /** The demo served at `/`, or null when it is off (`/` then only says where things are). */
  readonly demo: DemoService | null;
  /** The project console at `/console`, for logged-in operators. */
  readonly console: ConsoleRouteOptions;
  /** Prometheus metrics at `/metrics`, and who may scrape them. */
  readonly metrics: MetricsRouteOptions;
  /** How long clients have to send their requests, and how many connections they may hold. */
  readonly limits: HttpLimits;
  /** Where clients connect to a session: this node, or in a cluster the session's host. */
  readonly connectionInfo: ConnectionInfoRouteOptions;
  /** The operator's view of the cluster, or null for one node on its own. */
  readonly cluster: ClusterRouteOptions | null;
  /**
   * Calls between nodes: REST calls on sessions and archives another node hosts are forwarded
   * there, downloads streamed from there. Null for one node on its own (or without a cluster
   * secret): every call is answered here, and calls from other nodes are refused.
   */
  readonly forwarding: ForwardingOptions | null;
  /** The Inspector's page and data. */
  readonly inspector: InspectorRouteOptions;
}

/** The HTTP server's timeouts and connection caps (see `ConnectionGuard`). */
export interface HttpLimits extends Omit<ConnectionGuardOptions, 'logger'> {
  /** How long a client has to send a request's headers, from its first byte (or from connecting), in ms. */
  readonly headersTimeoutMs: number;
  /**
   * How long a client has to send a whole request, body included, in ms. The answer, such as an
   * archive download, takes as long as it takes; a WebSocket upgrade ends the request.
   */
  readonly requestTimeoutMs: number;
  /** How long a connection stays open without a request after an answer, in ms. */
  readonly keepAliveTimeoutMs: number;
}

/** Parlor's HTTP surface: the REST API of contracts/server-api.md and the health check. */
export async function buildHttpApp(options: HttpAppOptions): Promise<FastifyInstance> {
  const { limits } = options;
  const app = Fastify({
    loggerInstance: options.logger,
    // One log line per lifecycle transition, not per request.
    logController: new LogController({ disableRequestLogging: true }),
    // Session IDs go into paths raw; they are at most 255 characters.
    routerOptions: { maxParamLength: 512 },
    // Fastify's default of 0 would also turn Node's headers timeout off: slow clients would hold
    // their connections for ever.
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node looks for expired requests this often (its default, 30 s, would let them live that
      // much longer): a tenth of the shorter timeout, 100 ms to 1 s.
      connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.round(limits.headersTimeoutMs / 10))),
    },
  });
  const guard = new ConnectionGuard(app.server, { ...limits, logger: options.logger });
  app.addHook('onClose', async () => {
    guard.close();
  });

  app.decorateRequest('apiKey', '');
  app.decorateRequest('forwardedBy', null);
  app.addHook('onRequest', nodeCallAuth(options.forwarding?.forwarding ?? null));
  app.addHook('preHandler', nodeCallBody);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
  // Browser pages of any origin may call the API: it authenticates by header, never by cookie.
  await app.register(cors, { origin: '*' });
  await app.register(formBody);
  app.removeContentTypeParser('application/json');
  // Some SDKs POST `Content-Type: application/json` with no body at all: that means `{}`.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') {
      done(null, {});
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error('Body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });
  // Every JSON answer says exactly `application/json`: Python's SDK compares it to that string.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.getHeader('content-type') === 'application/json; charset=utf-8') {
      reply.header('content-type', 'application/json');
    }
    return payload;
  });

  await app.register(healthRoutes);
  await app.register(metricsRoutes, options.metrics);
  await app.register(clientSdkRoutes);
  await app.register(filterAssetRoutes);
  await app.register(clientLoggingRoutes);
  if (options.demo) await app.register(demoRoutes, { demo: options.demo });
  else await app.register(homeRoutes);
  await app.register(consoleRoutes, options.console);
  await app.register(options.signaling.plugin);
  await app.register(connectionInfoRoutes, options.connectionInfo);
  if (options.cluster) await app.register(clusterRoutes, options.cluster);
  await app.register(sessionCreateRoutes, { sessions: options.sessions, lookup: options.lookup });
  await app.register(inspectorRoutes, options.inspector);
  await app.register(archiveDownloadRoutes, { archives: options.archives, forwarding: options.forwarding });
  await app.register(
    async (project) => {
      project.addHook('onRequest', projectInPathAuth(options.lookup));
      project.addHook('preHandler', forwardToOwner(options.forwarding, options.archives));
      const live = { sessions: options.sessions, rooms: options.signaling.rooms };
      await project.register(streamRoutes, live);
      await project.register(connectionRoutes, live);
      await project.register(signalRoutes, live);
      await project.register(muteRoutes, live);
      await project.register(mediaStatsRoutes, live);
      await project.register(archiveRoutes, { archives: options.archives });
      await project.register(callbackRoutes, { callbacks: options.callbacks });
      await project.register(sipRoutes, { sip: options.sip });
    },
    { prefix: '/v2/project/:apiKey' },
  );
  return app;
}
