import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config/config.js';
import { createLogger } from './logger.js';
import { ParlorServer } from './ParlorServer.js';

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
  return {
    server,
    url: server.listenUrl,
    apiKey: server.defaultProject.apiKey,
    apiSecret: server.defaultProject.apiSecret,
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
  };
}
