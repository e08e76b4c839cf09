import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { RecoverRecording } from './archive/ArchiveMedia.js';
import { ArchiveService } from './archive/ArchiveService.js';
import { LocalArchiveStorage } from './archive/ArchiveStorage.js';
import type { CompositionBound } from './archive/composition/compositionBound.js';
import { mediaToolsProblem } from './archive/composition/mediaTools.js';
import { CorruptRecordingError, recoverRecording } from './archive/recording/index.js';
import { DownloadLinks } from './archive/DownloadLinks.js';
import { ClientTokenVerifier } from './auth/ClientTokenVerifier.js';
import { RenewalKeys } from './auth/RenewalKeys.js';
import { TokenRenewal } from './auth/TokenRenewal.js';
import type { CredentialLookup } from './auth/projectLookup.js';
import { Cluster } from './cluster/Cluster.js';
import type { Departure } from './cluster/NodeRegistry.js';
import { NodeDrain } from './cluster/NodeDrain.js';
import { loadOrCreateNodeId } from './cluster/nodeId.js';
import { clusterKey, OwnerForwarding } from './cluster/OwnerForwarding.js';
import { connectRedis } from './cluster/redis.js';
import { Regions } from './cluster/Regions.js';
import type { Config } from './config/config.js';
import { ConsoleAuth } from './console/ConsoleAuth.js';
import { LiveSessions } from './console/LiveSessions.js';
import { recentSessions } from './console/recentSessions.js';
import { sendTestCallback } from './console/testCallback.js';
import { ControlServer } from './control/ControlServer.js';
import { controlSocketPath } from './control/controlProtocol.js';
import { DemoService } from './demo/DemoService.js';
import { connectionBudget, descriptorLimit, openDescriptors } from './descriptors.js';
import { buildHttpApp, type HttpLimits } from './http/app.js';
import { deleteArchiveWhereKept } from './http/ownerForwarding.js';
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
import { PublicAddressPolicy } from './nonPublicAddresses.js';
import { loadOrCreateSecret } from './secretFile.js';
import { OrderedEnqueuer } from './webhooks/OrderedEnqueuer.js';
import { SessionMonitor } from './webhooks/SessionMonitor.js';
import { InspectorRecorder } from './inspector/InspectorRecorder.js';
import { InspectorService } from './inspector/InspectorService.js';
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
  /** How long archive composition may take. Default: `CompositionBound`'s. */
  readonly archiveCompositionBound?: CompositionBound;
  /** How callbacks are retried. Default: from 1 s, doubling, up to 5 min apart, for a day. */
  readonly webhookRetry?: Pick<WebhookSenderOptions, 'retryBaseMs' | 'retryMaxMs' | 'maxAgeMs'>;
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
  /** Each session's events and quality, kept `--inspector-retention` days. */
  readonly inspector: InspectorService;
  readonly #inspectorRecorder: InspectorRecorder;
  /** The console's one-time setup link while it has no operator (printed at start); else null. */
  readonly consoleSetupUrl: string | null;
  readonly #consoleAuth: ConsoleAuth;
  readonly #webhooks: WebhookSender;
  readonly #monitor: SessionMonitor;
  /** Session monitoring and SIP callbacks on their way into the webhook queue, in order. */
  readonly #callbackQueue: OrderedEnqueuer;
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
  /** How a cluster node empties before it stops (or on `parlor node drain`); null on a node on its own. */
  readonly #drain: NodeDrain | null;
  /** The CLI's way in (`parlor project suspend`, `session list`…); null when it could not open. */
  readonly #control: ControlServer | null;
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
    inspector: InspectorService;
    inspectorRecorder: InspectorRecorder;
    archives: ArchiveService;
    callbacks: CallbackService;
    demo: DemoService;
    sip: SipService;
    consoleAuth: ConsoleAuth;
    consoleSetupToken: string | null;
    webhooks: WebhookSender;
    monitor: SessionMonitor;
    callbackQueue: OrderedEnqueuer;
    coturn: Coturn | null;
    mediaWorkers: MediaWorkerPool;
    cluster: Cluster | null;
    drain: NodeDrain | null;
    control: ControlServer | null;
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
    this.inspector = parts.inspector;
    this.#inspectorRecorder = parts.inspectorRecorder;
    this.#consoleAuth = parts.consoleAuth;
    this.consoleSetupUrl =
      parts.consoleSetupToken === null ? null : `${this.publicUrl}/console/setup#${parts.consoleSetupToken}`;
    this.#webhooks = parts.webhooks;
    this.#monitor = parts.monitor;
    this.#callbackQueue = parts.callbackQueue;
    this.#signaling = parts.signaling;
    this.#store = parts.store;
    this.#coturn = parts.coturn;
    this.mediaWorkers = parts.mediaWorkers;
    this.cluster = parts.cluster;
    this.#http = parts.http;
    this.#logger = parts.logger;
    this.#drainTimeoutSeconds = parts.config.cluster?.drainTimeoutSeconds ?? 0;
    this.#drain = parts.drain;
    this.#control = parts.control;
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
    let inspector: InspectorService | null = null;
    let inspectorRecorder: InspectorRecorder | null = null;
    let consoleAuth: ConsoleAuth | null = null;
    let control: ControlServer | null = null;
    let publicUrl = config.publicUrl ?? '';
    const clusterSecret = config.cluster?.secret ?? null;
    try {
      const projects = new ProjectService(store);
      const applications = new ApplicationService(store);
      const sessions = new SessionService(store);
      const defaultProject = await projects.ensureDefault(config.defaultProjectCredentials);
      const lookup: CredentialLookup = {
        // A suspended project's REST calls and client tokens are refused as those of an unknown one.
        secretOf: async (apiKey) => {
          const project = await store.projects.find(apiKey);
          return project && !project.suspended ? project.apiSecret : undefined;
        },
        publicKeyOf: async (applicationId) => (await store.applications.find(applicationId))?.publicKey,
        projectOfSession: (sessionId) => store.sessions.projectOf(sessionId),
      };
      // A cluster's nodes renew the tokens of connected clients, with keys they share for applications.
      const renewalKeys = config.cluster ? new RenewalKeys({ repository: store.renewalKeys }) : null;
      const tokens = new ClientTokenVerifier({ lookup, ...(renewalKeys ? { renewalKeys } : {}) });
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
        handshakes: config.dtlsHandshakes,
        dataPlane: config.dataPlane,
        batchedReads: config.mediaBatchedReads,
        announcedAddress: config.publicIp,
        certificate,
        videoFallback: config.audioFallback,
        publisherFeedback: config.publisherFeedback,
        logger,
      });
      mediaWorkers = pool;
      // Rooms are known once signaling exists; the cluster asks for them only after it starts.
      let rooms: RoomRegistry | null = null;
      let takeOver: ((departure: Departure) => Promise<void>) | null = null;
      cluster =
        config.cluster &&
        (await startCluster(
          config,
          logger,
          pool,
          () => rooms,
          async (departure) => {
            if (!takeOver) throw new Error('the node is starting');
            await takeOver(departure);
          },
        ));
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
        ...(cluster
          ? {
              admit: cluster.admit.bind(cluster),
              tokenRenewal: new TokenRenewal({ lookup, ...(renewalKeys ? { keys: renewalKeys } : {}) }),
            }
          : {}),
      });
      rooms = signaling.rooms;
      const callbackAddresses = new PublicAddressPolicy(config.callbackAllowedIps);
      const callbacks = new CallbackService(store, callbackAddresses);
      const sender = new WebhookSender({
        addresses: callbackAddresses,
        store,
        history: store.deliveryHistory,
        logger,
        signatureSecretOf: (apiKey) => callbacks.signatureSecret(apiKey),
        maxQueued: config.webhookMaxQueued,
        ...overrides.webhookRetry,
        nodeId: cluster?.nodeId ?? null,
      });
      webhooks = sender;
      inspector = new InspectorService({
        repository: store.inspector,
        retentionMs: config.inspectorRetentionDays * 86_400_000,
        logger,
      });
      inspectorRecorder = new InspectorRecorder({ rooms: signaling.rooms, inspector });
      const callbackQueue = new OrderedEnqueuer({ webhooks: sender, logger });
      const monitor = new SessionMonitor({ rooms: signaling.rooms, callbacks, enqueuer: callbackQueue });
      const drain =
        cluster &&
        new NodeDrain({
          cluster,
          liveSessions: () => signaling.rooms.all.map((room) => room.sessionId),
          moveClients: (sessionId) => signaling.rooms.get(sessionId)?.close('moved'),
          onStart: () => {
            monitor.notifyDraining();
          },
          logger,
        });
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
        ...(overrides.archiveCompositionBound ? { compositionBound: overrides.archiveCompositionBound } : {}),
        nodeId: cluster?.nodeId ?? null,
        idleTimeoutMs: config.archive.idleTimeoutSeconds * 1000,
        logger,
      });
      const archiveService = archives;
      // A node that vanished leaves its archives unfinished; one that stopped finishes them when
      // it starts again. Either leaves its undelivered callbacks to the others.
      // Its callbacks are taken first, so that what it told of (an archive started) goes before
      // what is told of it (that archive failed), in each session's order.
      takeOver = async ({ nodeId, lastSeenAt, stopped }) => {
        const taken = await sender.adopt(nodeId);
        if (taken > 0) logger.info({ node: nodeId, callbacks: taken }, "took over a node's callbacks");
        if (!stopped) await archiveService.failLostNode(nodeId, lastSeenAt);
      };
      // Made with the demo off too: it purges the demo sessions of earlier runs.
      demo = new DemoService({
        sessions,
        apiKey: defaultProject.apiKey,
        apiSecret: async () => (await projects.get(defaultProject.apiKey)).apiSecret,
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
          tls: config.sip.tls && {
            port: config.sip.tls.port,
            cert: readFileSync(config.sip.tls.certPath, 'utf8'),
            key: readFileSync(config.sip.tls.keyPath, 'utf8'),
          },
          ringTimeoutMs: config.sip.ringTimeoutSeconds * 1000,
          maxDurationMs: config.sip.maxDurationSeconds * 1000,
          inactivityMs: config.sip.silenceTimeoutSeconds * 1000,
          maxCalls: config.sip.maxCalls,
          maxCallsPerSession: config.sip.maxCallsPerSession,
        },
        sessions,
        tokens,
        rooms: signaling.rooms,
        ...(cluster ? { admit: cluster.admit.bind(cluster) } : {}),
        logger,
      });
      sendSipCallbacks(sip, (apiKey) => callbacks.sipCallbackUrl(apiKey), callbackQueue);
      const metrics = new PrometheusMetrics({
        rooms: signaling.rooms,
        mediaWorkers: pool,
        cluster,
        callbacks: {
          get queued() {
            return sender.queued;
          },
          get dropped() {
            return sender.dropped + callbackQueue.dropped;
          },
        },
      });
      const forwarding =
        cluster && clusterSecret
          ? new OwnerForwarding({ nodeId: cluster.nodeId, secret: clusterSecret, logger })
          : null;
      consoleAuth = new ConsoleAuth({ operators: store.operators, logger });
      const consoleSetupToken = await consoleAuth.prepareSetup();
      const forwardingOptions = cluster && forwarding && { cluster, forwarding };
      const live = new LiveSessions({ rooms: signaling.rooms, cluster: forwardingOptions, logger });
      const deleteArchive = (apiKey: string, archiveId: string): Promise<void> =>
        deleteArchiveWhereKept(forwardingOptions, archiveService, apiKey, archiveId);
      const http = await buildHttpApp({
        logger,
        sessions,
        lookup,
        signaling,
        archives,
        callbacks,
        sip,
        demo: config.demo ? demo : null,
        console: {
          auth: consoleAuth,
          secureCookie: (config.publicUrl ?? '').startsWith('https:'),
          projects,
          applications,
          sessions,
          live,
          archives,
          deleteArchive,
          callbacks,
          deliveries: store.deliveryHistory,
          webhooks: sender,
          inspector,
        },
        metrics: { metrics, token: config.metricsToken },
        limits: httpLimits(config, logger),
        connectionInfo: {
          tokens,
          cluster,
          trustProxy: config.cluster?.trustProxy ?? [],
          iceServers: () => relay.iceServers.forConnection(`info-${randomUUID()}`),
          forwarding,
        },
        cluster: cluster && drain && { cluster, drain, secret: clusterSecret },
        forwarding: forwardingOptions,
        inspector: { inspector, lookup, tokens },
      });
      const address = await http.listen({ port: config.port, host: config.host });
      cluster?.serving();
      control = await ControlServer.listen({
        path: controlSocketPath(config.dataDir),
        handlers: {
          disconnectProject: async ({ apiKey }) => ({ disconnected: live.disconnectLocally(apiKey) }),
          testCallback: async ({ apiKey, kind }) => ({
            url: await sendTestCallback({ callbacks, webhooks: sender, apiKey, kind }),
          }),
          recentSessions: async ({ apiKey }) => ({ sessions: await recentSessions(sessions, live, apiKey) }),
          deleteArchive: async ({ apiKey, archiveId }) => {
            await deleteArchive(apiKey, archiveId);
            return {};
          },
        },
        logger,
      });
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
        consoleAuth,
        consoleSetupToken,
        webhooks,
        monitor,
        callbackQueue,
        inspector,
        inspectorRecorder,
        coturn,
        mediaWorkers: pool,
        cluster,
        drain,
        control,
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
      control?.close();
      demo?.close();
      consoleAuth?.close();
      sip?.close();
      inspectorRecorder?.close();
      inspector?.close();
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
   * Stops: at once for a node on its own. A cluster node first drains: it goes `draining`
   * (placement passes it by) and moves its sessions' clients to other nodes, waits for its
   * sessions to be gone, at most `--drain-timeout`, moves those left, then closes. The
   * applications of sessions still live at half the timeout get a second `sessionNotification`.
   */
  async stop(): Promise<void> {
    const drain = this.#drain;
    if (drain) {
      await drain.start();
      // OpenTok warns of a rotation twice: when it is planned (the drain's start), and again
      // before it happens.
      const timeoutMs = this.#drainTimeoutSeconds * 1000;
      const secondNotice = setTimeout(() => {
        this.#monitor.notifyDraining();
      }, timeoutMs / 2);
      const empty = await drain.settle(timeoutMs);
      clearTimeout(secondNotice);
      this.#logger.info({ sessions: this.rooms.all.length, empty }, 'drained: stopping');
      await drain.moveAll();
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
        this.#control?.close();
        this.sip.close();
        this.#drain?.close();
        this.#signaling.close();
        await this.mediaWorkers.close();
        await this.#http.close();
        await this.archives.close();
      } finally {
        // The rooms closed above told of their end: stored, and sent if the receiver answers.
        await this.#callbackQueue.idle();
        this.#inspectorRecorder.close();
        await this.inspector.idle();
        this.inspector.close();
        await this.#webhooks.flush(webhookFlushMs);
        this.#webhooks.close();
        // Only now, sending nothing more, does the node leave its callbacks to the others.
        await this.cluster?.close();
        this.demo.close();
        this.#consoleAuth.close();
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
  onDeparted: (departure: Departure) => Promise<void>,
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
        packetsPerSecond: workers.reduce((sum, worker) => sum + worker.forwardedPerSecond, 0),
      };
    },
    maxLagMs: config.mediaAdmission.maxLagMs,
    isLive: (sessionId) => rooms()?.get(sessionId) !== undefined,
    // Its clients are told to join the session where it is now.
    onLost: (sessionId) => rooms()?.get(sessionId)?.close('moved'),
    onDeparted,
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
