import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jwt from 'jsonwebtoken';
import { tokenScope, type Role, type SessionSettings } from '@parlor/protocol';
import { loadConfig } from './config/config.js';
import { createLogger } from './logger.js';
import { TokenError, type TokenRefusal } from './auth/TokenError.js';
import { ParlorServer, type ParlorServerParts } from './ParlorServer.js';
import { SignalingTestClient, type SignalingTestClientOptions } from './signaling/SignalingTestClient.js';

export { SignalingTestClient, SignalingRequestError } from './signaling/SignalingTestClient.js';
export { turnAllocate, type AllocateOutcome, type TurnAllocateOptions } from './relay/turnAllocate.js';
export { BareSignalingClient } from './signaling/BareSignalingClient.js';
export { connectCrowd, floodSignals, probeSignals, type FloodCount } from './signaling/signalingLoad.js';
export { FakeBrowser } from './media/transport/FakeBrowser.js';
export { FfmpegTestRecorder, type FfmpegTestRecorderOptions } from './archive/testing/FfmpegTestRecorder.js';
export { startPostgresServer, type PostgresServer } from './store/testing/postgresServer.js';
export { archiveRecord } from './store/testing/archiveRecord.js';
export { waitFor } from './waitFor.js';
export type { SignalingTestClientOptions } from './signaling/SignalingTestClient.js';
export { TestRedis } from './cluster/TestRedis.js';
export { verifyCallback } from './webhooks/callbackSignature.js';
export {
  TestCluster,
  testClusterProject,
  testClusterSecret,
  type TestClusterNode,
} from './cluster/TestCluster.js';

/** What a test token grants; the defaults are those of the official SDKs. */
export interface TestTokenOptions {
  /** Default: publisher. */
  readonly role?: Role;
  /** Connection data. Default: none. */
  readonly data?: string;
  /** Unix seconds. Default: in a day. */
  readonly expireTime?: number;
  /** Default: none. */
  readonly initialLayoutClassList?: readonly string[];
}

/** A Parlor listening on a free loopback port with its own data directory, for tests. */
/** A relayed session with two connected clients, `alice` publishing. */
export interface LiveTestSession {
  readonly sessionId: string;
  /** Connected with the layout class `focus`; publishes the stream. */
  readonly alice: SignalingTestClient;
  readonly bob: SignalingTestClient;
  /** Alice's stream: audio and video, named "Camera". */
  readonly streamId: string;
}

export interface TestServer {
  readonly server: ParlorServer;
  /** Base URL of the REST API. */
  readonly url: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly dataDir: string;
  /** Stops the server; the data directory stays until `dispose`. */
  close(): Promise<void>;
  /** Starts a new server on the same data directory (as after a restart). */
  restart(): Promise<TestServer>;
  /** Stops the server and deletes its data directory. */
  dispose(): Promise<void>;
  /** Creates a session of the default project, relayed unless the settings say otherwise. */
  createSession(settings?: Partial<SessionSettings>): Promise<string>;
  /** A client token of the default project for the session: an HS256 JWT as the SDKs make it. */
  token(sessionId: string, options?: TestTokenOptions): string;
  /** Why the server refuses a client token, or null when it accepts it. */
  tokenRefusal(token: string): Promise<TokenRefusal | null>;
  /** A signaling client connected to the session with a token made with these options. */
  connectClient(
    sessionId: string,
    options?: TestTokenOptions & SignalingTestClientOptions,
  ): Promise<SignalingTestClient>;
  /**
   * A new session, live: two clients that have seen each other, the first publishing. Relayed
   * unless the settings say otherwise.
   */
  liveSession(settings?: Partial<SessionSettings>): Promise<LiveTestSession>;
  /** A REST request to `/v2/project/{apiKey}{path}` of the default project, with a JSON body if given. */
  rest(method: string, path: string, body?: unknown): Promise<Response>;
}

export interface TestServerOptions {
  /**
   * Environment variables, as `parlor start` would read them. Default: none (and `PARLOR_TURN=off`,
   * `PARLOR_MEDIA_WORKERS=1`, `PARLOR_MEDIA_ADMISSION_MAX_LAG_MS=2000` and
   * `PARLOR_MEDIA_ADMISSION_MAX_UTILIZATION=1`: on a loaded test machine an idle worker's thread
   * waits for a core often past the default 200 ms, or reads as 90 % busy, and would refuse joins;
   * and `PARLOR_CALLBACK_ALLOWED_IPS` of loopback, where tests receive callbacks).
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Data directory to use. Default: a new temporary one. */
  readonly dataDir?: string;
  /** Address to listen on. Default: 127.0.0.1. */
  readonly host?: string;
  /** Parts in place of the server's own, e.g. `{ recordStream: new FfmpegTestRecorder().record }`. */
  readonly parts?: ParlorServerParts;
}

/**
 * Settings of an embedded TURN server for tests, on free ports of `ip`, relaying from and to
 * `ip` only (allowed although loopback or private): `startTestServer({ env: await testTurnEnv() })`.
 */
export async function testTurnEnv(ip = '127.0.0.1'): Promise<Record<string, string>> {
  const port = await freePort(ip);
  // A random block of 200 ports: test files run in parallel, each with its own coturn.
  const relayMin = 40_000 + 200 * Math.floor(Math.random() * 100);
  return {
    PARLOR_TURN: 'embedded',
    PARLOR_TURN_PORT: String(port),
    PARLOR_TURN_RELAY_PORTS: `${relayMin}-${relayMin + 199}`,
    PARLOR_TURN_HOST: ip,
    PARLOR_TURN_LISTEN_IPS: ip,
    PARLOR_TURN_RELAY_IP: ip,
    PARLOR_TURN_ALLOWED_PEER_IPS: ip,
  };
}

/** A port below 40000 free for both UDP and TCP on `ip`. */
async function freePort(ip: string): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const tcp = createServer();
    const udp = createSocket(ip.includes(':') ? 'udp6' : 'udp4');
    const free = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => {
        resolve(false);
      });
      tcp.listen(port, ip, () => {
        udp.once('error', () => {
          resolve(false);
        });
        udp.bind(port, ip, () => {
          resolve(true);
        });
      });
    });
    tcp.close();
    try {
      udp.close();
    } catch {
      // It was never bound.
    }
    if (free) return port;
  }
}

/**
 * Test servers' own settings (see `TestServerOptions.env`):
 * - the worker load allowed before refusing joins;
 * - the loopback addresses their callbacks may go to, where tests receive them;
 * - REMB at its ceiling for publishers, so that they send every simulcast layer at once, as the
 *   tests expect. With transport-wide feedback (the default) a publisher's estimate climbs from
 *   300 kbit/s by its probes, whose timing a loaded 2-core machine distorts: there the top layer
 *   came after the tests' bounds. Tests of the feedback itself set it back;
 * - adaptive routing off: tests of the router keep their two pages on it; adaptive routing's own
 *   tests turn it on;
 * - the data plane of the test run's own environment, if it names one: `PARLOR_DATA_PLANE=js
 *   npm test` runs every test server on the TypeScript reference plane (tests of one plane set
 *   theirs).
 */
const testSettings: Readonly<Record<string, string>> = {
  PARLOR_MEDIA_ADMISSION_MAX_LAG_MS: '2000',
  PARLOR_MEDIA_ADMISSION_MAX_UTILIZATION: '1',
  PARLOR_CALLBACK_ALLOWED_IPS: '127.0.0.0-127.255.255.255,::1',
  PARLOR_PUBLISHER_FEEDBACK: 'remb',
  PARLOR_ADAPTIVE_ROUTING: 'off',
  ...(process.env.PARLOR_DATA_PLANE ? { PARLOR_DATA_PLANE: process.env.PARLOR_DATA_PLANE } : {}),
};

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'parlor-test-'));
  const config = loadConfig(
    {
      PARLOR_LOG_LEVEL: 'warn',
      PARLOR_TURN: 'off',
      PARLOR_MEDIA_WORKERS: '1',
      ...testSettings,
      ...options.env,
    },
    {
      host: options.host ?? '127.0.0.1',
      port: '0',
      'media-port': '0',
      'data-dir': dataDir,
    },
  );
  const server = await ParlorServer.start(config, createLogger(config.logLevel), options.parts);
  const close = (): Promise<void> => server.close();
  const { apiKey, apiSecret } = server.defaultProject;
  const token = (sessionId: string, tokenOptions: TestTokenOptions = {}): string => {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: apiKey,
      ist: 'project',
      iat: now,
      exp: tokenOptions.expireTime ?? now + 86400,
      session_id: sessionId,
      nonce: Math.random(),
      role: tokenOptions.role ?? 'publisher',
      initial_layout_class_list: (tokenOptions.initialLayoutClassList ?? []).join(' '),
      scope: tokenScope,
      ...(tokenOptions.data === undefined ? {} : { connection_data: tokenOptions.data }),
    };
    return jwt.sign(claims, apiSecret, { algorithm: 'HS256' });
  };
  const createSession = async (settings: Partial<SessionSettings> = {}): Promise<string> => {
    const session = await server.sessions.create(apiKey, {
      mediaMode: 'relayed',
      archiveMode: 'manual',
      location: null,
      e2ee: false,
      archiveName: null,
      archiveResolution: null,
      ...settings,
    });
    return session.sessionId;
  };
  const connectClient = (
    sessionId: string,
    clientOptions: TestTokenOptions & SignalingTestClientOptions = {},
  ): Promise<SignalingTestClient> =>
    SignalingTestClient.connect(server.listenUrl, sessionId, token(sessionId, clientOptions), clientOptions);
  return {
    server,
    url: server.listenUrl,
    apiKey,
    apiSecret,
    dataDir,
    close,
    restart: async () => {
      await close();
      return startTestServer({ ...options, dataDir });
    },
    dispose: async () => {
      await close();
      rmSync(dataDir, { recursive: true, force: true });
    },
    tokenRefusal: async (candidate) => {
      try {
        await server.tokens.verify(candidate);
        return null;
      } catch (error) {
        if (error instanceof TokenError) return error.reason;
        throw error;
      }
    },
    createSession,
    token,
    connectClient,
    rest: (method, path, body) => {
      const now = Math.floor(Date.now() / 1000);
      const auth = jwt.sign({ iss: apiKey, ist: 'project', iat: now, exp: now + 300 }, apiSecret, {
        algorithm: 'HS256',
      });
      return fetch(`${server.listenUrl}/v2/project/${apiKey}${path}`, {
        method,
        headers: {
          'X-OPENTOK-AUTH': auth,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    },
    liveSession: async (settings = {}) => {
      const sessionId = await createSession(settings);
      const alice = await connectClient(sessionId, { initialLayoutClassList: ['focus'] });
      const bob = await connectClient(sessionId);
      const { stream } = await alice.request('publish', { name: 'Camera', hasAudio: true, hasVideo: true });
      await bob.nextEvent('streamCreated');
      await alice.nextEvent('connectionCreated');
      return { sessionId, alice, bob, streamId: stream.streamId };
    },
  };
}

/** A Parlor run as users run it: the built `parlor start`, in a child process. */
export interface SpawnedParlor {
  readonly child: ChildProcessWithoutNullStreams;
  /** What it printed on start: credentials and URLs. */
  readonly banner: string;
  /** The URL it listens on. */
  readonly url: string;
  /** Sends the signal; resolves once the process has ended, with its code and what it printed since its banner. */
  stop(signal: NodeJS.Signals): Promise<{ code: number | null; output: string }>;
  /** What it logged so far (its stderr), up to the last MiB. */
  log(): string;
}

export interface SpawnParlorOptions {
  readonly dataDir: string;
  /**
   * Environment variables besides PATH. Default: none (and `PARLOR_LOG_LEVEL=warn`, `PARLOR_TURN=off`,
   * and the test servers' worker delay allowance, as `startTestServer`'s).
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Flags after `parlor start`'s own. Default: none. */
  readonly args?: readonly string[];
  /**
   * Wraps the command line with a program that runs it in the same process, e.g.
   * `(command) => ['prlimit', '--nofile=1024:1024', ...command]`. Default: none.
   */
  readonly wrap?: (command: readonly string[]) => string[];
}

/** The built bin: `src/testing.ts` and `dist/testing.js` both sit one level under the package. */
const parlorBin = fileURLToPath(new URL('../bin/parlor.js', import.meta.url));

/** Starts `parlor start` on free ports of 127.0.0.1 and waits for its banner. */
export async function spawnParlor(options: SpawnParlorOptions): Promise<SpawnedParlor> {
  const command = [
    process.execPath,
    parlorBin,
    'start',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--media-port',
    '0',
    '--data-dir',
    options.dataDir,
    ...(options.args ?? []),
  ];
  const [program = '', ...args] = options.wrap ? options.wrap(command) : command;
  const child = spawn(program, args, {
    env: {
      PATH: process.env.PATH,
      PARLOR_LOG_LEVEL: 'warn',
      PARLOR_TURN: 'off',
      ...testSettings,
      ...options.env,
    },
  });
  let log = '';
  // Read, or a full pipe would block the server's logging.
  child.stderr.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-1024 * 1024);
  });
  let banner = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      banner += chunk.toString();
      if (banner.includes('Press Ctrl+C')) resolve();
    });
    child.once('exit', (code) => {
      reject(new Error(`parlor exited with ${code}: ${banner}${log}`));
    });
  });
  const url = /Listening\s+(\S+)/.exec(banner)?.[1];
  if (!url) throw new Error(`no URL in the banner: ${banner}`);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return {
    child,
    banner,
    url,
    log: () => log,
    stop: (signal) =>
      new Promise((resolve) => {
        const ended = (): void => {
          resolve({ code: child.exitCode, output });
        };
        if (child.exitCode !== null || child.signalCode !== null) {
          ended();
          return;
        }
        child.once('exit', ended);
        child.kill(signal);
      }),
  };
}

/**
 * The result of a call in Node's callback style (as the official `opentok` SDK's), as a promise:
 * `fromCallback((done) => { opentok.getArchive(id, done); })`.
 */
export function fromCallback<T>(call: (done: (error: Error | null, result?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    call((error, result) => {
      if (error) reject(error);
      else resolve(result as T);
    });
  });
}
