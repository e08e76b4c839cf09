import { execFileSync } from 'node:child_process';

const prefix = 'parlor-bench-';

/**
 * A network namespace of the benchmark's own, with one address on a veth pair inside it: Janus
 * (libnice) gathers no candidates on loopback interfaces, so the SFUs and the load process meet
 * at this address instead; packets to a local address still take the loopback path. The
 * namespace has no link outside, so nothing the benchmark sends leaves the machine.
 */
export class BenchNamespace {
  readonly name: string;
  /** The address the SFUs announce and the load process's candidates use. */
  readonly address = '10.203.0.1';
  #removed = false;

  private constructor(name: string) {
    this.name = name;
  }

  /** Whether this process may create namespaces (root, and `ip` is there). */
  static available(): boolean {
    if (process.getuid?.() !== 0) return false;
    try {
      execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }

  /** Creates the namespace, first removing those that benchmarks no longer running left behind. */
  static create(): BenchNamespace {
    removeAbandoned();
    const namespace = new BenchNamespace(`${prefix}${process.pid}`);
    const inside = (...args: string[]): void => {
      execFileSync('ip', ['-n', namespace.name, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    };
    execFileSync('ip', ['netns', 'add', namespace.name], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      inside('link', 'set', 'lo', 'up');
      inside('link', 'add', 'bench0', 'type', 'veth', 'peer', 'name', 'bench1');
      inside('addr', 'add', `${namespace.address}/24`, 'dev', 'bench0');
      inside('link', 'set', 'bench0', 'up');
      inside('link', 'set', 'bench1', 'up');
    } catch (error) {
      namespace.remove();
      throw error;
    }
    return namespace;
  }

  /** The command line that runs `command` inside the namespace. */
  wrap(command: readonly string[]): string[] {
    return ['ip', 'netns', 'exec', this.name, ...command];
  }

  /** Deletes the namespace (and its veth pair); idempotent. */
  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
    } catch {
      // Already gone.
    }
  }
}

/** Deletes `parlor-bench-PID` namespaces whose process is gone (a run killed with SIGKILL). */
function removeAbandoned(): void {
  const listed = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const line of listed.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (Number.isInteger(pid) && isAlive(pid)) continue;
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
