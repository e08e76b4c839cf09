import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { RecoverRecording } from './archive/ArchiveMedia.js';
import { ArchiveService } from './archive/ArchiveService.js';
import { LocalArchiveStorage } from './archive/ArchiveStorage.js';
import { mediaToolsProblem } from './archive/composition/mediaTools.js';
import { CorruptRecordingError, recoverRecording } from './archive/recording/index.js';
import { DownloadLinks } from './archive/DownloadLinks.js';
import { ClientTokenVerifier } from './auth/ClientTokenVerifier.js';
import type { CredentialLookup } from './auth/projectLookup.js';
import { Cluster } from './cluster/Cluster.js';
import { loadOrCreateNodeId } from './cluster/nodeId.js';
import { clusterKey, OwnerForwarding } from './cluster/OwnerForwarding.js';
import { connectRedis } from './cluster/redis.js';
import { Regions } from './cluster/Regions.js';
import type { Config } from './config/config.js';
import { DemoService } from './demo/DemoService.js';
import { connectionBudget, descriptorLimit, openDescriptors } from './descriptors.js';
import { buildHttpApp, type HttpLimits } from './http/app.js';
import { ApplicationService } from './projects/ApplicationService.js';
import { CallbackService } from './projects/CallbackService.js';
import { ProjectService } from './projects/ProjectService.js';
import type { Coturn } from './relay/Coturn.js';
import { startRelay } from './relay/startRelay.js';
import { SessionService } from './sessions/SessionService.js';
import { RoomArchiveMedia, type RecordStream } from './signaling/RoomArchiveMedia.js';
import type { RoomRegistry } from './signaling/RoomRegistry.js';
import { SignalingServer } from './signaling/SignalingServer.js';
import { DtlsCertificate } from './media/transport/DtlsCertificate.js';
import { MediaWorkerPool } from './media/worker/MediaWorkerPool.js';
import { PrometheusMetrics } from './metrics/PrometheusMetrics.js';
import type { Project } from './store/ProjectRepository.js';
import { Store, type StoreLocation } from './store/Store.js';
import { nativeAddon } from './media/srtp/dataPlane.js';
import { loadOrCreateSecret } from './secretFile.js';
import { SessionMonitor } from './webhooks/SessionMonitor.js';
import { SipService } from './sip/SipService.js';
import { sendSipCallbacks } from './sip/sipCallbacks.js';
import { WebhookSender, type WebhookSenderOptions } from './webhooks/WebhookSender.js';

/** File name of the store inside the data directory. */
export const storeFileName = 'parlor.sqlite';

/** The store the configuration names: its PostgreSQL database, else the SQLite file in the data directory. */
export function storeLocationOf(config: Config, logger?: Logger): StoreLocation {
  return config.databaseUrl === null
    ? { engine: 'sqlite', file: join(config.dataDir, storeFileName) }
    : { engine: 'postgres', url: config.databaseUrl, ...(logger ? { logger } : {}) };
}
/** Folder of the recordings inside the data directory, one subfolder per archive. */
export const recordingsDirName = 'recordings';

/** Parts a test (or, for now, the wiring of the Media Router's recorder) puts in place of the defaults. */
export interface ParlorServerParts {
  /** Records a stream of a routed session. Default: the Media Router's recorder. */
  readonly recordStream?: RecordStream;
  /** Completes a recording cut short by a crash. Default: the router's recorder's own recovery. */
  readonly recoverRecording?: RecoverRecording;
  /** How often unfinished archives nobody finishes are looked for, in ms. Default: 5000. */
  readonly archiveRescanIntervalMs?: number;
  /** How callbacks are retried. Default: from 1 s, doubling, up to 5 min apart, for a day. */
  readonly webhookRetry?: Pick<WebhookSenderOptions, 'retryBaseMs' | 'retryMaxMs' | 'maxAgeMs'>;
  /** Callbacks that may wait to be delivered. Default: 100000. */
  readonly webhookMaxQueued?: number;
}

/** How long a stopping server lets callbacks under way be delivered, in ms. */
const webhookFlushMs = 2000;

/** Streams are recorded by their session's Media Router, in its worker. */
const routerRecording: RecordStream = (room, streamId, options) => room.recordStream(streamId, options);

/** Completes a recording of the router's recorder left by a crash; null when nothing usable reached the disk. */
const recoverRouterRecording: RecoverRecording = async (path) => {
  try {
    const durationMs = await recoverRecording(path);
    return durationMs > 0 ? { path, startedAt: null, durationMs } : null;
  } catch (error) {
    if (error instanceof CorruptRecordingError) return null;
    throw error;
  }
};

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
  readonly archives: ArchiveService;
  /** The projects' callback URLs. */
  readonly callbacks: CallbackService;
  /** The demo's sessions and tokens; its page is served only with `--demo`. */
  readonly demo: DemoService;
  /** SIP interconnect: dials SIP endpoints into routed sessions (off without `--sip-port`). */
  readonly sip: SipService;
  readonly #webhooks: WebhookSender;
  readonly #monitor: SessionMonitor;
  readonly #signaling: SignalingServer;
  /** The media worker threads that host routed sessions' routers. */
  readonly mediaWorkers: MediaWorkerPool;
  /** This node's part in a cluster, or null when it runs on its own. */
  readonly cluster: Cluster | null;
  readonly #store: Store;
  readonly #coturn: Coturn | null;
  readonly #http: FastifyInstance;
  readonly #logger: Logger;
  readonly #drainTimeoutSeconds: number;
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
    archives: ArchiveService;
    callbacks: CallbackService;
    demo: DemoService;
    sip: SipService;
    webhooks: WebhookSender;
    monitor: SessionMonitor;
    coturn: Coturn | null;
    mediaWorkers: MediaWorkerPool;
    cluster: Cluster | null;
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
    this.archives = parts.archives;
    this.callbacks = parts.callbacks;
    this.demo = parts.demo;
    this.sip = parts.sip;
    this.#webhooks = parts.webhooks;
    this.#monitor = parts.monitor;
    this.#signaling = parts.signaling;
    this.#store = parts.store;
    this.#coturn = parts.coturn;
    this.mediaWorkers = parts.mediaWorkers;
    this.cluster = parts.cluster;
    this.#http = parts.http;
    this.#logger = parts.logger;
    this.#drainTimeoutSeconds = parts.config.cluster?.drainTimeoutSeconds ?? 0;
  }

  /**
   * Checks the archive tools, opens the store, makes sure the default project exists and starts
   * listening. Throws when the configured `--ffmpeg` (or the ffprobe beside it) does not run.
   */
  static async start(
    config: Config,
    logger: Logger,
    overrides: ParlorServerParts = {},
  ): Promise<ParlorServer> {
    const ffmpegPath = config.archive.ffmpegPath ?? 'ffmpeg';
    const toolsProblem = await mediaToolsProblem(ffmpegPath);
    if (toolsProblem !== null) {
      if (config.archive.ffmpegPath !== null)
        throw new Error(`--ffmpeg ${ffmpegPath} cannot compose archives: ${toolsProblem}`);
      logger.warn(
        { problem: toolsProblem },
        'archiving is off: ffmpeg and ffprobe are needed on the PATH (or name them with --ffmpeg); starting an archive is refused with 503',
      );
    }
    // The node ID, the archive link key and the recordings live here whatever the store's engine.
    mkdirSync(config.dataDir, { recursive: true });
    const store = await Store.open(storeLocationOf(config, logger));
    let coturn: Coturn | null = null;
    let mediaWorkers: MediaWorkerPool | null = null;
    let webhooks: WebhookSender | null = null;
    let archives: ArchiveService | null = null;
    let demo: DemoService | null = null;
    let cluster: Cluster | null = null;
    let sip: SipService | null = null;
    let publicUrl = config.publicUrl ?? '';
    const clusterSecret = config.cluster?.secret ?? null;
    try {
      const projects = new ProjectService(store);
      const applications = new ApplicationService(store);
      const sessions = new SessionService(store);
      const defaultProject = await projects.ensureDefault(config.defaultProjectCredentials);
      const lookup: CredentialLookup = {
        secretOf: async (apiKey) => (await store.projects.find(apiKey))?.apiSecret,
        publicKeyOf: async (applicationId) => (await store.applications.find(applicationId))?.publicKey,
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
        tcpLimits: config.mediaTcpLimits,
        admission: config.mediaAdmission,
        dataPlane: config.dataPlane,
        announcedAddress: config.publicIp,
        certificate,
        videoFallback: config.audioFallback,
        logger,
      });
      mediaWorkers = pool;
      // Rooms are known once signaling exists; the cluster asks for them only after it starts.
      let rooms: RoomRegistry | null = null;
      cluster = config.cluster && (await startCluster(config, logger, pool, () => rooms));
      const signaling: SignalingServer = new SignalingServer({
        sessions,
        tokens,
        logger,
        iceServersFor: (connectionId, sessionId) =>
          relay.iceServers.forConnection(
            connectionId,
            demo?.turnCredentialLifetimeFor(signaling.rooms.get(sessionId)?.origin),
          ),
        reconnectGraceMs: config.reconnectGraceSeconds * 1000,
        archivesOf: (sessionId) => archives?.runningIn(sessionId) ?? [],
        messagesPerSecond: config.signalingRate,
        sendQueue: { maxBytes: config.signalingLimits.queueBytes },
        connectionLimits: { fanOutBytesPerSecond: config.signalingLimits.fanOutRate },
        maxConnectionsPerToken: config.signalingLimits.connectionsPerToken,
        createRouter: () => pool.createRouter(),
        adaptiveRouting: config.adaptiveRouting ? {} : null,
        ...(cluster ? { admit: cluster.admit.bind(cluster) } : {}),
      });
      rooms = signaling.rooms;
      const callbacks = new CallbackService(store);
      const sender = new WebhookSender({
        repository: store.webhooks,
        logger,
        signatureSecretOf: (apiKey) => callbacks.signatureSecret(apiKey),
        ...overrides.webhookRetry,
        ...(overrides.webhookMaxQueued === undefined ? {} : { maxQueued: overrides.webhookMaxQueued }),
      });
      webhooks = sender;
      const monitor = new SessionMonitor({ rooms: signaling.rooms, callbacks, webhooks: sender, logger });
      archives = new ArchiveService({
        store,
        media: new RoomArchiveMedia(signaling.rooms, overrides.recordStream ?? routerRecording, logger),
        storage: new LocalArchiveStorage(join(config.dataDir, 'archives')),
        workDir: join(config.dataDir, recordingsDirName),
        links: new DownloadLinks({
          // A cluster's nodes share the links' key, so that any node serves any node's link.
          secret: clusterSecret
            ? clusterKey(clusterSecret, 'archive download links')
            : loadOrCreateSecret(join(config.dataDir, 'archive-link-secret')),
          lifetimeMs: config.archive.linkLifetimeSeconds * 1000,
          baseUrl: () => publicUrl,
        }),
        webhooks,
        recover: overrides.recoverRecording ?? recoverRouterRecording,
        ffmpegPath,
        unavailable: toolsProblem,
        ...(overrides.archiveRescanIntervalMs === undefined
          ? {}
          : { rescanIntervalMs: overrides.archiveRescanIntervalMs }),
        maxDurationMs: config.archive.maxDurationSeconds * 1000,
        nodeId: cluster?.nodeId ?? null,
        idleTimeoutMs: config.archive.idleTimeoutSeconds * 1000,
        logger,
      });
      // Made with the demo off too: it purges the demo sessions of earlier runs.
      demo = new DemoService({
        sessions,
        project: defaultProject,
        liveSessionIds: () => signaling.rooms.all.map((room) => room.sessionId),
        logger,
      });
      sip = await SipService.start({
        settings: config.sip && {
          host: config.host,
          port: config.sip.port,
          advertisedAddress: config.sip.advertisedAddress,
          rtpPorts: config.sip.rtpPorts,
          tlsCa: config.sip.tlsCaPath === null ? null : readFileSync(config.sip.tlsCaPath, 'utf8'),
          ringTimeoutMs: config.sip.ringTimeoutSeconds * 1000,
          maxDurationMs: 6 * 3600 * 1000,
          inactivityMs: 5 * 60 * 1000,
          maxCalls: 100,
        },
        sessions,
        tokens,
        rooms: signaling.rooms,
        ...(cluster ? { admit: cluster.admit.bind(cluster) } : {}),
        logger,
      });
      sendSipCallbacks(sip, (apiKey) => callbacks.sipCallbackUrl(apiKey), sender, logger);
      const metrics = new PrometheusMetrics({
        rooms: signaling.rooms,
        mediaWorkers: pool,
        cluster,
        callbacks: {
          get queued() {
            return sender.queued;
          },
          get dropped() {
            return sender.dropped + monitor.dropped;
          },
        },
      });
      const http = await buildHttpApp({
        logger,
        sessions,
        lookup,
        signaling,
        archives,
        callbacks,
        sip,
        demo: config.demo ? demo : null,
        metrics: { metrics, token: config.metricsToken },
        limits: httpLimits(config, logger),
        connectionInfo: {
          tokens,
          cluster,
          trustProxy: config.cluster?.trustProxy ?? [],
          iceServers: () => relay.iceServers.forConnection(`info-${randomUUID()}`),
        },
        cluster: cluster && { cluster, secret: clusterSecret },
        forwarding:
          cluster && clusterSecret
            ? {
                cluster,
                forwarding: new OwnerForwarding({ nodeId: cluster.nodeId, secret: clusterSecret, logger }),
              }
            : null,
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
        archives,
        callbacks,
        demo,
        sip,
        webhooks,
        monitor,
        coturn,
        mediaWorkers: pool,
        cluster,
        defaultProject,
        listenUrl,
        logger,
      };
      const server = new ParlorServer(parts);
      publicUrl = server.publicUrl;
      if (!nativeAddon.available) {
        logger.warn({ reason: nativeAddon.reason }, 'native data plane unavailable: SRTP runs in TypeScript');
      }
      logger.info(
        { listenUrl, publicUrl: server.publicUrl, dataDir: config.dataDir, dataPlane: config.dataPlane },
        'parlor started',
      );
      return server;
    } catch (error) {
      demo?.close();
      sip?.close();
      await archives?.close();
      webhooks?.close();
      await cluster?.close();
      await mediaWorkers?.close();
      await coturn?.close();
      await store.close();
      throw error;
    }
  }

  /**
   * Stops: at once for a node on its own; a cluster node first goes `draining` (placement passes
   * it by) and waits for its sessions to end, at most `--drain-timeout`, then closes.
   */
  async stop(): Promise<void> {
    const cluster = this.cluster;
    const timeoutSeconds = this.#drainTimeoutSeconds;
    if (cluster && timeoutSeconds > 0 && this.rooms.all.length > 0) {
      this.#monitor.notifyDraining();
      await cluster.drain();
      const deadline = Date.now() + timeoutSeconds * 1000;
      while (this.rooms.all.length > 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 250));
      this.#logger.info({ sessions: this.rooms.all.length }, 'drained: stopping');
    }
    await this.close();
  }

  /**
   * Closes the rooms and their sockets (clients see a clean close), stops accepting requests,
   * lets those under way finish, stops the archives recording (they are finished at the next
   * start), then stops the embedded TURN server and closes the store.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        this.sip.close();
        this.#signaling.close();
        await this.mediaWorkers.close();
        await this.#http.close();
        await this.cluster?.close();
        await this.archives.close();
      } finally {
        // The rooms closed above told of their end: stored, and sent if the receiver answers.
        await this.#monitor.idle();
        await this.#webhooks.flush(webhookFlushMs);
        this.#webhooks.close();
        this.demo.close();
        await this.#coturn?.close();
        await this.#store.close();
        this.#logger.info('parlor stopped');
      }
    })();
    return this.#closing;
  }
}

/** Connects to the cluster's Redis and registers this node; its sessions' rooms are closed when it loses them. */
async function startCluster(
  config: Config,
  logger: Logger,
  pool: MediaWorkerPool,
  rooms: () => RoomRegistry | null,
): Promise<Cluster> {
  const settings = config.cluster;
  if (!settings) throw new Error('not a cluster node');
  const regions = await Regions.open(settings.regionsFile ?? undefined);
  const redis = await connectRedis(settings.redisUrl, logger);
  return Cluster.start({
    config: settings,
    nodeId: settings.nodeId ?? loadOrCreateNodeId(join(config.dataDir, 'node-id')),
    redis,
    regions,
    logger,
    load: () => {
      const live = rooms()?.all ?? [];
      const workers = pool.load;
      return {
        sessions: live.length,
        streams: live.reduce((sum, room) => sum + room.streams.length, 0),
        workerLagMs: Math.max(0, ...workers.map((worker) => worker.lagP99Ms)),
        workersAdmitting: workers.some((worker) => worker.admitting),
      };
    },
    maxLagMs: config.mediaAdmission.maxLagMs,
    isLive: (sessionId) => rooms()?.get(sessionId) !== undefined,
    onLost: (sessionId) => rooms()?.get(sessionId)?.close(),
  });
}

/**
 * The HTTP server's limits: its connection cap leaves room under the descriptor limit (which
 * Node has already raised as far as it goes) for the descriptors open now and a reserve.
 */
function httpLimits(config: Config, logger: Logger): HttpLimits {
  const limit = descriptorLimit();
  const open = openDescriptors();
  const budget = limit && open !== null ? connectionBudget(limit.soft, open) : null;
  const maxConnections = config.http.maxConnections ?? budget;
  logger.info(
    {
      descriptorLimit: limit?.soft ?? 'unknown',
      hardLimit: limit?.hard,
      openDescriptors: open,
      maxConnections,
    },
    `descriptor limit ${limit?.soft ?? 'unknown'}: up to ${maxConnections ?? 'unlimited'} HTTP connections`,
  );
  if (budget !== null && maxConnections !== null && maxConnections > budget)
    logger.warn(
      { maxConnections, budget },
      '--http-max-connections leaves no descriptors in reserve: raise the limit (ulimit -n, LimitNOFILE)',
    );
  return {
    headersTimeoutMs: config.http.headersTimeoutSeconds * 1000,
    requestTimeoutMs: config.http.requestTimeoutSeconds * 1000,
    keepAliveTimeoutMs: config.http.keepAliveTimeoutSeconds * 1000,
    maxPendingPerAddress: config.http.maxPendingPerAddress,
    maxPerAddress: config.http.maxConnectionsPerAddress,
    ...(maxConnections === null ? {} : { maxConnections }),
  };
}

/** Where clients reach a server that was given no public URL: the port it really listens on. */
function defaultPublicUrl(host: string, http: FastifyInstance): string {
  const address = http.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const wildcard = host === '0.0.0.0' || host === '::';
  const name = wildcard ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${name}:${port}`;
}
