import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LoadCommand, LoadEvent } from '../load/loadProtocol.js';

const script = fileURLToPath(new URL('../load/loadProcess.ts', import.meta.url));

export interface LoadProcessOptions {
  /** The core to pin the load process to. */
  readonly core: number;
  readonly cacheFolder: string;
  /** Added to the peers' host candidates (loopback, outside a namespace); null for none. */
  readonly extraHostAddress: string | null;
  /** Wraps the command line, e.g. to run it in a network namespace. Default: none. */
  readonly wrap?: (command: readonly string[]) => string[];
}

/** The synthetic participants' process, driven one command at a time. */
export class LoadProcess {
  readonly #child: ChildProcessByStdio<Writable, Readable, null>;
  readonly #events: AsyncIterator<string>;

  private constructor(child: ChildProcessByStdio<Writable, Readable, null>) {
    this.#child = child;
    this.#events = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  static start(options: LoadProcessOptions): LoadProcess {
    const node = [
      process.execPath,
      '--conditions=source',
      '--import',
      'tsx',
      script,
      options.cacheFolder,
      options.extraHostAddress ?? '-',
    ];
    const pinned = existsSync('/usr/bin/taskset')
      ? ['/usr/bin/taskset', '-c', String(options.core), ...node]
      : node;
    const [command = '', ...args] = options.wrap ? options.wrap(pinned) : pinned;
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    return new LoadProcess(child);
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /** Sends a command and waits for its event; a `failed` event throws. */
  async send<E extends LoadEvent['event']>(
    command: LoadCommand,
    expected: E,
  ): Promise<Extract<LoadEvent, { event: E }>> {
    this.#child.stdin.write(`${JSON.stringify(command)}\n`);
    const line = await this.#events.next();
    if (line.done) throw new Error('the load process exited');
    const event = JSON.parse(line.value) as LoadEvent;
    if (event.event === 'failed') throw new Error(`the load process failed: ${event.message}`);
    if (event.event !== expected)
      throw new Error(`expected ${expected} from the load process, got ${event.event}`);
    return event as Extract<LoadEvent, { event: E }>;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
