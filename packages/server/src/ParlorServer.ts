import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ClientTokenVerifier } from './auth/ClientTokenVerifier.js';
import type { CredentialLookup } from './auth/projectLookup.js';
import type { Config } from './config/config.js';
import { buildHttpApp } from './http/app.js';
import { ApplicationService } from './projects/ApplicationService.js';
import { ProjectService } from './projects/ProjectService.js';
import type { Coturn } from './relay/Coturn.js';
import { startRelay } from './relay/startRelay.js';
import { SessionService } from './sessions/SessionService.js';
import type { RoomRegistry } from './signaling/RoomRegistry.js';
import { SignalingServer } from './signaling/SignalingServer.js';
import { DtlsCertificate } from './media/transport/DtlsCertificate.js';
import { MediaWorkerPool } from './media/worker/MediaWorkerPool.js';
import { PrometheusMetrics } from './metrics/PrometheusMetrics.js';
import type { Project } from './store/ProjectRepository.js';
import { Store } from './store/Store.js';

/** File name of the store inside the data directory. */
export const storeFileName = 'parlor.sqlite';

/** A running Parlor: its store, services and listening HTTP server. */
export class ParlorServer {
  /** The URL clients use (the configured public URL). */
  readonly publicUrl: string;
  /** The address the server actually listens on, e.g. `http://127.0.0.1:3000`. */
  readonly listenUrl: string;
  readonly defaultProject: Project;
  readonly projects: ProjectService;
  readonly applications: ApplicationService;
  readonly sessions: SessionService;
  /** Verifies the client tokens that connecting clients present. */
  readonly tokens: ClientTokenVerifier;
  /** The live sessions: one room per session with clients connected. */
  readonly rooms: RoomRegistry;
  readonly #signaling: SignalingServer;
  /** The media worker threads that host routed sessions' routers. */
  readonly mediaWorkers: MediaWorkerPool;
  readonly #store: Store;
  readonly #coturn: Coturn | null;
  readonly #http: FastifyInstance;
  readonly #logger: Logger;
  #closing: Promise<void> | null = null;

  private constructor(parts: {
    config: Config;
    store: Store;
    http: FastifyInstance;
    projects: ProjectService;
    applications: ApplicationService;
    sessions: SessionService;
    tokens: ClientTokenVerifier;
    signaling: SignalingServer;
    coturn: Coturn | null;
    mediaWorkers: MediaWorkerPool;
    defaultProject: Project;
    listenUrl: string;
    logger: Logger;
  }) {
    this.publicUrl = parts.config.publicUrl ?? defaultPublicUrl(parts.config.host, parts.http);
    this.listenUrl = parts.listenUrl;
    this.defaultProject = parts.defaultProject;
    this.projects = parts.projects;
    this.applications = parts.applications;
    this.sessions = parts.sessions;
    this.tokens = parts.tokens;
    this.rooms = parts.signaling.rooms;
    this.#signaling = parts.signaling;
    this.#store = parts.store;
    this.#coturn = parts.coturn;
    this.mediaWorkers = parts.mediaWorkers;
    this.#http = parts.http;
    this.#logger = parts.logger;
  }

  /** Opens the store, makes sure the default project exists and starts listening. */
  static async start(config: Config, logger: Logger): Promise<ParlorServer> {
    const store = Store.open(join(config.dataDir, storeFileName));
    let coturn: Coturn | null = null;
    let mediaWorkers: MediaWorkerPool | null = null;
    try {
      const projects = new ProjectService(store);
      const applications = new ApplicationService(store);
      const sessions = new SessionService(store);
      const defaultProject = projects.ensureDefault(config.defaultProjectCredentials);
      const lookup: CredentialLookup = {
        secretOf: (apiKey) => store.projects.find(apiKey)?.apiSecret,
        publicKeyOf: (applicationId) => store.applications.find(applicationId)?.publicKey,
        projectOfSession: (sessionId) => store.sessions.projectOf(sessionId),
      };
      const tokens = new ClientTokenVerifier({ lookup });
      const relay = await startRelay(config, logger);
      coturn = relay.coturn;
      const certificate = await DtlsCertificate.generate();
      const pool = await MediaWorkerPool.start({
        workers: config.mediaWorkers,
        // The workers' sockets are IPv4; a wildcard IPv6 listen address means every IPv4 one too.
        host: config.host.includes(':') ? '0.0.0.0' : config.host,
        basePort: config.mediaPort,
        tcp: true,
        announcedAddress: config.publicIp,
        certificate,
        logger,
      });
      mediaWorkers = pool;
      const signaling = new SignalingServer({
        sessions,
        tokens,
        logger,
        iceServersFor: (connectionId) => relay.iceServers.forConnection(connectionId),
        reconnectGraceMs: config.reconnectGraceSeconds * 1000,
        messagesPerSecond: config.signalingRate,
        createRouter: () => pool.createRouter(),
      });
      const metrics = new PrometheusMetrics({ rooms: signaling.rooms, mediaWorkers: pool });
      const http = await buildHttpApp({
        logger,
        sessions,
        lookup,
        signaling,
        demoProject: defaultProject,
        metrics: { metrics, token: config.metricsToken },
      });
      const address = await http.listen({ port: config.port, host: config.host });
      const listenUrl = address.replace('://0.0.0.0', '://127.0.0.1').replace('://[::]', '://[::1]');
      const parts = {
        config,
        store,
        http,
        projects,
        applications,
        sessions,
        tokens,
        signaling,
        coturn,
        mediaWorkers: pool,
        defaultProject,
        listenUrl,
        logger,
      };
      const server = new ParlorServer(parts);
      logger.info({ listenUrl, publicUrl: server.publicUrl, dataDir: config.dataDir }, 'parlor started');
      return server;
    } catch (error) {
      await mediaWorkers?.close();
      await coturn?.close();
      store.close();
      throw error;
    }
  }

  /**
   * Closes the rooms and their sockets (clients see a clean close), stops accepting requests,
   * lets those under way finish, then stops the embedded TURN server and closes the store.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        this.#signaling.close();
        await this.mediaWorkers.close();
        await this.#http.close();
      } finally {
        await this.#coturn?.close();
        this.#store.close();
        this.#logger.info('parlor stopped');
      }
    })();
    return this.#closing;
  }
}

/** Where clients reach a server that was given no public URL: the port it really listens on. */
function defaultPublicUrl(host: string, http: FastifyInstance): string {
  const address = http.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const wildcard = host === '0.0.0.0' || host === '::';
  const name = wildcard ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${name}:${port}`;
}
