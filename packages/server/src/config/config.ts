import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { IceServer } from '@parlor/protocol';
import { apiKeyProblem, apiSecretProblem } from '../auth/credentials.js';
import { defaultTcpLimits, type IceTcpLimits } from '../media/ice/UdpMux.js';
import { defaultVideoFallbackSettings, type VideoFallbackSettings } from '../media/router/VideoFallback.js';
import { defaultAdmissionSettings, type AdmissionSettings } from '../media/worker/WorkerLoad.js';
import { defaultHandshakeLimits, type HandshakeLimits } from '../media/transport/HandshakeLimiter.js';
import { dataPlanes, defaultDataPlane, nativeAddon, type DataPlane } from '../media/srtp/dataPlane.js';
import { publisherFeedbacks, type PublisherFeedback } from '../media/router/MediaRouter.js';

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/** Parlor's configuration, validated and frozen. */
export interface Config {
  /** TCP port of the HTTP and WebSocket server. Default: 3000. */
  readonly port: number;
  /** Address to listen on. Default: 0.0.0.0. */
  readonly host: string;
  /** Folder of the SQLite store and media files, absolute. Default: ./data. */
  readonly dataDir: string;
  /**
   * The PostgreSQL database of a cluster's durable records (`postgres://` or `postgresql://`).
   * Default: null, the SQLite file in the data folder.
   */
  readonly databaseUrl: string | null;
  /**
   * URL at which clients reach this server, without a trailing slash. Default: null, meaning
   * http://localhost:{port} (or the listening host when it is not a wildcard).
   */
  readonly publicUrl: string | null;
  /** Default: info. */
  readonly logLevel: LogLevel;
  /** Credentials for the default project; generated on first start when absent. */
  readonly defaultProjectCredentials: { readonly apiKey: string; readonly apiSecret: string } | null;
  /**
   * How long a client whose socket dropped keeps its connection and streams, waiting for it to
   * resume, in seconds. Default: 20.
   */
  readonly reconnectGraceSeconds: number;
  /** STUN and TURN servers handed to clients when they connect. Default: none. */
  readonly iceServers: readonly IceServer[];
  /** Messages a client may send per second on its signaling socket, in bursts of twice that. Default: 50. */
  readonly signalingRate: number;
  /**
   * Signaling limits per client: `queueBytes`, what it may leave unread before its socket is cut
   * off (default 1 MiB); `fanOutRate`, characters per second of frames its messages may make the
   * server send, each copy of a broadcast counted (default 4 MiB: an 8 kB signal to 500 members
   * each second); `connectionsPerToken`, connections one token may have in
   * its session at once (default 100).
   */
  readonly signalingLimits: {
    readonly queueBytes: number;
    readonly fanOutRate: number;
    readonly connectionsPerToken: number;
  };
  /** The address the Media Router announces in its ICE candidates. Default: 127.0.0.1. */
  readonly publicIp: string;
  /**
   * The first media worker's port, UDP and TCP; worker i listens on `mediaPort + i` (0: each
   * picks any free port). Default: 40000.
   */
  readonly mediaPort: number;
  /** Media worker threads, each hosting whole routed sessions. Default: one per core. */
  readonly mediaWorkers: number;
  /** ICE-TCP connections before their first check: time allowed and count per address. Default: `defaultTcpLimits`. */
  readonly mediaTcpLimits: IceTcpLimits;
  /** The load past which a media worker takes no new session, publisher or subscriber. Default: `defaultAdmissionSettings`. */
  readonly mediaAdmission: AdmissionSettings;
  /** How many DTLS handshakes each media worker runs at once and starts per second. Default: `defaultHandshakeLimits`. */
  readonly dtlsHandshakes: HandshakeLimits;
  /** Where the media workers' SRTP runs: the native addon or node:crypto. Default: native when it built. */
  readonly dataPlane: DataPlane;
  /**
   * Whether the native data plane also reads the media workers' sockets (`recvmmsg`, in batches).
   * Default: false, node:dgram reads: a forward bench at 150–200 subscribers has stalled with it.
   */
  readonly mediaBatchedReads: boolean;
  /** How publishers of routed sessions learn what their uplink carries. Default: `transport-wide`. */
  readonly publisherFeedback: PublisherFeedback;
  /**
   * Subscriber audio fallback in routed sessions: when the router turns a subscriber's video off
   * and on again, or null when it never does. Default: `defaultVideoFallbackSettings`.
   */
  readonly audioFallback: VideoFallbackSettings | null;
  /** Routed sessions go peer to peer while at most two connections take part and nothing needs the router. Default: true. */
  readonly adaptiveRouting: boolean;
  /**
   * The bearer token Prometheus presents to scrape `/metrics`; without one, only loopback
   * clients may scrape. Default: none.
   */
  readonly metricsToken: string | null;
  /**
   * Loopback or private addresses (and `first-last` ranges) callbacks may be POSTed to; others
   * than these and public ones are refused. Default: none.
   */
  readonly callbackAllowedIps: readonly string[];
  /**
   * The TURN server whose credentials clients get. Default: external when TURN URLs are given,
   * else embedded when coturn is installed, else off.
   */
  readonly turn: TurnConfig;
  /** Archive recording, composition and download. */
  readonly archive: ArchiveConfig;
  /**
   * The demo video chat at `/`, which hands strangers publisher tokens of demo sessions of the
   * default project. Default: false (off).
   */
  readonly demo: boolean;
  /** Callbacks that may wait to be delivered, all projects together; more are dropped and counted. Default: 100000. */
  readonly webhookMaxQueued: number;
  /** Timeouts and connection caps of the HTTP server (REST and signaling). */
  readonly http: HttpConfig;
  /** Cluster mode (several nodes sharing Redis), or null for one node on its own. Default: null. */
  readonly cluster: ClusterConfig | null;
  /** SIP interconnect (dial out), or null when it is off. Default: off. */
  readonly sip: SipConfig | null;
  /** Days the Inspector keeps a session's records after its last one. Default: 30. */
  readonly inspectorRetentionDays: number;
}

/** A node of a cluster: switched on by `--redis-url`; see docs/cluster.md. */
export interface ClusterConfig {
  /** The Redis holding the node registry and the session leases. */
  readonly redisUrl: string;
  /** The region this node serves, a name of the regions table or any other. Default: default. */
  readonly region: string;
  /** This node's ID. Default: null, generated and kept in the data directory. */
  readonly nodeId: string | null;
  /** How clients reach this node (HTTP and WebSocket base): the config's `publicUrl`, required. */
  readonly publicUrl: string;
  /** How other nodes reach this node, without a trailing slash. */
  readonly internalUrl: string;
  /** The country-to-region table. Default: null, the one shipped (`regions.json`). */
  readonly regionsFile: string | null;
  /** Proxies whose `X-Forwarded-For` gives a client's address. Default: none. */
  readonly trustProxy: readonly string[];
  /** Routed streams past which this node takes no new session. Default: null, no limit. */
  readonly maxStreams: number | null;
  /** How long a draining node waits for its sessions to end before it exits, in seconds. Default: 60. */
  readonly drainTimeoutSeconds: number;
  /** Shared by the nodes: authenticates `/v2/cluster/*` and calls between nodes. Default: null (those refused). */
  readonly secret: string | null;
}

export interface SipConfig {
  /** The SIP port, UDP and TCP, on `host`. */
  readonly port: number;
  /** The address Contact headers and SDP announce. Default: `publicIp`. */
  readonly advertisedAddress: string;
  /** RTP ports of calls, first and last. Default: [0, 0], any free port. */
  readonly rtpPorts: readonly [number, number];
  /** Seconds the far end may ring before the call is given up. Default: 60. */
  readonly ringTimeoutSeconds: number;
  /** A PEM file of a CA trusted for far ends' TLS certificates, besides the system's. Default: null. */
  readonly tlsCaPath: string | null;
  /** Where SIP over TLS is taken (port, PEM certificate and key files). Default: null, TLS goes out only. */
  readonly tls: { readonly port: number; readonly certPath: string; readonly keyPath: string } | null;
  /** Calls in progress on this node at once, at most. Default: 100. */
  readonly maxCalls: number;
  /** Calls in progress in one session at once, at most. Default: 20. */
  readonly maxCallsPerSession: number;
  /** Seconds a call may go without media from the far end (not on hold). Default: 300, as OpenTok's. */
  readonly silenceTimeoutSeconds: number;
  /** Seconds a call lasts at most. Default: 21600 (6 hours), as OpenTok's. */
  readonly maxDurationSeconds: number;
}

export interface HttpConfig {
  /** How long a client has to send a request's headers, in seconds. Default: 10. */
  readonly headersTimeoutSeconds: number;
  /** How long a client has to send a whole request, body included (not the answer), in seconds. Default: 30. */
  readonly requestTimeoutSeconds: number;
  /** How long a connection is kept open without a request after an answer, in seconds. Default: 72. */
  readonly keepAliveTimeoutSeconds: number;
  /** Connections in all. Default: null, from the descriptor limit (`connectionBudget`). */
  readonly maxConnections: number | null;
  /** Connections from one address (IPv6: one /64), WebSockets included. Default: 1024. */
  readonly maxConnectionsPerAddress: number;
  /** Connections from one address that have gone a second without completing a request or upgrade. Default: 64. */
  readonly maxPendingPerAddress: number;
}

export interface ArchiveConfig {
  /** Longest an archive records before it stops by itself, in seconds. Default: 14400 (4 hours). */
  readonly maxDurationSeconds: number;
  /** How long an archive goes on in a session nobody is connected to before it stops, in seconds. Default: 60. */
  readonly idleTimeoutSeconds: number;
  /** How long an archive's download URL stays valid, in seconds. Default: 600. */
  readonly linkLifetimeSeconds: number;
  /**
   * The ffmpeg that composes archives (ffprobe is looked for beside it); both must run, or the
   * server does not start. Default: null, ffmpeg on the PATH, and archiving off (with a
   * warning) when it or ffprobe is missing.
   */
  readonly ffmpegPath: string | null;
}

/** Where coturn's `turnserver` is when the Debian package is installed. */
export const turnserverPath = '/usr/bin/turnserver';

export const turnModes = ['embedded', 'external', 'off'] as const;
export type TurnMode = (typeof turnModes)[number];

/** A TURN server: coturn run by Parlor, another one sharing its secret with Parlor, or none. */
export type TurnConfig = EmbeddedTurnConfig | ExternalTurnConfig | { readonly mode: 'off' };

/** coturn, run by Parlor with the settings below. */
export interface EmbeddedTurnConfig {
  readonly mode: 'embedded';
  /** UDP and TCP port of TURN and STUN. Default: 3478. */
  readonly port: number;
  /** TLS port, used when `tls` is set. Default: 5349. */
  readonly tlsPort: number;
  /** Ports of the relayed addresses, inclusive. Default: 49152 to 65535. */
  readonly relayPorts: { readonly min: number; readonly max: number };
  /** Default: parlor. */
  readonly realm: string;
  /** Host name or address in the URLs handed to clients. Default: null, the public URL's host. */
  readonly host: string | null;
  /** Addresses coturn listens on. Default: none, meaning all. */
  readonly listenIps: readonly string[];
  /** Address of the relayed candidates. Default: null, coturn's choice. */
  readonly relayIp: string | null;
  /** Peer addresses or `a-b` ranges relayed to although private or loopback (tests). Default: none. */
  readonly allowedPeerIps: readonly string[];
  /** Certificate and key files (PEM) for TURN over TLS. Default: null, no TLS. */
  readonly tls: { readonly cert: string; readonly pkey: string } | null;
  /** Shared secret of the credentials. Default: null, generated and kept in the data directory. */
  readonly secret: string | null;
  /** How long credentials handed to a client are valid, in seconds. Default: 86400. */
  readonly credentialLifetimeSeconds: number;
}

/** A TURN server of the operator's, configured with `use-auth-secret` and the same secret. */
export interface ExternalTurnConfig {
  readonly mode: 'external';
  /** Its `turn:`/`turns:` URLs. */
  readonly urls: readonly string[];
  readonly secret: string;
  /** How long credentials handed to a client are valid, in seconds. Default: 86400. */
  readonly credentialLifetimeSeconds: number;
}

/** A setting: its flag, its environment variable and how to read it. */
interface Setting<T> {
  readonly flag: string | null;
  readonly env: string;
  readonly description: string;
  /** Returns the value, or a string that says what is wrong with the input. */
  readonly parse: (raw: string) => T | Problem;
  /** A switch: its flag takes no value (`--demo`), its variable is parsed as usual. */
  readonly switch?: true;
  /** Its value may hold a password or key: a problem with it does not repeat it. */
  readonly secret?: true;
}

class Problem {
  constructor(readonly message: string) {}
}

const settings = {
  port: {
    flag: 'port',
    env: 'PORT',
    description: 'TCP port (default 3000)',
    parse: (raw) => {
      const port = Number(raw);
      return /^[0-9]+$/.test(raw) && port <= 65535 ? port : new Problem('must be 0 to 65535');
    },
  } satisfies Setting<number>,
  host: {
    flag: 'host',
    env: 'HOST',
    description: 'address to listen on (default 0.0.0.0)',
    parse: (raw) => (raw.trim() === '' ? new Problem('must not be empty') : raw.trim()),
  } satisfies Setting<string>,
  dataDir: {
    flag: 'data-dir',
    env: 'PARLOR_DATA_DIR',
    description: 'folder of the store and media files (default ./data)',
    parse: (raw) => (raw.trim() === '' ? new Problem('must not be empty') : resolve(raw)),
  } satisfies Setting<string>,
  databaseUrl: {
    flag: 'database-url',
    env: 'PARLOR_DATABASE_URL',
    description:
      'postgres://user:password@host:port/database for a cluster (default: SQLite in the data folder)',
    secret: true,
    parse: parseDatabaseUrl,
  } satisfies Setting<string>,
  publicUrl: {
    flag: 'public-url',
    env: 'PARLOR_PUBLIC_URL',
    description: 'URL at which clients reach this server (default http://localhost:PORT)',
    parse: parsePublicUrl,
  } satisfies Setting<string>,
  logLevel: {
    flag: 'log-level',
    env: 'PARLOR_LOG_LEVEL',
    description: `one of ${logLevels.join(', ')} (default info)`,
    parse: (raw) =>
      (logLevels as readonly string[]).includes(raw)
        ? (raw as LogLevel)
        : new Problem(`must be one of ${logLevels.join(', ')}`),
  } satisfies Setting<LogLevel>,
  apiKey: {
    flag: null,
    env: 'PARLOR_API_KEY',
    description: 'API key of the default project',
    parse: (raw) => problemOr(apiKeyProblem(raw), raw),
  } satisfies Setting<string>,
  apiSecret: {
    flag: null,
    env: 'PARLOR_API_SECRET',
    description: 'API secret of the default project',
    secret: true,
    parse: (raw) => problemOr(apiSecretProblem(raw), raw),
  } satisfies Setting<string>,
  reconnectGrace: {
    flag: 'reconnect-grace',
    env: 'PARLOR_RECONNECT_GRACE_SECONDS',
    description: 'seconds a dropped client may take to resume its connection (default 20)',
    parse: (raw) => {
      const seconds = Number(raw);
      return /^[0-9]+(\.[0-9]+)?$/.test(raw) && seconds <= 3600
        ? seconds
        : new Problem('must be a number of seconds from 0 to 3600');
    },
  } satisfies Setting<number>,
  iceServers: {
    flag: 'ice-servers',
    env: 'PARLOR_ICE_SERVERS',
    description: 'STUN/TURN servers for clients: comma-separated URLs or a JSON array (default none)',
    secret: true,
    parse: parseIceServers,
  } satisfies Setting<readonly IceServer[]>,
  signalingRate: {
    flag: 'signaling-rate',
    env: 'PARLOR_SIGNALING_RATE',
    description: 'messages per second a client may send, bursts of twice that (default 50)',
    parse: (raw) => {
      const rate = Number(raw);
      return /^[0-9]+$/.test(raw) && rate >= 1 && rate <= 100_000
        ? rate
        : new Problem('must be a whole number from 1 to 100000');
    },
  } satisfies Setting<number>,
  signalingQueueBytes: {
    flag: 'signaling-queue-bytes',
    env: 'PARLOR_SIGNALING_QUEUE_BYTES',
    description: 'bytes a client may leave unread before its socket is cut off (default 1048576)',
    parse: (raw) => wholeNumber(raw, 65_536, 1024 ** 3),
  } satisfies Setting<number>,
  signalingFanOutRate: {
    flag: 'signaling-fan-out-rate',
    env: 'PARLOR_SIGNALING_FAN_OUT_RATE',
    description:
      "bytes per second a client's messages may make the server send, each copy of a broadcast counted (default 4194304)",
    parse: (raw) => wholeNumber(raw, 65_536, 1024 ** 3),
  } satisfies Setting<number>,
  signalingConnectionsPerToken: {
    flag: 'signaling-connections-per-token',
    env: 'PARLOR_SIGNALING_CONNECTIONS_PER_TOKEN',
    description: 'connections one client token may have in its session at once (default 100)',
    parse: (raw) => wholeNumber(raw, 1, 100_000),
  } satisfies Setting<number>,
  publicIp: {
    flag: 'public-ip',
    env: 'PARLOR_PUBLIC_IP',
    description: 'IP address the Media Router announces to clients (default 127.0.0.1)',
    parse: (raw) => (isIP(raw) ? raw : new Problem('must be an IPv4 or IPv6 address')),
  } satisfies Setting<string>,
  mediaPort: {
    flag: 'media-port',
    env: 'PARLOR_MEDIA_PORT',
    description:
      'first port of the Media Router, UDP and TCP; media worker i uses this + i; 0 for any free ones (default 40000)',
    parse: (raw) => {
      const port = Number(raw);
      return /^[0-9]+$/.test(raw) && port <= 65535 ? port : new Problem('must be 0 to 65535');
    },
  } satisfies Setting<number>,
  mediaWorkers: {
    flag: 'media-workers',
    env: 'PARLOR_MEDIA_WORKERS',
    description: 'media worker threads, each hosting whole routed sessions (default: one per core)',
    parse: (raw) => {
      const workers = Number(raw);
      return /^[0-9]+$/.test(raw) && workers >= 1 && workers <= 256
        ? workers
        : new Problem('must be a whole number from 1 to 256');
    },
  } satisfies Setting<number>,
  mediaTcpAuthTimeoutMs: {
    flag: 'media-tcp-auth-timeout-ms',
    env: 'PARLOR_MEDIA_TCP_AUTH_TIMEOUT_MS',
    description: `ms an ICE-TCP connection may take to send its first authentic check before it is closed (default ${defaultTcpLimits.authTimeoutMs})`,
    parse: (raw) => parseMilliseconds(raw, 100),
  } satisfies Setting<number>,
  mediaTcpPendingPerAddress: {
    flag: 'media-tcp-pending-per-address',
    env: 'PARLOR_MEDIA_TCP_PENDING_PER_ADDRESS',
    description: `ICE-TCP connections one address may hold before their first check; more are closed (default ${defaultTcpLimits.maxPendingPerAddress})`,
    parse: (raw) => {
      const count = Number(raw);
      return /^[0-9]+$/.test(raw) && count >= 1 && count <= 65535
        ? count
        : new Problem('must be a whole number from 1 to 65535');
    },
  } satisfies Setting<number>,
  mediaAdmissionMaxLagMs: {
    flag: 'media-admission-max-lag-ms',
    env: 'PARLOR_MEDIA_ADMISSION_MAX_LAG_MS',
    description: `a media worker whose event-loop delay (p99) stays above this many ms takes no new session, publisher or subscriber (default ${defaultAdmissionSettings.maxLagMs})`,
    parse: (raw) => parseMilliseconds(raw, 10),
  } satisfies Setting<number>,
  mediaAdmissionMaxUtilization: {
    flag: 'media-admission-max-utilization',
    env: 'PARLOR_MEDIA_ADMISSION_MAX_UTILIZATION',
    description: `a media worker whose event loop stays busier than this share (0-1) takes no new session, publisher or subscriber (default ${defaultAdmissionSettings.maxUtilization})`,
    parse: (raw) => {
      const share = Number(raw);
      return /^[01](\.[0-9]+)?$/.test(raw) && share > 0 && share <= 1
        ? share
        : new Problem('must be a number above 0, at most 1');
    },
  } satisfies Setting<number>,
  dtlsHandshakeConcurrency: {
    flag: 'dtls-handshake-concurrency',
    env: 'PARLOR_DTLS_HANDSHAKE_CONCURRENCY',
    description: `DTLS handshakes a media worker runs at once; more wait their turn (default ${defaultHandshakeLimits.maxConcurrent})`,
    parse: (raw) => parseCount(raw, 1),
  } satisfies Setting<number>,
  dtlsHandshakesPerSecond: {
    flag: 'dtls-handshakes-per-second',
    env: 'PARLOR_DTLS_HANDSHAKES_PER_SECOND',
    description: `DTLS handshakes a media worker starts per second; more wait their turn (default ${defaultHandshakeLimits.perSecond})`,
    parse: (raw) => parseCount(raw, 1),
  } satisfies Setting<number>,
  dataPlane: {
    flag: 'data-plane',
    env: 'PARLOR_DATA_PLANE',
    description: 'native or js: where media workers run SRTP (default native when its addon built)',
    parse: (raw) => {
      if (raw === 'native' && !nativeAddon.available)
        return new Problem(`unavailable: ${nativeAddon.reason}`);
      return (dataPlanes as readonly string[]).includes(raw)
        ? (raw as DataPlane)
        : new Problem('must be native or js');
    },
  } satisfies Setting<DataPlane>,
  mediaBatchedReads: {
    flag: 'media-batched-reads',
    env: 'PARLOR_MEDIA_BATCHED_READS',
    description:
      'on or off: the native data plane reads the media sockets in batches (recvmmsg) (default on with the native data plane)',
    parse: (raw) => (raw === 'on' ? true : raw === 'off' ? false : new Problem('must be on or off')),
  } satisfies Setting<boolean>,
  publisherFeedback: {
    flag: 'publisher-feedback',
    env: 'PARLOR_PUBLISHER_FEEDBACK',
    description:
      'transport-wide or remb: the congestion feedback the router gives publishers (default transport-wide)',
    parse: (raw) =>
      (publisherFeedbacks as readonly string[]).includes(raw)
        ? (raw as PublisherFeedback)
        : new Problem('must be transport-wide or remb'),
  } satisfies Setting<PublisherFeedback>,
  adaptiveRouting: {
    flag: 'adaptive-routing',
    env: 'PARLOR_ADAPTIVE_ROUTING',
    description:
      'on or off: routed sessions send media peer to peer while at most two connections take part and nothing needs the router (default on)',
    parse: (raw) => (raw === 'on' ? true : raw === 'off' ? false : new Problem('must be on or off')),
  } satisfies Setting<boolean>,
  audioFallback: {
    flag: 'audio-fallback',
    env: 'PARLOR_AUDIO_FALLBACK',
    description:
      'on or off: routed sessions turn video off for a subscriber whose link cannot carry it (default on)',
    parse: (raw) => (raw === 'on' ? true : raw === 'off' ? false : new Problem('must be on or off')),
  } satisfies Setting<boolean>,
  audioFallbackLoss: {
    flag: 'audio-fallback-loss',
    env: 'PARLOR_AUDIO_FALLBACK_LOSS',
    description: `audio fallback: % of packets lost above which a subscriber's link is congested (default ${defaultVideoFallbackSettings.congestedLoss * 100})`,
    parse: (raw) => {
      const percent = Number(raw);
      return /^[0-9]+(\.[0-9]+)?$/.test(raw) && percent > 0 && percent < 100
        ? percent / 100
        : new Problem('must be a percentage above 0 and below 100');
    },
  } satisfies Setting<number>,
  audioFallbackWarnMs: {
    flag: 'audio-fallback-warn-ms',
    env: 'PARLOR_AUDIO_FALLBACK_WARN_MS',
    description: `audio fallback: ms of congestion before videoDisableWarning (default ${defaultVideoFallbackSettings.warnAfterMs})`,
    parse: (raw) => parseMilliseconds(raw, 0),
  } satisfies Setting<number>,
  audioFallbackDisableMs: {
    flag: 'audio-fallback-disable-ms',
    env: 'PARLOR_AUDIO_FALLBACK_DISABLE_MS',
    description: `audio fallback: ms from the warning, congested still, to videoDisabled (default ${defaultVideoFallbackSettings.disableAfterMs})`,
    parse: (raw) => parseMilliseconds(raw, 0),
  } satisfies Setting<number>,
  audioFallbackLiftMs: {
    flag: 'audio-fallback-lift-ms',
    env: 'PARLOR_AUDIO_FALLBACK_LIFT_MS',
    description: `audio fallback: ms without congestion that lift a warning (default ${defaultVideoFallbackSettings.liftAfterMs})`,
    parse: (raw) => parseMilliseconds(raw, 0),
  } satisfies Setting<number>,
  audioFallbackProbeIntervalMs: {
    flag: 'audio-fallback-probe-interval-ms',
    env: 'PARLOR_AUDIO_FALLBACK_PROBE_INTERVAL_MS',
    description: `audio fallback: ms from videoDisabled to the first probe, doubling per failed one (default ${defaultVideoFallbackSettings.probeIntervalMs})`,
    parse: (raw) => parseMilliseconds(raw, 100),
  } satisfies Setting<number>,
  audioFallbackMaxProbeIntervalMs: {
    flag: 'audio-fallback-max-probe-interval-ms',
    env: 'PARLOR_AUDIO_FALLBACK_MAX_PROBE_INTERVAL_MS',
    description: `audio fallback: the longest wait between probes, ms (default ${defaultVideoFallbackSettings.maxProbeIntervalMs})`,
    parse: (raw) => parseMilliseconds(raw, 100),
  } satisfies Setting<number>,
  audioFallbackProbeMs: {
    flag: 'audio-fallback-probe-ms',
    env: 'PARLOR_AUDIO_FALLBACK_PROBE_MS',
    description: `audio fallback: ms a probe must go through uncongested before videoEnabled (default ${defaultVideoFallbackSettings.probeMs})`,
    parse: (raw) => parseMilliseconds(raw, 0),
  } satisfies Setting<number>,
  metricsToken: {
    flag: 'metrics-token',
    env: 'PARLOR_METRICS_TOKEN',
    description: 'bearer token for scraping /metrics from other hosts (default: loopback only)',
    parse: (raw) =>
      /^[\x21-\x7e]{16,}$/.test(raw)
        ? raw
        : new Problem('must be at least 16 printable characters, no spaces'),
  } satisfies Setting<string>,
  callbackAllowedIps: {
    flag: 'callback-allowed-ip',
    env: 'PARLOR_CALLBACK_ALLOWED_IPS',
    description: 'loopback or private addresses or A-B ranges callbacks may be sent to (default none)',
    parse: (raw) => parseAddressList(raw, true),
  } satisfies Setting<readonly string[]>,
  turn: {
    flag: 'turn',
    env: 'PARLOR_TURN',
    description: `TURN server: ${turnModes.join(', ')} (default external with --turn-url, else embedded when coturn is installed, else off)`,
    parse: (raw) =>
      (turnModes as readonly string[]).includes(raw)
        ? (raw as TurnMode)
        : new Problem(`must be one of ${turnModes.join(', ')}`),
  } satisfies Setting<TurnMode>,
  turnPort: {
    flag: 'turn-port',
    env: 'PARLOR_TURN_PORT',
    description: 'embedded TURN: UDP and TCP port (default 3478)',
    parse: (raw) => parsePort(raw, 1),
  } satisfies Setting<number>,
  turnTlsPort: {
    flag: 'turn-tls-port',
    env: 'PARLOR_TURN_TLS_PORT',
    description: 'embedded TURN: TLS port, with a certificate (default 5349)',
    parse: (raw) => parsePort(raw, 1),
  } satisfies Setting<number>,
  turnRelayPorts: {
    flag: 'turn-relay-ports',
    env: 'PARLOR_TURN_RELAY_PORTS',
    description: 'embedded TURN: range of relayed ports, MIN-MAX (default 49152-65535)',
    parse: parsePortRange,
  } satisfies Setting<{ min: number; max: number }>,
  turnRealm: {
    flag: 'turn-realm',
    env: 'PARLOR_TURN_REALM',
    description: 'embedded TURN: realm (default parlor)',
    parse: (raw) => (/^[\w.-]+$/.test(raw) ? raw : new Problem('must be letters, digits, dots, dashes')),
  } satisfies Setting<string>,
  turnHost: {
    flag: 'turn-host',
    env: 'PARLOR_TURN_HOST',
    description: "embedded TURN: host in clients' TURN URLs (default the public URL's host)",
    parse: (raw) => (/^[\w.:-]+$/.test(raw) ? raw : new Problem('must be a host name or an address')),
  } satisfies Setting<string>,
  turnListenIps: {
    flag: 'turn-listen-ip',
    env: 'PARLOR_TURN_LISTEN_IPS',
    description: 'embedded TURN: comma-separated addresses to listen on (default all)',
    parse: (raw) => parseAddressList(raw, false),
  } satisfies Setting<readonly string[]>,
  turnRelayIp: {
    flag: 'turn-relay-ip',
    env: 'PARLOR_TURN_RELAY_IP',
    description: "embedded TURN: address of relayed candidates (default coturn's choice)",
    parse: (raw) => (isIP(raw) ? raw : new Problem('must be an IP address')),
  } satisfies Setting<string>,
  turnAllowedPeerIps: {
    flag: 'turn-allowed-peer-ip',
    env: 'PARLOR_TURN_ALLOWED_PEER_IPS',
    description: 'embedded TURN: private or loopback addresses or A-B ranges it may relay to (default none)',
    parse: (raw) => parseAddressList(raw, true),
  } satisfies Setting<readonly string[]>,
  turnCert: {
    flag: 'turn-cert',
    env: 'PARLOR_TURN_CERT',
    description: 'embedded TURN: certificate file (PEM) for TLS, with --turn-pkey (default no TLS)',
    parse: parseFilePath,
  } satisfies Setting<string>,
  turnPkey: {
    flag: 'turn-pkey',
    env: 'PARLOR_TURN_PKEY',
    description: 'embedded TURN: private key file (PEM) for TLS, with --turn-cert',
    parse: parseFilePath,
  } satisfies Setting<string>,
  turnUrls: {
    flag: 'turn-url',
    env: 'PARLOR_TURN_URLS',
    description: 'external TURN: comma-separated turn: or turns: URLs',
    parse: parseTurnUrls,
  } satisfies Setting<readonly string[]>,
  turnSecret: {
    flag: 'turn-secret',
    env: 'PARLOR_TURN_SECRET',
    description:
      'TURN shared secret (external: required; embedded: default generated, kept in the data directory)',
    secret: true,
    parse: (raw) => (raw.length >= 16 ? raw : new Problem('must be at least 16 characters')),
  } satisfies Setting<string>,
  turnCredentialLifetime: {
    flag: 'turn-credential-lifetime',
    env: 'PARLOR_TURN_CREDENTIAL_LIFETIME',
    description: 'seconds the TURN credentials handed to a client are valid (default 86400)',
    parse: (raw) => {
      const seconds = Number(raw);
      return /^[0-9]+$/.test(raw) && seconds >= 60 && seconds <= 30 * 86400
        ? seconds
        : new Problem('must be a whole number of seconds from 60 to 2592000');
    },
  } satisfies Setting<number>,
  archiveMaxDuration: {
    flag: 'archive-max-duration',
    env: 'PARLOR_ARCHIVE_MAX_DURATION',
    description: 'seconds an archive records at most before it stops by itself (default 14400)',
    parse: (raw) => parseSeconds(raw, 1, 86_400),
  } satisfies Setting<number>,
  archiveIdleTimeout: {
    flag: 'archive-idle-timeout',
    env: 'PARLOR_ARCHIVE_IDLE_TIMEOUT',
    description: 'seconds an archive goes on in a session with no clients before it stops (default 60)',
    parse: (raw) => parseSeconds(raw, 0, 3600),
  } satisfies Setting<number>,
  archiveLinkLifetime: {
    flag: 'archive-link-lifetime',
    env: 'PARLOR_ARCHIVE_LINK_LIFETIME',
    description: 'seconds an archive download URL stays valid (default 600)',
    parse: (raw) => parseSeconds(raw, 1, 7 * 86_400),
  } satisfies Setting<number>,
  inspectorRetention: {
    flag: 'inspector-retention',
    env: 'PARLOR_INSPECTOR_RETENTION_DAYS',
    description: 'days the Inspector keeps a session after its last record (default 30)',
    parse: (raw) => wholeNumber(raw, 1, 3650),
  } satisfies Setting<number>,
  sipPort: {
    flag: 'sip-port',
    env: 'PARLOR_SIP_PORT',
    description: 'SIP interconnect port, UDP and TCP (default off: /dial answers 503)',
    parse: (raw) => wholeNumber(raw, 1, 65535),
  } satisfies Setting<number>,
  sipAddress: {
    flag: 'sip-address',
    env: 'PARLOR_SIP_ADDRESS',
    description: 'address SIP Contact headers and SDP announce (default --public-ip)',
    parse: (raw) => (isIP(raw) ? raw : new Problem('must be an IP address')),
  } satisfies Setting<string>,
  sipRtpPorts: {
    flag: 'sip-rtp-ports',
    env: 'PARLOR_SIP_RTP_PORTS',
    description: 'RTP port range of SIP calls, FIRST-LAST (default any free port)',
    parse: (raw) => {
      const match = /^([0-9]+)-([0-9]+)$/.exec(raw);
      const first = Number(match?.[1]);
      const last = Number(match?.[2]);
      return match && first >= 1024 && last >= first && last <= 65535
        ? ([first, last] as const)
        : new Problem('must be FIRST-LAST, from 1024 to 65535');
    },
  } satisfies Setting<readonly [number, number]>,
  sipTlsCa: {
    flag: 'sip-tls-ca',
    env: 'PARLOR_SIP_TLS_CA',
    description: "PEM file of a CA trusted for SIP far ends' TLS certificates, besides the system's",
    parse: (raw) => (existsSync(raw) ? resolve(raw) : new Problem('no such file')),
  } satisfies Setting<string>,
  sipRingTimeout: {
    flag: 'sip-ring-timeout',
    env: 'PARLOR_SIP_RING_TIMEOUT',
    description: 'seconds a dialled SIP endpoint may ring before the call is given up (default 60)',
    parse: (raw) => wholeNumber(raw, 1, 600),
  } satisfies Setting<number>,
  sipTlsPort: {
    flag: 'sip-tls-port',
    env: 'PARLOR_SIP_TLS_PORT',
    description: 'port taking SIP over TLS on --host, with --sip-tls-cert and --sip-tls-key (default off)',
    parse: (raw) => wholeNumber(raw, 1, 65535),
  } satisfies Setting<number>,
  sipTlsCert: {
    flag: 'sip-tls-cert',
    env: 'PARLOR_SIP_TLS_CERT',
    description: 'PEM certificate (chain) file of the SIP TLS listener',
    parse: parseFilePath,
  } satisfies Setting<string>,
  sipTlsKey: {
    flag: 'sip-tls-key',
    env: 'PARLOR_SIP_TLS_KEY',
    description: 'PEM private key file of the SIP TLS listener',
    parse: parseFilePath,
  } satisfies Setting<string>,
  sipMaxCalls: {
    flag: 'sip-max-calls',
    env: 'PARLOR_SIP_MAX_CALLS',
    description: 'SIP calls in progress on this node at once, at most (default 100)',
    parse: (raw) => wholeNumber(raw, 1, 10_000),
  } satisfies Setting<number>,
  sipMaxSessionCalls: {
    flag: 'sip-max-session-calls',
    env: 'PARLOR_SIP_MAX_SESSION_CALLS',
    description: 'SIP calls in progress in one session at once, at most (default 20)',
    parse: (raw) => wholeNumber(raw, 1, 10_000),
  } satisfies Setting<number>,
  sipSilenceTimeout: {
    flag: 'sip-silence-timeout',
    env: 'PARLOR_SIP_SILENCE_TIMEOUT',
    description: 'seconds a SIP call may go without media from the far end before it ends (default 300)',
    parse: (raw) => wholeNumber(raw, 1, 86_400),
  } satisfies Setting<number>,
  sipMaxDuration: {
    flag: 'sip-max-duration',
    env: 'PARLOR_SIP_MAX_DURATION',
    description: 'seconds a SIP call lasts at most (default 21600)',
    parse: (raw) => wholeNumber(raw, 1, 7 * 86_400),
  } satisfies Setting<number>,
  demo: {
    flag: 'demo',
    env: 'PARLOR_DEMO',
    switch: true,
    description: 'serve the demo video chat at /, which gives anyone a publisher token (default off)',
    parse: (raw) =>
      raw === 'true' || raw === '1'
        ? true
        : raw === 'false' || raw === '0'
          ? false
          : new Problem('must be true or false'),
  } satisfies Setting<boolean>,
  webhookMaxQueued: {
    flag: 'webhook-max-queued',
    env: 'PARLOR_WEBHOOK_MAX_QUEUED',
    description: 'callbacks that may wait to be delivered; more are dropped and counted (default 100000)',
    parse: (raw) => wholeNumber(raw, 1, 100_000_000),
  } satisfies Setting<number>,
  httpHeadersTimeout: {
    flag: 'http-headers-timeout',
    env: 'PARLOR_HTTP_HEADERS_TIMEOUT',
    description: "seconds a client has to send a request's headers (default 10)",
    parse: (raw) => parseSeconds(raw, 0.1, 3600),
  } satisfies Setting<number>,
  httpRequestTimeout: {
    flag: 'http-request-timeout',
    env: 'PARLOR_HTTP_REQUEST_TIMEOUT',
    description: 'seconds a client has to send a whole request, body included (default 30)',
    parse: (raw) => parseSeconds(raw, 0.1, 3600),
  } satisfies Setting<number>,
  httpKeepAliveTimeout: {
    flag: 'http-keep-alive-timeout',
    env: 'PARLOR_HTTP_KEEP_ALIVE_TIMEOUT',
    description: 'seconds an idle connection stays open after an answer (default 72)',
    parse: (raw) => parseSeconds(raw, 0.1, 3600),
  } satisfies Setting<number>,
  httpMaxConnections: {
    flag: 'http-max-connections',
    env: 'PARLOR_HTTP_MAX_CONNECTIONS',
    description: 'HTTP and WebSocket connections in all (default: from the descriptor limit)',
    parse: (raw) => parseCount(raw, 1),
  } satisfies Setting<number>,
  httpMaxConnectionsPerAddress: {
    flag: 'http-max-connections-per-address',
    env: 'PARLOR_HTTP_MAX_CONNECTIONS_PER_ADDRESS',
    description: 'HTTP and WebSocket connections from one address or IPv6 /64 (default 1024)',
    parse: (raw) => parseCount(raw, 1),
  } satisfies Setting<number>,
  httpMaxPendingPerAddress: {
    flag: 'http-max-pending-per-address',
    env: 'PARLOR_HTTP_MAX_PENDING_PER_ADDRESS',
    description: 'connections from one address that have gone 1 s without completing a request (default 64)',
    parse: (raw) => parseCount(raw, 1),
  } satisfies Setting<number>,
  redisUrl: {
    flag: 'redis-url',
    env: 'PARLOR_REDIS_URL',
    description:
      'redis:// or rediss:// URL of the Redis a cluster shares; switches cluster mode on (default off)',
    secret: true,
    parse: (raw) => {
      try {
        const url = new URL(raw);
        if (url.protocol === 'redis:' || url.protocol === 'rediss:') return raw;
      } catch {
        // Reported below.
      }
      return new Problem('must be a redis:// or rediss:// URL');
    },
  } satisfies Setting<string>,
  region: {
    flag: 'region',
    env: 'PARLOR_REGION',
    description: 'cluster: the region this node serves, e.g. us, eu, ap (default default)',
    parse: (raw) => (/^[a-z0-9][a-z0-9_-]{0,31}$/.test(raw) ? raw : new Problem(regionNameRule)),
  } satisfies Setting<string>,
  nodeId: {
    flag: 'node-id',
    env: 'PARLOR_NODE_ID',
    description: "cluster: this node's ID (default generated and kept in the data directory)",
    parse: (raw) =>
      /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(raw)
        ? raw
        : new Problem('must be 1 to 64 letters, digits, dots, dashes or underscores'),
  } satisfies Setting<string>,
  internalUrl: {
    flag: 'internal-url',
    env: 'PARLOR_INTERNAL_URL',
    description: 'cluster: URL at which the other nodes reach this one (required in a cluster)',
    parse: parsePublicUrl,
  } satisfies Setting<string>,
  regionsFile: {
    flag: 'regions-file',
    env: 'PARLOR_REGIONS_FILE',
    description: 'cluster: JSON table of countries to regions, replacing the shipped one (docs/cluster.md)',
    parse: parseFilePath,
  } satisfies Setting<string>,
  trustProxy: {
    flag: 'trust-proxy',
    env: 'PARLOR_TRUST_PROXY',
    description:
      'cluster: comma-separated addresses of proxies whose X-Forwarded-For is believed (default none)',
    parse: (raw) => parseAddressList(raw, false),
  } satisfies Setting<readonly string[]>,
  maxStreams: {
    flag: 'max-streams',
    env: 'PARLOR_MAX_STREAMS',
    description: 'cluster: streams past which this node takes no new session (default no limit)',
    parse: (raw) => parseCount(raw, 1),
  } satisfies Setting<number>,
  drainTimeout: {
    flag: 'drain-timeout',
    env: 'PARLOR_DRAIN_TIMEOUT',
    description:
      'cluster: seconds a draining node waits for its sessions to move before it exits (default 60)',
    parse: (raw) => parseSeconds(raw, 0, 86_400),
  } satisfies Setting<number>,
  clusterSecret: {
    flag: 'cluster-secret',
    env: 'PARLOR_CLUSTER_SECRET',
    description:
      'cluster: secret the nodes share; signs calls between nodes (forwarding) and is the bearer token of /v2/cluster/nodes (default none: both refused)',
    secret: true,
    parse: (raw) =>
      /^[\x21-\x7e]{16,}$/.test(raw)
        ? raw
        : new Problem('must be at least 16 printable characters, no spaces'),
  } satisfies Setting<string>,
  ffmpeg: {
    flag: 'ffmpeg',
    env: 'PARLOR_FFMPEG',
    description:
      'ffmpeg program that composes archives, ffprobe beside it; both must run (default ffmpeg on the PATH, archiving off if missing)',
    parse: (raw) => (raw.trim() === '' ? new Problem('must not be empty') : raw.trim()),
  } satisfies Setting<string>,
};

/** The command-line options of the settings that have a flag, for `node:util` `parseArgs`. */
export const configFlags = Object.fromEntries(
  Object.values(settings)
    .filter((setting) => setting.flag !== null)
    .map((setting) => [setting.flag, { type: 'switch' in setting ? 'boolean' : 'string' }]),
) as Record<string, { type: 'string' | 'boolean' }>;

/** One line per setting, for `parlor --help`. */
export function describeSettings(): string {
  const all: readonly Setting<unknown>[] = Object.values(settings);
  const flagWidth = Math.max(...all.map((s) => (s.flag ? s.flag.length + 2 : 0)));
  const envWidth = Math.max(...all.map((s) => s.env.length));
  return all
    .map(
      (s) =>
        `  ${(s.flag ? `--${s.flag}` : '').padEnd(flagWidth)} ${s.env.padEnd(envWidth)} ${s.description}`,
    )
    .join('\n');
}

const regionNameRule = 'must be 1 to 32 lowercase letters, digits, dashes or underscores';

/** A whole number from `min` to `max`, or the problem with it. */
function wholeNumber(raw: string, min: number, max: number): number | Problem {
  const value = Number(raw);
  return /^[0-9]+$/.test(raw) && value >= min && value <= max
    ? value
    : new Problem(`must be a whole number from ${min} to ${max}`);
}

/** The configuration is invalid; `problems` lists every problem found, one per setting. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;
type Flags = Readonly<Record<string, string | boolean | undefined>>;

/** Reads a setting from the flags, else the environment (undefined when neither has it); each problem is pushed to `problems`. */
function settingReader(
  env: Env,
  flags: Flags,
  problems: string[],
): <T>(setting: Setting<T>) => T | undefined {
  return <T>(setting: Setting<T>): T | undefined => {
    const fromFlag = setting.flag === null ? undefined : flags[setting.flag];
    const raw = fromFlag === true ? 'true' : typeof fromFlag === 'string' ? fromFlag : env[setting.env];
    if (raw === undefined) return undefined;
    const value = setting.parse(raw);
    if (!(value instanceof Problem)) return value;
    const source = fromFlag !== undefined ? `--${setting.flag}` : setting.env;
    problems.push(
      setting.secret ? `${source}: ${value.message}` : `${source}=${JSON.stringify(raw)}: ${value.message}`,
    );
    return undefined;
  };
}

/** What `parlor node drain` reads of a node's settings: nothing else, so nothing else must be valid. */
export interface DrainConfig {
  readonly clusterSecret: string | null;
  readonly internalUrl: string | null;
}

/** Reads `parlor node drain`'s settings as `loadConfig` reads them; throws a `ConfigError` naming each problem. */
export function loadDrainConfig(env: Env, flags: Flags = {}): DrainConfig {
  const problems: string[] = [];
  const read = settingReader(env, flags, problems);
  const config = {
    clusterSecret: read(settings.clusterSecret) ?? null,
    internalUrl: read(settings.internalUrl) ?? null,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/**
 * Reads the configuration from the environment and parsed command-line flags (a flag wins over
 * its variable), validates every setting and reports all problems at once.
 */
export function loadConfig(env: Env, flags: Flags = {}): Config {
  const problems: string[] = [];
  const read = settingReader(env, flags, problems);

  const port = read(settings.port) ?? 3000;
  const host = read(settings.host) ?? '0.0.0.0';
  const dataDir = read(settings.dataDir) ?? resolve('data');
  const databaseUrl = read(settings.databaseUrl) ?? null;
  const publicUrl = read(settings.publicUrl) ?? null;
  const logLevel = read(settings.logLevel) ?? 'info';
  const apiKey = read(settings.apiKey);
  const apiSecret = read(settings.apiSecret);
  const reconnectGraceSeconds = read(settings.reconnectGrace) ?? 20;
  const iceServers = read(settings.iceServers) ?? [];
  const signalingRate = read(settings.signalingRate) ?? 50;
  const signalingLimits = Object.freeze({
    queueBytes: read(settings.signalingQueueBytes) ?? 1024 * 1024,
    fanOutRate: read(settings.signalingFanOutRate) ?? 4 * 1024 * 1024,
    connectionsPerToken: read(settings.signalingConnectionsPerToken) ?? 100,
  });
  const publicIp = read(settings.publicIp) ?? '127.0.0.1';
  const mediaPort = read(settings.mediaPort) ?? 40000;
  const mediaWorkers = read(settings.mediaWorkers) ?? availableParallelism();
  const metricsToken = read(settings.metricsToken) ?? null;
  const callbackAllowedIps = read(settings.callbackAllowedIps) ?? Object.freeze([]);
  const mediaTcpLimits = Object.freeze({
    authTimeoutMs: read(settings.mediaTcpAuthTimeoutMs) ?? defaultTcpLimits.authTimeoutMs,
    maxPendingPerAddress: read(settings.mediaTcpPendingPerAddress) ?? defaultTcpLimits.maxPendingPerAddress,
  });
  const mediaAdmission = Object.freeze({
    maxLagMs: read(settings.mediaAdmissionMaxLagMs) ?? defaultAdmissionSettings.maxLagMs,
    maxUtilization: read(settings.mediaAdmissionMaxUtilization) ?? defaultAdmissionSettings.maxUtilization,
  });
  const dtlsHandshakes = Object.freeze({
    ...defaultHandshakeLimits,
    maxConcurrent: read(settings.dtlsHandshakeConcurrency) ?? defaultHandshakeLimits.maxConcurrent,
    perSecond: read(settings.dtlsHandshakesPerSecond) ?? defaultHandshakeLimits.perSecond,
  });
  const dataPlane = read(settings.dataPlane) ?? defaultDataPlane;
  const mediaBatchedReads = read(settings.mediaBatchedReads) ?? dataPlane === 'native';
  if (mediaBatchedReads && dataPlane !== 'native')
    problems.push('--media-batched-reads on needs --data-plane native');
  const publisherFeedback = read(settings.publisherFeedback) ?? 'transport-wide';
  if (mediaPort !== 0 && mediaPort + mediaWorkers - 1 > 65535) {
    problems.push(`--media-port ${mediaPort} leaves no room for ${mediaWorkers} media workers' ports`);
  }
  if ((env[settings.apiKey.env] === undefined) !== (env[settings.apiSecret.env] === undefined)) {
    problems.push(`${settings.apiKey.env} and ${settings.apiSecret.env} must be given together`);
  }
  const turn = readTurn(read, problems);
  const audioFallback = readAudioFallback(read, problems);
  const adaptiveRouting = read(settings.adaptiveRouting) ?? true;
  const archive = Object.freeze({
    maxDurationSeconds: read(settings.archiveMaxDuration) ?? 14_400,
    idleTimeoutSeconds: read(settings.archiveIdleTimeout) ?? 60,
    linkLifetimeSeconds: read(settings.archiveLinkLifetime) ?? 600,
    ffmpegPath: read(settings.ffmpeg) ?? null,
  });
  const demo = read(settings.demo) ?? false;
  const webhookMaxQueued = read(settings.webhookMaxQueued) ?? 100_000;
  const http = readHttp(read, problems);
  const sip = readSip(read, problems, publicIp);
  const cluster = readCluster(read, problems, publicUrl, databaseUrl);
  const inspectorRetentionDays = read(settings.inspectorRetention) ?? 30;
  if (problems.length > 0 || turn === undefined) throw new ConfigError(problems);

  const defaultProjectCredentials =
    apiKey !== undefined && apiSecret !== undefined ? Object.freeze({ apiKey, apiSecret }) : null;
  return Object.freeze({
    port,
    host,
    dataDir,
    databaseUrl,
    publicUrl,
    logLevel,
    defaultProjectCredentials,
    reconnectGraceSeconds,
    iceServers,
    signalingRate,
    signalingLimits,
    publicIp,
    mediaPort,
    mediaWorkers,
    mediaTcpLimits,
    mediaAdmission,
    dtlsHandshakes,
    dataPlane,
    mediaBatchedReads,
    publisherFeedback,
    audioFallback,
    adaptiveRouting,
    metricsToken,
    callbackAllowedIps,
    turn,
    archive,
    demo,
    webhookMaxQueued,
    http,
    sip,
    cluster,
    inspectorRetentionDays,
  });
}

/** Reads the cluster settings: all of them need `--redis-url`, which needs both URLs. */
function readCluster(
  read: <T>(setting: Setting<T>) => T | undefined,
  problems: string[],
  publicUrl: string | null,
  databaseUrl: string | null,
): ClusterConfig | null {
  const redisUrl = read(settings.redisUrl);
  const given = {
    region: read(settings.region),
    nodeId: read(settings.nodeId),
    internalUrl: read(settings.internalUrl),
    regionsFile: read(settings.regionsFile),
    trustProxy: read(settings.trustProxy),
    maxStreams: read(settings.maxStreams),
    drainTimeout: read(settings.drainTimeout),
    clusterSecret: read(settings.clusterSecret),
  };
  if (redisUrl === undefined) {
    const stray = (Object.keys(given) as (keyof typeof given)[])
      .filter((key) => given[key] !== undefined)
      .map((key) => `--${settings[key].flag}`);
    if (stray.length > 0) problems.push(`${stray.join(', ')}: only apply to a cluster node (--redis-url)`);
    return null;
  }
  if (databaseUrl === null)
    problems.push(
      '--redis-url needs --database-url: the nodes of a cluster keep their records in one PostgreSQL',
    );
  if (publicUrl === null) problems.push('--redis-url needs --public-url: how clients reach this node');
  if (given.internalUrl === undefined)
    problems.push('--redis-url needs --internal-url: how the other nodes reach this one');
  return Object.freeze({
    redisUrl,
    region: given.region ?? 'default',
    nodeId: given.nodeId ?? null,
    publicUrl: publicUrl ?? '',
    internalUrl: given.internalUrl ?? '',
    regionsFile: given.regionsFile ?? null,
    trustProxy: given.trustProxy ?? Object.freeze([]),
    maxStreams: given.maxStreams ?? null,
    drainTimeoutSeconds: given.drainTimeout ?? 60,
    secret: given.clusterSecret ?? null,
  });
}

/** Reads the HTTP server's timeouts and caps. */
function readHttp(read: <T>(setting: Setting<T>) => T | undefined, problems: string[]): HttpConfig {
  const http = Object.freeze({
    headersTimeoutSeconds: read(settings.httpHeadersTimeout) ?? 10,
    requestTimeoutSeconds: read(settings.httpRequestTimeout) ?? 30,
    keepAliveTimeoutSeconds: read(settings.httpKeepAliveTimeout) ?? 72,
    maxConnections: read(settings.httpMaxConnections) ?? null,
    maxConnectionsPerAddress: read(settings.httpMaxConnectionsPerAddress) ?? 1024,
    maxPendingPerAddress: read(settings.httpMaxPendingPerAddress) ?? 64,
  });
  if (http.headersTimeoutSeconds > http.requestTimeoutSeconds)
    problems.push('--http-headers-timeout must not exceed --http-request-timeout');
  return http;
}

/** Reads SIP interconnect's settings: null without --sip-port, where the others are a problem. */
function readSip(
  read: <T>(setting: Setting<T>) => T | undefined,
  problems: string[],
  publicIp: string,
): SipConfig | null {
  const port = read(settings.sipPort);
  const others = Object.entries(settings).filter(([name]) => name.startsWith('sip') && name !== 'sipPort');
  if (port === undefined) {
    const stray = others.filter(([, setting]) => read(setting as Setting<unknown>) !== undefined);
    if (stray.length > 0)
      problems.push(
        `${stray.map(([, setting]) => `--${setting.flag}`).join(', ')}: only apply with --sip-port`,
      );
    return null;
  }
  const tlsPort = read(settings.sipTlsPort);
  const certPath = read(settings.sipTlsCert);
  const keyPath = read(settings.sipTlsKey);
  const tlsGiven = [tlsPort, certPath, keyPath].filter((value) => value !== undefined).length;
  if (tlsGiven > 0 && tlsGiven < 3)
    problems.push('--sip-tls-port, --sip-tls-cert and --sip-tls-key must be given together');
  return Object.freeze({
    port,
    advertisedAddress: read(settings.sipAddress) ?? publicIp,
    rtpPorts: read(settings.sipRtpPorts) ?? ([0, 0] as const),
    ringTimeoutSeconds: read(settings.sipRingTimeout) ?? 60,
    tlsCaPath: read(settings.sipTlsCa) ?? null,
    tls:
      tlsPort !== undefined && certPath !== undefined && keyPath !== undefined
        ? Object.freeze({ port: tlsPort, certPath, keyPath })
        : null,
    maxCalls: read(settings.sipMaxCalls) ?? 100,
    maxCallsPerSession: read(settings.sipMaxSessionCalls) ?? 20,
    silenceTimeoutSeconds: read(settings.sipSilenceTimeout) ?? 300,
    maxDurationSeconds: read(settings.sipMaxDuration) ?? 21_600,
  });
}

/** Reads audio fallback's switch and thresholds; thresholds with fallback off are a problem. */
function readAudioFallback(
  read: <T>(setting: Setting<T>) => T | undefined,
  problems: string[],
): VideoFallbackSettings | null {
  const on = read(settings.audioFallback) ?? true;
  const given = {
    congestedLoss: read(settings.audioFallbackLoss),
    warnAfterMs: read(settings.audioFallbackWarnMs),
    disableAfterMs: read(settings.audioFallbackDisableMs),
    liftAfterMs: read(settings.audioFallbackLiftMs),
    probeIntervalMs: read(settings.audioFallbackProbeIntervalMs),
    maxProbeIntervalMs: read(settings.audioFallbackMaxProbeIntervalMs),
    probeMs: read(settings.audioFallbackProbeMs),
  };
  if (!on) {
    if (Object.values(given).some((value) => value !== undefined))
      problems.push('--audio-fallback-*: thresholds do not apply to --audio-fallback off');
    return null;
  }
  const fallback = { ...defaultVideoFallbackSettings };
  for (const [key, value] of Object.entries(given) as [keyof VideoFallbackSettings, number | undefined][])
    if (value !== undefined) fallback[key] = value;
  if (fallback.maxProbeIntervalMs < fallback.probeIntervalMs)
    problems.push(
      '--audio-fallback-max-probe-interval-ms must not be below --audio-fallback-probe-interval-ms',
    );
  return Object.freeze(fallback);
}

/** Reads the TURN settings; a setting that does not apply to the chosen mode is a problem. */
function readTurn(
  read: <T>(setting: Setting<T>) => T | undefined,
  problems: string[],
): TurnConfig | undefined {
  const urls = read(settings.turnUrls);
  const mode = read(settings.turn) ?? (urls ? 'external' : existsSync(turnserverPath) ? 'embedded' : 'off');
  const secret = read(settings.turnSecret);
  const credentialLifetimeSeconds = read(settings.turnCredentialLifetime) ?? 86400;
  const embedded = {
    turnPort: read(settings.turnPort),
    turnTlsPort: read(settings.turnTlsPort),
    turnRelayPorts: read(settings.turnRelayPorts),
    turnRealm: read(settings.turnRealm),
    turnHost: read(settings.turnHost),
    turnListenIps: read(settings.turnListenIps),
    turnRelayIp: read(settings.turnRelayIp),
    turnAllowedPeerIps: read(settings.turnAllowedPeerIps),
    turnCert: read(settings.turnCert),
    turnPkey: read(settings.turnPkey),
  };
  const embeddedGiven = (Object.keys(embedded) as (keyof typeof embedded)[])
    .filter((key) => embedded[key] !== undefined)
    .map((key) => `--${settings[key].flag}`);
  if (mode !== 'embedded' && embeddedGiven.length > 0) {
    problems.push(`${embeddedGiven.join(', ')}: only with --turn embedded, not ${mode}`);
  }
  if (mode !== 'external' && urls !== undefined) {
    problems.push(`--turn-url: only applies to --turn external, not ${mode}`);
  }
  if (mode === 'off') {
    if (secret !== undefined) problems.push('--turn-secret: does not apply to --turn off');
    return Object.freeze({ mode });
  }
  if (mode === 'external') {
    if (urls === undefined || secret === undefined) {
      problems.push('--turn external needs --turn-url and --turn-secret');
      return undefined;
    }
    return Object.freeze({ mode, urls, secret, credentialLifetimeSeconds });
  }
  if (!existsSync(turnserverPath)) {
    problems.push(`--turn embedded needs coturn (${turnserverPath}): apt-get install coturn`);
  }
  const { turnCert: cert, turnPkey: pkey } = embedded;
  if ((cert === undefined) !== (pkey === undefined)) {
    problems.push('--turn-cert and --turn-pkey must be given together');
  }
  return Object.freeze({
    mode,
    port: embedded.turnPort ?? 3478,
    tlsPort: embedded.turnTlsPort ?? 5349,
    relayPorts: embedded.turnRelayPorts ?? Object.freeze({ min: 49152, max: 65535 }),
    realm: embedded.turnRealm ?? 'parlor',
    host: embedded.turnHost ?? null,
    listenIps: embedded.turnListenIps ?? Object.freeze([]),
    relayIp: embedded.turnRelayIp ?? null,
    allowedPeerIps: embedded.turnAllowedPeerIps ?? Object.freeze([]),
    tls: cert !== undefined && pkey !== undefined ? Object.freeze({ cert, pkey }) : null,
    secret: secret ?? null,
    credentialLifetimeSeconds,
  });
}

function parsePort(raw: string, min: number): number | Problem {
  const port = Number(raw);
  return /^[0-9]+$/.test(raw) && port >= min && port <= 65535 ? port : new Problem(`must be ${min} to 65535`);
}

/** A whole number from `min` up. */
function parseCount(raw: string, min: number): number | Problem {
  const count = Number(raw);
  return /^[0-9]+$/.test(raw) && count >= min && count <= 10_000_000
    ? count
    : new Problem(`must be a whole number from ${min} to 10000000`);
}

/** A whole number of milliseconds from `min` to an hour. */
function parseMilliseconds(raw: string, min: number): number | Problem {
  const ms = Number(raw);
  return /^[0-9]+$/.test(raw) && ms >= min && ms <= 3_600_000
    ? ms
    : new Problem(`must be a whole number of milliseconds from ${min} to 3600000`);
}

/** A number of seconds, decimals allowed, from `min` to `max`. */
function parseSeconds(raw: string, min: number, max: number): number | Problem {
  const seconds = Number(raw);
  return /^[0-9]+(\.[0-9]+)?$/.test(raw) && seconds >= min && seconds <= max
    ? seconds
    : new Problem(`must be a number of seconds from ${min} to ${max}`);
}

function parsePortRange(raw: string): { min: number; max: number } | Problem {
  const match = /^([0-9]+)-([0-9]+)$/.exec(raw.trim());
  const [min, max] = [Number(match?.[1]), Number(match?.[2])];
  return match && min >= 1024 && min <= max && max <= 65535
    ? Object.freeze({ min, max })
    : new Problem('must be MIN-MAX with 1024 <= MIN <= MAX <= 65535');
}

/** Comma-separated IP addresses, and when `ranges`, `a-b` ranges of the same family. */
function parseAddressList(raw: string, ranges: boolean): readonly string[] | Problem {
  const entries = raw.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const ends = ranges ? entry.split('-') : [entry];
    const families = ends.map((end) => isIP(end));
    if (ends.length > 2 || families.includes(0) || families.some((family) => family !== families[0])) {
      return new Problem(`${JSON.stringify(entry)} is not an IP address${ranges ? ' or an A-B range' : ''}`);
    }
    // coturn 4.6 reads a range from :: as all of IPv4 too, and one to 0.0.0.0 or :: as unbounded.
    const unspecified = (end = ''): boolean => /^(0\.0\.0\.0|[0:]*::?[0:]*)$/.test(end);
    if (ranges && ((families[0] === 6 && unspecified(ends[0])) || unspecified(ends.at(-1)))) {
      return new Problem(`${JSON.stringify(entry)} would let coturn relay to every address`);
    }
  }
  return Object.freeze(entries);
}

function parseDatabaseUrl(raw: string): string | Problem {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return new Problem('must be a postgres:// or postgresql:// URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    return new Problem('must be a postgres:// or postgresql:// URL');
  if (url.hostname === '' && !url.searchParams.has('host')) return new Problem('names no host');
  return raw;
}

function parseFilePath(raw: string): string | Problem {
  const path = resolve(raw);
  return existsSync(path) ? path : new Problem('no such file');
}

function parseTurnUrls(raw: string): readonly string[] | Problem {
  const urls = raw.split(',').map((url) => url.trim());
  const bad = urls.find((url) => !/^turns?:[^\s,]+$/.test(url));
  return bad === undefined
    ? Object.freeze(urls)
    : new Problem(`${JSON.stringify(bad)} is not a turn: or turns: URL`);
}

function parsePublicUrl(raw: string): string | Problem {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return new Problem('must be an absolute http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return new Problem('must be an absolute http or https URL');
  }
  if (url.search || url.hash) return new Problem('must have no query or fragment');
  return url.href.replace(/\/+$/, '');
}

function problemOr<T>(problem: string | null, value: T): T | Problem {
  return problem === null ? value : new Problem(problem);
}

const iceUrlPattern = /^(stun|stuns|turn|turns):[^\s,]+$/;

/**
 * Reads ICE servers: comma-separated STUN/TURN URLs, or a JSON array of `RTCIceServer` objects
 * (needed for TURN credentials). The result is deeply frozen.
 */
function parseIceServers(raw: string): readonly IceServer[] | Problem {
  const text = raw.trim();
  if (!text.startsWith('[')) {
    const urls = text === '' ? [] : text.split(',').map((url) => url.trim());
    const bad = urls.find((url) => !iceUrlPattern.test(url));
    if (bad !== undefined)
      return new Problem(`${JSON.stringify(bad)} is not a stun:, stuns:, turn: or turns: URL`);
    return Object.freeze(urls.map((url) => Object.freeze({ urls: url })));
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return new Problem('must be comma-separated URLs or a JSON array of ICE servers');
  }
  if (!Array.isArray(parsed))
    return new Problem('must be comma-separated URLs or a JSON array of ICE servers');
  const servers = (parsed as unknown[]).map(iceServerOf);
  const problem = servers.find((server) => server instanceof Problem);
  return problem ?? Object.freeze(servers as IceServer[]);
}

function iceServerOf(entry: unknown): IceServer | Problem {
  if (typeof entry !== 'object' || entry === null) return new Problem('each ICE server must be an object');
  const { urls, username, credential } = entry as Record<string, unknown>;
  const list: unknown[] = Array.isArray(urls) ? urls : [urls];
  if (list.length === 0 || !list.every((url) => typeof url === 'string' && iceUrlPattern.test(url))) {
    return new Problem('each ICE server needs urls: stun:, stuns:, turn: or turns: URLs');
  }
  const server: IceServer = { urls: urls as string | string[] };
  for (const [key, value] of Object.entries({ username, credential })) {
    if (value === undefined) continue;
    if (typeof value !== 'string') return new Problem(`ICE server ${key} must be a string`);
    server[key as 'username' | 'credential'] = value;
  }
  return Object.freeze(server);
}
