import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processCpuSeconds, terminate } from '../serverProcess.js';
import type { BenchNamespace } from './BenchNamespace.js';

export interface JanusProcessOptions {
  readonly namespace: BenchNamespace;
  /** The core to pin Janus (all its threads) to. */
  readonly core: number;
  /**
   * Janus's `event_loops`: that many shared media loop threads; null for its default, one
   * thread per handle.
   */
  readonly eventLoops: number | null;
  /** Wraps the command line (run in the namespace already), e.g. to raise its priority. Default: none. */
  readonly wrap?: (command: readonly string[]) => string[];
}

const janusLibraries = '/usr/lib/x86_64-linux-gnu/janus';
const httpPort = 8088;

/**
 * Janus (Debian's package) in the benchmark's namespace, in the foreground with a config folder
 * of its own: the VideoRoom plugin and the HTTP transport on 127.0.0.1 only, no event handlers
 * or loggers, ICE on the namespace's address alone.
 */
export class JanusProcess {
  /** Base URL of the HTTP API, reachable from inside the namespace. */
  readonly url = `http://127.0.0.1:${httpPort}`;
  readonly #child: ChildProcess;
  readonly #folder: string;

  private constructor(child: ChildProcess, folder: string) {
    this.#child = child;
    this.#folder = folder;
  }

  static installed(): boolean {
    return existsSync('/usr/bin/janus');
  }

  static async start(options: JanusProcessOptions): Promise<JanusProcess> {
    const folder = mkdtempSync(join(tmpdir(), 'parlor-bench-janus-'));
    writeConfig(folder, options);
    const command = options.namespace.wrap(
      (options.wrap ?? ((c: readonly string[]) => [...c]))([
        'taskset',
        '-c',
        String(options.core),
        '/usr/bin/janus',
        '-F',
        folder,
        '-C',
        join(folder, 'janus.jcfg'),
        '-o',
      ]),
    );
    const [program = '', ...args] = command;
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const keepTail = (chunk: Buffer): void => {
      log = (log + chunk.toString()).slice(-4000);
    };
    child.stdout.on('data', keepTail);
    child.stderr.on('data', keepTail);
    const janus = new JanusProcess(child, folder);
    try {
      await janus.#waitUntilServing(() => log);
    } catch (error) {
      await janus.stop();
      throw error;
    }
    return janus;
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /** CPU time Janus has used so far, all threads, in seconds. */
  cpuSeconds(): number {
    return processCpuSeconds(this.pid);
  }

  async stop(): Promise<void> {
    await terminate(this.#child);
    rmSync(this.#folder, { recursive: true, force: true });
  }

  /**
   * Until the HTTP API listens: read from Janus's own view of TCP sockets (its namespace's), as
   * this process cannot reach 127.0.0.1 inside the namespace.
   */
  async #waitUntilServing(log: () => string): Promise<void> {
    const listening = new RegExp(
      `^\\s*\\d+: 0100007F:${httpPort.toString(16).toUpperCase()} 00000000:0000 0A `,
      'm',
    );
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.#child.exitCode !== null) throw new Error(`Janus exited: ${log()}`);
      try {
        if (listening.test(readFileSync(`/proc/${this.pid}/net/tcp`, 'utf8'))) return;
      } catch {
        // Not started yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`Janus did not start in 20 s: ${log()}`);
  }
}

/** Every library of a Janus folder but the ones kept, as a `disable` list. */
function allBut(kind: string, kept: string): string {
  return readdirSync(join(janusLibraries, kind))
    .filter((file) => file.endsWith('.so') && file !== kept)
    .join(',');
}

function writeConfig(folder: string, options: JanusProcessOptions): void {
  const eventLoops = options.eventLoops === null ? '' : `\n  event_loops = ${options.eventLoops}`;
  writeFileSync(
    join(folder, 'janus.jcfg'),
    `general: {
  configs_folder = "${folder}"
  plugins_folder = "${janusLibraries}/plugins"
  transports_folder = "${janusLibraries}/transports"
  events_folder = "${janusLibraries}/events"
  loggers_folder = "${janusLibraries}/loggers"
  interface = "${options.namespace.address}"
  debug_level = 3
  session_timeout = 120${eventLoops}
}
media: {
  rtp_port_range = "20000-40000"
}
nat: {
  nice_debug = false
  ice_enforce_list = "${options.namespace.address}"
}
plugins: {
  disable = "${allBut('plugins', 'libjanus_videoroom.so')}"
}
transports: {
  disable = "${allBut('transports', 'libjanus_http.so')}"
}
loggers: {
  disable = "${allBut('loggers', '')}"
}
events: {
  broadcast = false
}
`,
  );
  writeFileSync(
    join(folder, 'janus.transport.http.jcfg'),
    `general: {
  json = "compact"
  base_path = "/janus"
  http = true
  port = ${httpPort}
  ip = "127.0.0.1"
  https = false
}
admin: {
  admin_http = false
}
`,
  );
  writeFileSync(join(folder, 'janus.plugin.videoroom.jcfg'), 'general: {\n}\n');
}
