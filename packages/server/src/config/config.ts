import { resolve } from 'node:path';
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
};

/** The command-line options of the settings that have a flag, for `node:util` `parseArgs`. */
export const configFlags = Object.fromEntries(
  Object.values(settings)
    .filter((setting) => setting.flag !== null)
    .map((setting) => [setting.flag, { type: 'string' as const }]),
) as Record<string, { type: 'string' }>;

/** One line per setting, for `parlor --help`. */
export function describeSettings(): string {
  return Object.values(settings)
    .map((s) => `  ${(s.flag ? `--${s.flag}` : '').padEnd(14)} ${s.env.padEnd(18)} ${s.description}`)
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
  if ((env[settings.apiKey.env] === undefined) !== (env[settings.apiSecret.env] === undefined)) {
    problems.push(`${settings.apiKey.env} and ${settings.apiSecret.env} must be given together`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const defaultProjectCredentials =
    apiKey !== undefined && apiSecret !== undefined ? Object.freeze({ apiKey, apiSecret }) : null;
  return Object.freeze({ port, host, dataDir, publicUrl, logLevel, defaultProjectCredentials });
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
