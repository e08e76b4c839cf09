import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { defaultVideoFallbackSettings } from '../media/router/VideoFallback.js';
import { defaultDataPlane, nativeAddon } from '../media/srtp/dataPlane.js';
import { ConfigError, loadConfig, turnserverPath } from './config.js';

const embeddedTurnDefaults = {
  mode: 'embedded',
  port: 3478,
  tlsPort: 5349,
  relayPorts: { min: 49152, max: 65535 },
  realm: 'parlor',
  host: null,
  listenIps: [],
  relayIp: null,
  allowedPeerIps: [],
  tls: null,
  secret: null,
  credentialLifetimeSeconds: 86400,
};

describe('loadConfig', () => {
  it('has embedded defaults for everything', () => {
    assert.deepEqual(loadConfig({}), {
      port: 3000,
      host: '0.0.0.0',
      dataDir: resolve('data'),
      databaseUrl: null,
      publicUrl: null,
      logLevel: 'info',
      defaultProjectCredentials: null,
      reconnectGraceSeconds: 20,
      iceServers: [],
      signalingRate: 50,
      signalingLimits: { queueBytes: 1024 * 1024, fanOutRate: 4 * 1024 * 1024, connectionsPerToken: 100 },
      publicIp: '127.0.0.1',
      mediaPort: 40000,
      mediaWorkers: availableParallelism(),
      mediaTcpLimits: { authTimeoutMs: 10_000, maxPendingPerAddress: 32 },
      mediaAdmission: { maxLagMs: 200, maxUtilization: 0.9 },
      dtlsHandshakes: {
        maxConcurrent: 8,
        perSecond: 200,
        maxQueued: 256,
        queueTimeoutMs: 10_000,
        holdTimeoutMs: 10_000,
      },
      dataPlane: defaultDataPlane,
      mediaBatchedReads: defaultDataPlane === 'native',
      publisherFeedback: 'transport-wide',
      audioFallback: defaultVideoFallbackSettings,
      adaptiveRouting: true,
      metricsToken: null,
      callbackAllowedIps: [],
      turn: existsSync(turnserverPath) ? embeddedTurnDefaults : { mode: 'off' },
      archive: {
        maxDurationSeconds: 14_400,
        idleTimeoutSeconds: 60,
        linkLifetimeSeconds: 600,
        ffmpegPath: null,
      },
      demo: false,
      webhookMaxQueued: 100_000,
      http: {
        headersTimeoutSeconds: 10,
        requestTimeoutSeconds: 30,
        keepAliveTimeoutSeconds: 72,
        maxConnections: null,
        maxConnectionsPerAddress: 1024,
        maxPendingPerAddress: 64,
      },
      cluster: null,
      sip: null,
      inspectorRetentionDays: 30,
    });
  });

  it('takes the Inspector retention in days and refuses zero', () => {
    assert.equal(loadConfig({}, { 'inspector-retention': '7' }).inspectorRetentionDays, 7);
    assert.throws(
      () => loadConfig({ PARLOR_INSPECTOR_RETENTION_DAYS: '0' }),
      /PARLOR_INSPECTOR_RETENTION_DAYS/,
    );
  });

  it('turns SIP on with a port, and refuses a bad address or RTP range', () => {
    assert.deepEqual(loadConfig({ PARLOR_SIP_PORT: '5060', PARLOR_PUBLIC_IP: '192.0.2.7' }).sip, {
      port: 5060,
      advertisedAddress: '192.0.2.7',
      rtpPorts: [0, 0],
      ringTimeoutSeconds: 60,
      tlsCaPath: null,
      tls: null,
      maxCalls: 100,
      maxCallsPerSession: 20,
      silenceTimeoutSeconds: 300,
      maxDurationSeconds: 21_600,
    });
    assert.deepEqual(
      loadConfig({}, { 'sip-port': '5070', 'sip-rtp-ports': '20000-20100' }).sip?.rtpPorts,
      [20000, 20100],
    );
    assert.throws(
      () => loadConfig({ PARLOR_SIP_PORT: '5060', PARLOR_SIP_ADDRESS: 'here', PARLOR_SIP_RTP_PORTS: '9-1' }),
      (error: unknown) => error instanceof ConfigError && error.problems.length === 2,
    );
  });

  it('reads the SIP limits and TLS listener, which need --sip-port, and TLS needs all three settings', () => {
    const sip = loadConfig(
      {},
      {
        'sip-port': '5060',
        'sip-max-calls': '7',
        'sip-max-session-calls': '2',
        'sip-silence-timeout': '30',
        'sip-max-duration': '600',
        'sip-tls-port': '5061',
        'sip-tls-cert': 'package.json',
        'sip-tls-key': 'package.json',
      },
    ).sip;
    assert.equal(sip?.maxCalls, 7);
    assert.equal(sip.maxCallsPerSession, 2);
    assert.equal(sip.silenceTimeoutSeconds, 30);
    assert.equal(sip.maxDurationSeconds, 600);
    assert.equal(sip.tls?.port, 5061);
    assert.throws(
      () => loadConfig({ PARLOR_SIP_PORT: '5060', PARLOR_SIP_TLS_PORT: '5061' }),
      /must be given together/,
    );
    assert.throws(() => loadConfig({ PARLOR_SIP_MAX_CALLS: '5' }), /only apply with --sip-port/);
    assert.throws(() => loadConfig({ PARLOR_SIP_PORT: '5060', PARLOR_SIP_MAX_CALLS: '0' }), ConfigError);
  });

  it("reads the publishers' congestion feedback, and refuses any other", () => {
    assert.equal(loadConfig({ PARLOR_PUBLISHER_FEEDBACK: 'remb' }).publisherFeedback, 'remb');
    assert.throws(() => loadConfig({}, { 'publisher-feedback': 'twcc' }), /publisher-feedback/);
  });

  it('reads batched media reads, on the native data plane only (and by default there)', () => {
    if (nativeAddon.available) {
      assert.equal(loadConfig({ PARLOR_DATA_PLANE: 'native' }).mediaBatchedReads, true);
      assert.equal(loadConfig({ PARLOR_MEDIA_BATCHED_READS: 'off' }).mediaBatchedReads, false);
    }
    assert.equal(loadConfig({ PARLOR_DATA_PLANE: 'js' }).mediaBatchedReads, false);
    assert.throws(
      () => loadConfig({ PARLOR_MEDIA_BATCHED_READS: 'on', PARLOR_DATA_PLANE: 'js' }),
      /--media-batched-reads on needs --data-plane native/,
    );
    assert.throws(() => loadConfig({}, { 'media-batched-reads': 'yes' }), /media-batched-reads/);
  });

  it('reads the data plane, and refuses any other', () => {
    assert.equal(loadConfig({ PARLOR_DATA_PLANE: 'js' }).dataPlane, 'js');
    assert.equal(loadConfig({}, { 'data-plane': 'js' }).dataPlane, 'js');
    assert.throws(
      () => loadConfig({ PARLOR_DATA_PLANE: 'wasm' }),
      (error: unknown) => error instanceof ConfigError && error.problems.length === 1,
    );
  });

  it("reads the media workers' admission thresholds, and refuses those out of range", () => {
    assert.deepEqual(
      loadConfig({ PARLOR_MEDIA_ADMISSION_MAX_LAG_MS: '250' }, { 'media-admission-max-utilization': '0.75' })
        .mediaAdmission,
      { maxLagMs: 250, maxUtilization: 0.75 },
    );
    assert.throws(
      () =>
        loadConfig({ PARLOR_MEDIA_ADMISSION_MAX_LAG_MS: '0', PARLOR_MEDIA_ADMISSION_MAX_UTILIZATION: '1.5' }),
      (error: unknown) => error instanceof ConfigError && error.problems.length === 2,
    );
  });

  it("reads the media workers' DTLS handshake limits, and refuses those out of range", () => {
    const { dtlsHandshakes } = loadConfig(
      { PARLOR_DTLS_HANDSHAKES_PER_SECOND: '50' },
      { 'dtls-handshake-concurrency': '2' },
    );
    assert.equal(dtlsHandshakes.maxConcurrent, 2);
    assert.equal(dtlsHandshakes.perSecond, 50);
    assert.throws(
      () => loadConfig({ PARLOR_DTLS_HANDSHAKES_PER_SECOND: '0', PARLOR_DTLS_HANDSHAKE_CONCURRENCY: 'many' }),
      (error: unknown) => error instanceof ConfigError && error.problems.length === 2,
    );
  });

  it('reads the ICE-TCP limits, and refuses those out of range', () => {
    assert.deepEqual(
      loadConfig({ PARLOR_MEDIA_TCP_AUTH_TIMEOUT_MS: '2500' }, { 'media-tcp-pending-per-address': '4' })
        .mediaTcpLimits,
      { authTimeoutMs: 2500, maxPendingPerAddress: 4 },
    );
    assert.throws(
      () => loadConfig({ PARLOR_MEDIA_TCP_AUTH_TIMEOUT_MS: '10', PARLOR_MEDIA_TCP_PENDING_PER_ADDRESS: '0' }),
      (error: unknown) => error instanceof ConfigError && error.problems.length === 2,
    );
  });

  it("reads the HTTP server's timeouts in seconds and its connection caps, headers no slower than requests", () => {
    const env = {
      PARLOR_HTTP_HEADERS_TIMEOUT: '2.5',
      PARLOR_HTTP_REQUEST_TIMEOUT: '5',
      PARLOR_HTTP_KEEP_ALIVE_TIMEOUT: '60',
      PARLOR_HTTP_MAX_CONNECTIONS: '5000',
      PARLOR_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '200',
      PARLOR_HTTP_MAX_PENDING_PER_ADDRESS: '16',
    };
    assert.deepEqual(loadConfig(env).http, {
      headersTimeoutSeconds: 2.5,
      requestTimeoutSeconds: 5,
      keepAliveTimeoutSeconds: 60,
      maxConnections: 5000,
      maxConnectionsPerAddress: 200,
      maxPendingPerAddress: 16,
    });
    assert.throws(
      () =>
        loadConfig(
          {},
          { 'http-headers-timeout': '40', 'http-max-connections': '0', 'http-max-pending-per-address': 'x' },
        ),
      (error) =>
        error instanceof ConfigError &&
        error.problems.length === 3 &&
        error.problems.some((problem) => /must not exceed --http-request-timeout/.test(problem)),
    );
  });

  it('reads the archive settings in seconds, and refuses those out of range', () => {
    const env = {
      PARLOR_ARCHIVE_MAX_DURATION: '7200',
      PARLOR_ARCHIVE_IDLE_TIMEOUT: '0.5',
      PARLOR_ARCHIVE_LINK_LIFETIME: '60',
      PARLOR_FFMPEG: '/opt/ffmpeg/bin/ffmpeg',
    };
    assert.deepEqual(loadConfig(env).archive, {
      maxDurationSeconds: 7200,
      idleTimeoutSeconds: 0.5,
      linkLifetimeSeconds: 60,
      ffmpegPath: '/opt/ffmpeg/bin/ffmpeg',
    });
    assert.throws(
      () => loadConfig({}, { 'archive-max-duration': '0', 'archive-link-lifetime': 'ten', ffmpeg: ' ' }),
      (error) => error instanceof ConfigError && error.problems.length === 3,
    );
  });

  it("reads audio fallback's thresholds over the defaults, loss in percent, or turns it off", () => {
    const config = loadConfig(
      { PARLOR_AUDIO_FALLBACK_LOSS: '10', PARLOR_AUDIO_FALLBACK_PROBE_MS: '1500' },
      { 'audio-fallback-warn-ms': '250', 'audio-fallback-max-probe-interval-ms': '8000' },
    );
    assert.deepEqual(config.audioFallback, {
      ...defaultVideoFallbackSettings,
      congestedLoss: 0.1,
      warnAfterMs: 250,
      probeMs: 1500,
      maxProbeIntervalMs: 8000,
    });
    assert.equal(loadConfig({ PARLOR_AUDIO_FALLBACK: 'off' }).audioFallback, null);
  });

  it('turns adaptive routing on by default, off with --adaptive-routing off, and refuses anything else', () => {
    assert.equal(loadConfig({}).adaptiveRouting, true);
    assert.equal(loadConfig({}, { 'adaptive-routing': 'off' }).adaptiveRouting, false);
    assert.throws(
      () => loadConfig({ PARLOR_ADAPTIVE_ROUTING: 'maybe' }),
      /PARLOR_ADAPTIVE_ROUTING="maybe": must be on or off/,
    );
  });

  it('refuses audio fallback thresholds out of range, probes backing off to less, or thresholds with it off', () => {
    for (const [flags, problem] of [
      [{ 'audio-fallback-loss': '100' }, /--audio-fallback-loss="100": must be a percentage/],
      [{ 'audio-fallback-disable-ms': '1.5' }, /--audio-fallback-disable-ms="1.5": must be a whole number/],
      [{ 'audio-fallback': 'maybe' }, /--audio-fallback="maybe": must be on or off/],
      [
        { 'audio-fallback-probe-interval-ms': '10000', 'audio-fallback-max-probe-interval-ms': '5000' },
        /max-probe-interval-ms must not be below/,
      ],
      [{ 'audio-fallback': 'off', 'audio-fallback-probe-ms': '100' }, /do not apply to --audio-fallback off/],
    ] as const) {
      assert.throws(() => loadConfig({}, flags), problem);
    }
  });

  it('reads the environment, and a flag wins over its variable', () => {
    const config = loadConfig(
      {
        PORT: '4000',
        HOST: '127.0.0.1',
        PARLOR_DATA_DIR: '/tmp/a',
        PARLOR_PUBLIC_URL: 'https://video.example.com/',
      },
      { port: '5000', 'data-dir': '/tmp/b' },
    );
    assert.equal(config.port, 5000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.dataDir, '/tmp/b');
    assert.equal(config.publicUrl, 'https://video.example.com');
  });

  it('turns the demo on with the --demo switch or PARLOR_DEMO, and refuses other values', () => {
    assert.equal(loadConfig({}, { demo: true }).demo, true);
    assert.equal(loadConfig({ PARLOR_DEMO: 'true' }).demo, true);
    assert.equal(loadConfig({ PARLOR_DEMO: '1' }).demo, true);
    assert.equal(loadConfig({ PARLOR_DEMO: 'false' }).demo, false);
    assert.throws(() => loadConfig({ PARLOR_DEMO: 'yes' }), /PARLOR_DEMO="yes": must be true or false/);
  });

  it('bounds the callback queue with --webhook-max-queued, a whole number of at least 1', () => {
    assert.equal(loadConfig({}, { 'webhook-max-queued': '500' }).webhookMaxQueued, 500);
    assert.throws(() => loadConfig({ PARLOR_WEBHOOK_MAX_QUEUED: '0' }), /PARLOR_WEBHOOK_MAX_QUEUED="0"/);
  });

  it('takes the default project credentials from the environment', () => {
    const config = loadConfig({ PARLOR_API_KEY: '12345678', PARLOR_API_SECRET: 'c'.repeat(40) });
    assert.deepEqual(config.defaultProjectCredentials, { apiKey: '12345678', apiSecret: 'c'.repeat(40) });
  });

  it('reads the reconnection grace period in seconds, fractions included', () => {
    assert.equal(loadConfig({ PARLOR_RECONNECT_GRACE_SECONDS: '0.25' }).reconnectGraceSeconds, 0.25);
    assert.equal(loadConfig({}, { 'reconnect-grace': '0' }).reconnectGraceSeconds, 0);
    assert.throws(() => loadConfig({ PARLOR_RECONNECT_GRACE_SECONDS: '-1' }), /0 to 3600/);
    assert.throws(() => loadConfig({ PARLOR_RECONNECT_GRACE_SECONDS: 'soon' }), /0 to 3600/);
  });

  it('reads ICE servers as comma-separated URLs or as a JSON array with TURN credentials', () => {
    assert.deepEqual(
      loadConfig({ PARLOR_ICE_SERVERS: 'stun:a.example:3478, turns:b.example:443' }).iceServers,
      [{ urls: 'stun:a.example:3478' }, { urls: 'turns:b.example:443' }],
    );
    const servers = [
      {
        urls: ['turn:t.example:3478?transport=udp', 'turn:t.example:3478?transport=tcp'],
        username: 'u',
        credential: 'p',
      },
    ];
    assert.deepEqual(loadConfig({}, { 'ice-servers': JSON.stringify(servers) }).iceServers, servers);
    assert.deepEqual(loadConfig({ PARLOR_ICE_SERVERS: '' }).iceServers, []);
  });

  it('refuses ICE servers that are not STUN or TURN URLs, or have credentials that are not strings', () => {
    assert.throws(() => loadConfig({ PARLOR_ICE_SERVERS: 'http://stun.example' }), /is not a stun:/);
    assert.throws(() => loadConfig({ PARLOR_ICE_SERVERS: '[{"urls":[]}]' }), /needs urls/);
    assert.throws(() => loadConfig({ PARLOR_ICE_SERVERS: '[{"urls":"turn:t","username":1}]' }), /username/);
    assert.throws(() => loadConfig({ PARLOR_ICE_SERVERS: '[oops' }), /JSON array/);
  });

  it('reads the signaling rate as a whole number of messages per second', () => {
    assert.equal(loadConfig({ PARLOR_SIGNALING_RATE: '200' }).signalingRate, 200);
    assert.throws(() => loadConfig({ PARLOR_SIGNALING_RATE: '0' }), /1 to 100000/);
    assert.throws(() => loadConfig({}, { 'signaling-rate': '2.5' }), /1 to 100000/);
  });

  it('reads the media workers, whose ports must fit after the media port', () => {
    assert.equal(loadConfig({ PARLOR_MEDIA_WORKERS: '3' }).mediaWorkers, 3);
    assert.throws(() => loadConfig({ PARLOR_MEDIA_WORKERS: '0' }), /1 to 256/);
    assert.throws(() => loadConfig({}, { 'media-workers': 'all' }), /1 to 256/);
    assert.throws(() => loadConfig({ PARLOR_MEDIA_PORT: '65535', PARLOR_MEDIA_WORKERS: '2' }), /no room/);
    assert.equal(loadConfig({ PARLOR_MEDIA_PORT: '0', PARLOR_MEDIA_WORKERS: '256' }).mediaWorkers, 256);
  });

  it('reads a PostgreSQL database URL, and refuses any other scheme', () => {
    const url = 'postgres://parlor:secret@db.internal:5432/parlor';
    assert.equal(loadConfig({}, { 'database-url': url }).databaseUrl, url);
    const socket = 'postgresql:///parlor?host=/run/postgresql';
    assert.equal(loadConfig({ PARLOR_DATABASE_URL: socket }).databaseUrl, socket);
    assert.throws(
      () => loadConfig({ PARLOR_DATABASE_URL: 'mysql://db/parlor' }, { port: '70000' }),
      (error: ConfigError) =>
        error.problems.length === 2 &&
        error.problems.some((problem) =>
          /PARLOR_DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/.test(problem),
        ),
    );
    assert.throws(() => loadConfig({}, { 'database-url': 'parlor.sqlite' }), /must be a postgres/);
  });

  it('never repeats a value that may hold a password in its problem', () => {
    const problems = (
      overrides: Record<string, string>,
      flags: Record<string, string> = {},
    ): readonly string[] => {
      try {
        loadConfig(overrides, flags);
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    };
    assert.deepEqual(problems({ PARLOR_DATABASE_URL: 'mysql://parlor:hunter2hunter2@db/parlor' }), [
      'PARLOR_DATABASE_URL: must be a postgres:// or postgresql:// URL',
    ]);
    assert.deepEqual(problems({}, { 'cluster-secret': 'hunter2' }).length, 1);
    for (const problem of [
      ...problems({}, { 'cluster-secret': 'hunter2' }),
      ...problems({}, { 'redis-url': 'http://:hunter2@cache' }),
      ...problems({ PARLOR_ICE_SERVERS: '[{"urls":"turn:x","credential":"hunter2","username":1}]' }),
    ])
      assert.ok(!problem.includes('hunter2'), problem);
  });

  it('reads the metrics token, which must be long enough to guess badly', () => {
    assert.equal(loadConfig({ PARLOR_METRICS_TOKEN: 't'.repeat(16) }).metricsToken, 't'.repeat(16));
    assert.throws(() => loadConfig({ PARLOR_METRICS_TOKEN: 'short' }), /at least 16/);
    assert.throws(() => loadConfig({}, { 'metrics-token': 'has a space in it ok' }), /no spaces/);
  });

  it(
    'runs coturn with the TURN settings given, which are checked',
    { skip: !existsSync(turnserverPath) },
    () => {
      const { turn } = loadConfig(
        {
          PARLOR_TURN: 'embedded',
          PARLOR_TURN_PORT: '3500',
          PARLOR_TURN_RELAY_PORTS: '50000-50100',
          PARLOR_TURN_ALLOWED_PEER_IPS: '127.0.0.1, 10.0.0.1-10.0.0.9',
          PARLOR_TURN_LISTEN_IPS: '127.0.0.1,::1',
          PARLOR_TURN_SECRET: 's'.repeat(16),
        },
        { 'turn-realm': 'example.org', 'turn-host': 'turn.example.org', 'turn-credential-lifetime': '600' },
      );
      assert.deepEqual(turn, {
        ...embeddedTurnDefaults,
        port: 3500,
        relayPorts: { min: 50000, max: 50100 },
        realm: 'example.org',
        host: 'turn.example.org',
        listenIps: ['127.0.0.1', '::1'],
        allowedPeerIps: ['127.0.0.1', '10.0.0.1-10.0.0.9'],
        secret: 's'.repeat(16),
        credentialLifetimeSeconds: 600,
      });
      assert.ok(Object.isFrozen(turn));
    },
  );

  it('uses an external TURN server with URLs and a secret, by default when URLs are given', () => {
    assert.deepEqual(
      loadConfig({
        PARLOR_TURN_URLS: 'turn:turn.example.org:3478?transport=udp,turns:turn.example.org:443',
        PARLOR_TURN_SECRET: 'x'.repeat(20),
      }).turn,
      {
        mode: 'external',
        urls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:443'],
        secret: 'x'.repeat(20),
        credentialLifetimeSeconds: 86400,
      },
    );
    assert.deepEqual(loadConfig({}, { turn: 'off' }).turn, { mode: 'off' });
  });

  it('reports every TURN problem at once', () => {
    try {
      loadConfig(
        {
          PARLOR_TURN: 'external',
          PARLOR_TURN_PORT: '0',
          PARLOR_TURN_RELAY_PORTS: '6000-5000',
          PARLOR_TURN_ALLOWED_PEER_IPS: '10.0.0.1-::1',
          PARLOR_TURN_CERT: '/no/such/cert.pem',
        },
        { 'turn-url': 'stun:x.example', 'turn-secret': 'short', 'turn-credential-lifetime': '5' },
      );
      assert.fail('loadConfig accepted invalid TURN settings');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      const problems = error.problems.join('\n');
      assert.match(problems, /PARLOR_TURN_PORT="0": must be 1 to 65535/);
      assert.match(problems, /PARLOR_TURN_RELAY_PORTS="6000-5000": must be MIN-MAX/);
      assert.match(problems, /PARLOR_TURN_ALLOWED_PEER_IPS=.*is not an IP address or an A-B range/);
      assert.match(problems, /PARLOR_TURN_CERT=.*no such file/);
      assert.match(problems, /--turn-url="stun:x.example": .* is not a turn: or turns: URL/);
      assert.match(problems, /--turn-secret: must be at least 16 characters/);
      assert.match(problems, /--turn-credential-lifetime="5"/);
      assert.match(problems, /--turn external needs --turn-url and --turn-secret/);
      assert.equal(error.problems.length, 8);
    }
  });

  it('refuses allowed TURN peers that coturn would read as every address: from ::, or to 0.0.0.0 or ::', () => {
    for (const entry of ['0.0.0.0', '::', '::-::1', '0:0::0-::2', '10.0.0.1-0.0.0.0']) {
      assert.throws(
        () => loadConfig({ PARLOR_TURN: 'embedded', PARLOR_TURN_ALLOWED_PEER_IPS: entry }),
        /would let coturn relay to every address/,
        entry,
      );
    }
    const { turn } = loadConfig({
      PARLOR_TURN: 'embedded',
      PARLOR_TURN_ALLOWED_PEER_IPS: '0.0.0.0-10.0.0.1,::1',
    });
    assert.deepEqual(turn.mode === 'embedded' && turn.allowedPeerIps, ['0.0.0.0-10.0.0.1', '::1']);
  });

  it('refuses embedded-only TURN settings with another mode, and TLS without its key', () => {
    assert.throws(
      () => loadConfig({ PARLOR_TURN: 'off', PARLOR_TURN_PORT: '3500' }),
      /--turn-port: only with --turn embedded, not off/,
    );
    if (existsSync(turnserverPath)) {
      assert.throws(
        () => loadConfig({ PARLOR_TURN: 'embedded', PARLOR_TURN_CERT: turnserverPath }),
        /--turn-cert and --turn-pkey must be given together/,
      );
    }
  });

  it('is frozen', () => {
    assert.ok(Object.isFrozen(loadConfig({})));
  });

  it('reports every problem at once', () => {
    try {
      loadConfig(
        {
          PORT: 'eighty',
          PARLOR_PUBLIC_URL: 'ftp://x',
          PARLOR_API_KEY: '0123',
          PARLOR_API_SECRET: 'z'.repeat(40),
        },
        { host: ' ' },
      );
      assert.fail('loadConfig accepted invalid settings');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.problems.length, 5);
      assert.match(error.problems.join('\n'), /PORT="eighty"/);
      assert.match(error.problems.join('\n'), /--host=" ": must not be empty/);
      assert.match(error.problems.join('\n'), /PARLOR_PUBLIC_URL="ftp:\/\/x"/);
      assert.match(error.problems.join('\n'), /PARLOR_API_KEY="0123": must not start with 0/);
      assert.match(error.problems.join('\n'), /PARLOR_API_SECRET/);
    }
  });

  it('switches cluster mode on with --redis-url and checks its settings together', () => {
    const cluster = loadConfig(
      {
        PARLOR_REDIS_URL: 'redis://127.0.0.1:6379',
        PARLOR_DATABASE_URL: 'postgres://127.0.0.1/parlor',
        PARLOR_PUBLIC_URL: 'https://eu1.example.com',
      },
      {
        region: 'eu',
        'internal-url': 'http://10.0.0.5:3000/',
        'trust-proxy': '10.0.0.1',
        'max-streams': '500',
      },
    ).cluster;
    assert.deepEqual(cluster, {
      redisUrl: 'redis://127.0.0.1:6379',
      region: 'eu',
      nodeId: null,
      publicUrl: 'https://eu1.example.com',
      internalUrl: 'http://10.0.0.5:3000',
      regionsFile: null,
      trustProxy: ['10.0.0.1'],
      maxStreams: 500,
      drainTimeoutSeconds: 60,
      secret: null,
    });
    assert.throws(
      () => loadConfig({ PARLOR_REDIS_URL: 'http://x', PARLOR_REGION: 'EU!' }, { 'max-streams': '0' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /PARLOR_REDIS_URL: must be a redis/.test(error.message) &&
        /PARLOR_REGION="EU!"/.test(error.message) &&
        /--max-streams="0"/.test(error.message),
    );
    assert.throws(
      () => loadConfig({ PARLOR_REDIS_URL: 'redis://127.0.0.1' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.length === 3 &&
        /needs --database-url/.test(error.message) &&
        /needs --public-url/.test(error.message) &&
        /needs --internal-url/.test(error.message),
    );
    assert.throws(
      () => loadConfig({}, { region: 'us', 'trust-proxy': '10.0.0.1' }),
      /--region, --trust-proxy: only apply to a cluster node \(--redis-url\)/,
    );
  });
});
