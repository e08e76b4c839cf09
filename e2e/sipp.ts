import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sippScenarioFile, type SippScenarioName } from '@parlor/server/sip/testing';
import { freeUdpPort } from './baresip.js';

// sipp (Debian's sip-tester) as a scripted SIP endpoint on loopback, running one of the shared
// scenarios: it serves one call and exits 0 only when every message came as scripted.

export type ScenarioName = SippScenarioName;

/** One sipp run of a scenario: it serves one call and exits. */
export class Sipp {
  readonly port: number;
  readonly #dir: string;
  readonly #process: ChildProcess;
  readonly exited: Promise<number>;
  #log = '';

  readonly #transport: 'udp' | 'tcp';

  private constructor(port: number, dir: string, child: ChildProcess, transport: 'udp' | 'tcp') {
    this.port = port;
    this.#transport = transport;
    this.#dir = dir;
    this.#process = child;
    const append = (chunk: Buffer): void => {
      this.#log = (this.#log + chunk.toString()).slice(-50_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        resolve(code ?? -1);
      });
    });
  }

  /** Starts sipp on UDP, or on TCP (`-t t1`, one connection). */
  static async start(name: ScenarioName, transport: 'udp' | 'tcp' = 'udp'): Promise<Sipp> {
    const port = await freeUdpPort();
    const mediaPort = await freeUdpPort();
    const dir = mkdtempSync(join(tmpdir(), 'parlor-sipp-'));
    const file = join(dir, `${name}.xml`);
    writeFileSync(file, sippScenarioFile(name));
    const child = spawn(
      'sipp',
      [
        ...(transport === 'tcp' ? ['-t', 't1'] : []),
        '-sf',
        file,
        '-i',
        '127.0.0.1',
        '-p',
        String(port),
        '-mp',
        String(mediaPort),
        '-m',
        '1',
        '-nostdin',
        '-timeout',
        '30s',
        '-trace_err',
        '-error_file',
        join(dir, 'errors.log'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir },
    );
    const sipp = new Sipp(port, dir, child, transport);
    // Ready once it listens: its TCP socket shows in /proc; over UDP, lost INVITEs are resent.
    const listening = `:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A`;
    const deadline = Date.now() + 5000;
    while (transport === 'tcp' && !readFileSync('/proc/net/tcp', 'utf8').includes(listening)) {
      if (Date.now() > deadline) throw new Error(`sipp did not listen:\n${sipp.log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return sipp;
  }

  get uri(): string {
    return `sip:sipp@127.0.0.1:${this.port}${this.#transport === 'tcp' ? ';transport=tcp' : ''}`;
  }

  get log(): string {
    return this.#log;
  }

  async close(): Promise<void> {
    if (this.#process.exitCode === null && this.#process.signalCode === null) this.#process.kill('SIGKILL');
    await this.exited;
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
