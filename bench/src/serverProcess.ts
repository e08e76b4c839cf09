import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../packages/server/bin/parlor.js', import.meta.url));
const clockTicksPerSecond = 100;

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

  static async start(options: { core: number | null }): Promise<ServerProcess> {
    const dataDir = mkdtempSync(join(tmpdir(), 'parlor-bench-'));
    const credentials = { apiKey: '10000001', apiSecret: 'b'.repeat(40) };
    const args = [
      bin,
      'start',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--media-port',
      '0',
      '--data-dir',
      dataDir,
    ];
    const env = {
      ...process.env,
      PARLOR_LOG_LEVEL: 'warn',
      // No embedded coturn: it would take the default TURN port and add its load to the measures.
      PARLOR_TURN: 'off',
      PARLOR_API_KEY: credentials.apiKey,
      PARLOR_API_SECRET: credentials.apiSecret,
    };
    const child =
      options.core !== null && existsSync('/usr/bin/taskset')
        ? spawn('/usr/bin/taskset', ['-c', String(options.core), process.execPath, ...args], { env })
        : spawn(process.execPath, args, { env });
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

  /** CPU time the process has used so far (user + system), in seconds. */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.#child.pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => {
      this.#child.once('exit', resolve);
      this.#child.kill('SIGTERM');
    });
    rmSync(this.#dataDir, { recursive: true, force: true });
  }
}
