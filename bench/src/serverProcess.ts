import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../packages/server/bin/parlor.js', import.meta.url));
const clockTicksPerSecond = 100;

export interface ServerProcessOptions {
  /** The core to pin the process to with `taskset`; null for none. */
  readonly core: number | null;
  /** Address to listen on, HTTP and media (`--host`). Default: 127.0.0.1. */
  readonly host?: string;
  /** Media worker threads (`--media-workers`). Default: Parlor's (one per core). */
  readonly mediaWorkers?: number;
  /** `--data-plane`. Default: Parlor's default (native when the addon built). */
  readonly dataPlane?: 'native' | 'js';
  /** Address the Media Router announces (`--public-ip`). Default: Parlor's (127.0.0.1). */
  readonly publicIp?: string;
  /** Wraps the command line, e.g. to run it in a network namespace. Default: none. */
  readonly wrap?: (command: readonly string[]) => string[];
  /** Flags for node before the script, e.g. `--cpu-prof`. Default: none. */
  readonly nodeFlags?: readonly string[];
  /** A file the server's log (its stderr, warnings and errors) is written to. Default: dropped. */
  readonly logFile?: string;
  /** The PostgreSQL database of its records (`--database-url`). Default: SQLite in its data folder. */
  readonly databaseUrl?: string;
  /** More of `parlor start`'s flags. Default: none. */
  readonly serverFlags?: readonly string[];
}

/** The built `parlor` server in its own process, pinned to one core when `taskset` exists. */
export class ServerProcess {
  readonly url: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #dataDir: string;

  private constructor(
    child: ChildProcessWithoutNullStreams,
    url: string,
    credentials: { apiKey: string; apiSecret: string },
    dataDir: string,
  ) {
    this.#child = child;
    this.url = url;
    this.apiKey = credentials.apiKey;
    this.apiSecret = credentials.apiSecret;
    this.#dataDir = dataDir;
  }

  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const dataDir = mkdtempSync(join(tmpdir(), 'parlor-bench-'));
    const credentials = { apiKey: '10000001', apiSecret: 'b'.repeat(40) };
    const args = [
      ...(options.nodeFlags ?? []),
      bin,
      'start',
      '--host',
      options.host ?? '127.0.0.1',
      '--port',
      '0',
      '--media-port',
      '0',
      '--data-dir',
      dataDir,
      ...(options.mediaWorkers === undefined ? [] : ['--media-workers', String(options.mediaWorkers)]),
      ...(options.publicIp === undefined ? [] : ['--public-ip', options.publicIp]),
      ...(options.databaseUrl === undefined ? [] : ['--database-url', options.databaseUrl]),
      ...(options.dataPlane === undefined ? [] : ['--data-plane', options.dataPlane]),
      ...(options.serverFlags ?? []),
    ];
    const env = {
      ...process.env,
      PARLOR_LOG_LEVEL: 'warn',
      // No embedded coturn: it would take the default TURN port and add its load to the measures.
      PARLOR_TURN: 'off',
      PARLOR_API_KEY: credentials.apiKey,
      PARLOR_API_SECRET: credentials.apiSecret,
    };
    const pinned =
      options.core !== null && existsSync('/usr/bin/taskset')
        ? ['/usr/bin/taskset', '-c', String(options.core), process.execPath, ...args]
        : [process.execPath, ...args];
    const [command = '', ...commandArgs] = options.wrap ? options.wrap(pinned) : pinned;
    const child = spawn(command, commandArgs, { env });
    // Warnings must not fill the pipe and block the server.
    if (options.logFile) child.stderr.pipe(createWriteStream(options.logFile));
    else child.stderr.resume();
    let banner = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        banner += chunk.toString();
        if (banner.includes('Press Ctrl+C')) resolve();
      });
      child.once('exit', (code) => {
        reject(new Error(`the server exited with ${code}: ${banner}`));
      });
    });
    const url = /Listening\s+(\S+)/.exec(banner)?.[1];
    if (!url) throw new Error(`no URL in the banner: ${banner}`);
    return new ServerProcess(child, url, credentials, dataDir);
  }

  /** The server's process ID (the wrappers exec it: the same process). */
  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /** CPU time the process has used so far (user + system), in seconds. */
  cpuSeconds(): number {
    return processCpuSeconds(this.pid);
  }

  async stop(): Promise<void> {
    await terminate(this.#child);
    rmSync(this.#dataDir, { recursive: true, force: true });
  }
}

/** How long a child may take to exit on SIGTERM before it gets SIGKILL. */
const terminateGraceMs = 10_000;

/**
 * Ends a child process with SIGTERM, and SIGKILL if it has not exited 10 s later (Janus 1.1.2
 * sometimes never does after a meeting), unless it has ended already; resolves once it has.
 */
export async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), terminateGraceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve(undefined);
    });
    child.kill('SIGTERM');
  });
}

/** CPU time a process has used so far, all its threads (user + system), from `/proc/PID/stat`, in seconds. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}
