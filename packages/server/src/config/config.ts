import { resolve } from 'node:path';
import type { IceServer } from '@parlor/protocol';
import { apiKeyProblem, apiSecretProblem } from '../auth/credentials.js';

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
}

/** A setting: its flag, its environment variable and how to read it. */
interface Setting<T> {
  readonly flag: string | null;
  readonly env: string;
  readonly description: string;
  /** Returns the value, or a string that says what is wrong with the input. */
  readonly parse: (raw: string) => T | Problem;
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
};

/** The command-line options of the settings that have a flag, for `node:util` `parseArgs`. */
export const configFlags = Object.fromEntries(
  Object.values(settings)
    .filter((setting) => setting.flag !== null)
    .map((setting) => [setting.flag, { type: 'string' as const }]),
) as Record<string, { type: 'string' }>;

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

/** The configuration is invalid; `problems` lists every problem found, one per setting. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/**
 * Reads the configuration from the environment and parsed command-line flags (a flag wins over
 * its variable), validates every setting and reports all problems at once.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  flags: Readonly<Record<string, string | boolean | undefined>> = {},
): Config {
  const problems: string[] = [];
  const read = <T>(setting: Setting<T>): T | undefined => {
    const fromFlag = setting.flag === null ? undefined : flags[setting.flag];
    const raw = typeof fromFlag === 'string' ? fromFlag : env[setting.env];
    if (raw === undefined) return undefined;
    const value = setting.parse(raw);
    if (!(value instanceof Problem)) return value;
    const source = typeof fromFlag === 'string' ? `--${setting.flag}` : setting.env;
    problems.push(`${source}=${JSON.stringify(raw)}: ${value.message}`);
    return undefined;
  };

  const port = read(settings.port) ?? 3000;
  const host = read(settings.host) ?? '0.0.0.0';
  const dataDir = read(settings.dataDir) ?? resolve('data');
  const publicUrl = read(settings.publicUrl) ?? null;
  const logLevel = read(settings.logLevel) ?? 'info';
  const apiKey = read(settings.apiKey);
  const apiSecret = read(settings.apiSecret);
  const reconnectGraceSeconds = read(settings.reconnectGrace) ?? 20;
  const iceServers = read(settings.iceServers) ?? [];
  const signalingRate = read(settings.signalingRate) ?? 50;
  if ((env[settings.apiKey.env] === undefined) !== (env[settings.apiSecret.env] === undefined)) {
    problems.push(`${settings.apiKey.env} and ${settings.apiSecret.env} must be given together`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const defaultProjectCredentials =
    apiKey !== undefined && apiSecret !== undefined ? Object.freeze({ apiKey, apiSecret }) : null;
  return Object.freeze({
    port,
    host,
    dataDir,
    publicUrl,
    logLevel,
    defaultProjectCredentials,
    reconnectGraceSeconds,
    iceServers,
    signalingRate,
  });
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
