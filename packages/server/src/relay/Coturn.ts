import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { turnserverPath, type EmbeddedTurnConfig } from '../config/config.js';
import { parseStun, serializeStun, stunMessageTypes } from '../media/ice/stun.js';
import { TypedEmitter } from '../TypedEmitter.js';
import { coturnConfig } from './coturnConfig.js';

export interface CoturnOptions {
  readonly turn: EmbeddedTurnConfig;
  /** The shared secret of the credentials. */
  readonly secret: string;
  /** Folder of the generated `turnserver.conf`, PID file and coturn's database. */
  readonly dataDir: string;
  readonly logger: Logger;
  /** How long `start` waits for coturn to answer STUN, in ms. Default: 5000. */
  readonly startTimeoutMs?: number;
  /** Delay before restarting coturn when it exited on its own, in ms. Default: 1000. */
  readonly restartDelayMs?: number;
}

interface CoturnEvents {
  /** The process exited: when closed, or on its own (it is then restarted). */
  exit: [code: number | null, signal: NodeJS.Signals | null];
}

/** Lines of coturn's output kept to explain a failed start. */
const keptLines = 20;

/**
 * The embedded TURN server: coturn's `turnserver` run with a generated configuration, restarted
 * when it exits on its own, and stopped by `close`.
 */
export class Coturn extends TypedEmitter<CoturnEvents> {
  readonly #options: CoturnOptions;
  readonly #configFile: string;
  readonly #logger: Logger;
  #child: ChildProcess | null = null;
  #restartTimer: NodeJS.Timeout | undefined;
  /** Whether it answered once: a start that fails is reported by `start`, not restarted. */
  #started = false;
  #closing: Promise<void> | null = null;
  readonly #lastLines: string[] = [];

  private constructor(options: CoturnOptions) {
    super((event, error) => {
      this.#logger.error({ err: error, event }, 'coturn listener failed');
    });
    this.#options = options;
    this.#logger = options.logger.child({ component: 'coturn' });
    this.#configFile = join(options.dataDir, 'turnserver.conf');
  }

  /** Writes the configuration, starts coturn and resolves once it answers STUN on its port. */
  static async start(options: CoturnOptions): Promise<Coturn> {
    const coturn = new Coturn(options);
    const files = {
      pidFile: join(options.dataDir, 'turnserver.pid'),
      userDb: join(options.dataDir, 'turndb'),
    };
    writeFileSync(coturn.#configFile, coturnConfig(options.turn, options.secret, files), { mode: 0o600 });
    const child = coturn.#spawn();
    const exited = new Promise<never>((_resolve, reject) => {
      child.once('exit', (code, signal) => {
        const output = coturn.#lastLines.join('\n  ');
        reject(new Error(`coturn exited at start (code ${code}, signal ${signal}):\n  ${output}`));
      });
      child.once('error', reject);
    });
    try {
      await Promise.race([exited, coturn.#answersStun(options.startTimeoutMs ?? 5000)]);
    } catch (error) {
      await coturn.close();
      throw error;
    }
    coturn.#started = true;
    coturn.#logger.info({ port: options.turn.port }, 'coturn started');
    return coturn;
  }

  /** Stops coturn (SIGTERM, then SIGKILL after 3 s); resolves once it exited. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      clearTimeout(this.#restartTimer);
      const child = this.#child;
      if (!child || child.exitCode !== null || child.signalCode !== null) {
        resolve();
        return;
      }
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(killer);
        resolve();
      });
      child.kill('SIGTERM');
    });
    return this.#closing;
  }

  #spawn(): ChildProcess {
    const child = spawn(turnserverPath, ['-c', this.#configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        this.#lastLines.push(line);
        if (this.#lastLines.length > keptLines) this.#lastLines.shift();
        this.#logger.debug(line);
      });
    }
    child.on('error', (error) => {
      this.#logger.error({ err: error }, 'coturn could not be run');
    });
    child.on('exit', (code, signal) => {
      this.safeEmit('exit', code, signal);
      if (this.#closing) {
        this.#logger.info({ code, signal }, 'coturn stopped');
        return;
      }
      if (!this.#started) return;
      const restartDelayMs = this.#options.restartDelayMs ?? 1000;
      this.#logger.error({ code, signal, output: this.#lastLines.slice(-5) }, 'coturn exited; restarting');
      this.#restartTimer = setTimeout(() => this.#spawn(), restartDelayMs);
    });
    return child;
  }

  /** Sends STUN binding requests to coturn's port until one is answered. */
  #answersStun(timeoutMs: number): Promise<void> {
    const host = this.#options.turn.listenIps[0] ?? '127.0.0.1';
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    const transactionId = randomBytes(12);
    const request = serializeStun({ type: stunMessageTypes.bindingRequest, transactionId, attributes: [] });
    return new Promise<void>((resolve, reject) => {
      const finish = (error?: Error): void => {
        clearInterval(sender);
        clearTimeout(timer);
        socket.close();
        if (error) reject(error);
        else resolve();
      };
      const send = (): void => {
        socket.send(request, this.#options.turn.port, host);
      };
      const sender = setInterval(send, 100);
      const timer = setTimeout(() => {
        finish(
          new Error(`coturn did not answer STUN on ${host}:${this.#options.turn.port} in ${timeoutMs} ms`),
        );
      }, timeoutMs);
      socket.on('message', (packet) => {
        const message = parseStun(packet);
        if (message?.type === stunMessageTypes.bindingSuccess && message.transactionId.equals(transactionId))
          finish();
      });
      socket.on('error', () => undefined);
      send();
    });
  }
}
