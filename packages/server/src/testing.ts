import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { tokenScope, type Role, type SessionSettings } from '@parlor/protocol';
import { loadConfig } from './config/config.js';
import { createLogger } from './logger.js';
import { ParlorServer } from './ParlorServer.js';
import { SignalingTestClient, type SignalingTestClientOptions } from './signaling/SignalingTestClient.js';

export { SignalingTestClient, SignalingRequestError } from './signaling/SignalingTestClient.js';
export type { SignalingTestClientOptions } from './signaling/SignalingTestClient.js';

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
  createSession(settings?: Partial<SessionSettings>): string;
  /** A client token of the default project for the session: an HS256 JWT as the SDKs make it. */
  token(sessionId: string, options?: TestTokenOptions): string;
  /** A signaling client connected to the session with a token made with these options. */
  connectClient(
    sessionId: string,
    options?: TestTokenOptions & SignalingTestClientOptions,
  ): Promise<SignalingTestClient>;
}

export interface TestServerOptions {
  /** Environment variables, as `parlor start` would read them. Default: none. */
  readonly env?: Readonly<Record<string, string>>;
  /** Data directory to use. Default: a new temporary one. */
  readonly dataDir?: string;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'parlor-test-'));
  const config = loadConfig(
    { PARLOR_LOG_LEVEL: 'warn', ...options.env },
    {
      host: '127.0.0.1',
      port: '0',
      'data-dir': dataDir,
    },
  );
  const server = await ParlorServer.start(config, createLogger(config.logLevel));
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
    createSession: (settings = {}) =>
      server.sessions.create(apiKey, {
        mediaMode: 'relayed',
        archiveMode: 'manual',
        location: null,
        e2ee: false,
        archiveName: null,
        archiveResolution: null,
        ...settings,
      }).sessionId,
    token,
    connectClient: (sessionId, clientOptions = {}) =>
      SignalingTestClient.connect(
        server.listenUrl,
        sessionId,
        token(sessionId, clientOptions),
        clientOptions,
      ),
  };
}
