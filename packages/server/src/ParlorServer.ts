import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ClientTokenVerifier } from './auth/ClientTokenVerifier.js';
import type { CredentialLookup } from './auth/projectLookup.js';
import type { Config } from './config/config.js';
import { buildHttpApp } from './http/app.js';
import { ApplicationService } from './projects/ApplicationService.js';
import { ProjectService } from './projects/ProjectService.js';
import { SessionService } from './sessions/SessionService.js';
import type { RoomRegistry } from './signaling/RoomRegistry.js';
import { SignalingServer } from './signaling/SignalingServer.js';
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
  readonly #store: Store;
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
    this.#http = parts.http;
    this.#logger = parts.logger;
  }

  /** Opens the store, makes sure the default project exists and starts listening. */
  static async start(config: Config, logger: Logger): Promise<ParlorServer> {
    const store = Store.open(join(config.dataDir, storeFileName));
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
      const signaling = new SignalingServer({
        sessions,
        tokens,
        logger,
        iceServers: config.iceServers,
        reconnectGraceMs: config.reconnectGraceSeconds * 1000,
        messagesPerSecond: config.signalingRate,
      });
      const http = await buildHttpApp({ logger, sessions, lookup, signaling, demoProject: defaultProject });
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
        defaultProject,
        listenUrl,
        logger,
      };
      const server = new ParlorServer(parts);
      logger.info({ listenUrl, publicUrl: server.publicUrl, dataDir: config.dataDir }, 'parlor started');
      return server;
    } catch (error) {
      store.close();
      throw error;
    }
  }

  /**
   * Closes the rooms and their sockets (clients see a clean close), stops accepting requests,
   * lets those under way finish, then closes the store.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        this.#signaling.close();
        await this.#http.close();
      } finally {
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
