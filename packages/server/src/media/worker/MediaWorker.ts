import { Worker } from 'node:worker_threads';
import { InvalidStateError } from '../../InvalidStateError.js';
import { TypedEmitter } from '../../TypedEmitter.js';
import type {
  MediaWorkerMessage,
  MediaWorkerMethod,
  MediaWorkerMethods,
  MediaWorkerRequest,
  MediaWorkerSettings,
  RouterEvent,
} from './workerProtocol.js';
import {
  loadReportIntervalMs,
  WorkerLoadTracker,
  type AdmissionSettings,
  type WorkerLoadReading,
} from './WorkerLoad.js';
import { workerEntry } from './workerEntry.js';

/** A call the worker refused: the router's own error, by name and message. */
export class MediaWorkerCallError extends Error {
  override readonly name = 'MediaWorkerCallError';
  /** The name of the error the worker threw, e.g. `InvalidStateError`. */
  readonly causeName: string;

  constructor(method: MediaWorkerMethod, error: { name: string; message: string }) {
    super(`${method}: ${error.message}`);
    this.causeName = error.name;
  }
}

export interface MediaWorkerEvents {
  /** The thread ended without being asked to: its routers are gone. */
  died: [error: Error];
  /** Something to log as a warning (its batched reads failed, say). */
  warning: [message: string];
  /** One of its routers emitted an event. */
  routerEvent: [event: RouterEvent];
  /** A load report turned it overloaded, or admitting again (also after a silence that counted as overload). */
  admissionChange: [admitting: boolean, load: WorkerLoadReading];
}

interface PendingCall {
  readonly method: MediaWorkerMethod;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/**
 * The main thread's handle on one media worker thread: starts it, calls its routers and tells
 * when it dies. Calls are answered in the order they were made.
 */
export class MediaWorker extends TypedEmitter<MediaWorkerEvents> {
  readonly index: number;
  /** The UDP (and TCP) port the worker's peers reach. */
  readonly port: number;
  readonly #worker: Worker;
  readonly #pending = new Map<number, PendingCall>();
  readonly #load: WorkerLoadTracker;
  readonly #loadTicks: NodeJS.Timeout;
  #nextId = 1;
  #closing = false;
  #forwardedPerSecond = 0;
  #shedding = false;
  #sheddingMs = 0;

  private constructor(index: number, port: number, worker: Worker, admission: AdmissionSettings) {
    super();
    this.index = index;
    this.port = port;
    this.#worker = worker;
    this.#load = new WorkerLoadTracker(admission);
    this.#loadTicks = setInterval(() => {
      this.#load.tick();
    }, loadReportIntervalMs);
    this.#loadTicks.unref();
    worker.on('message', (message: MediaWorkerMessage) => {
      if (message.kind === 'ready') return;
      if (message.kind === 'warning') {
        this.safeEmit('warning', message.message);
        return;
      }
      if (message.kind === 'load') {
        const admitting = this.#load.admitting;
        const reading = { utilization: message.utilization, lagP99Ms: message.lagP99Ms };
        this.#forwardedPerSecond = message.forwardedPerSecond;
        this.#shedding = message.shedding;
        this.#sheddingMs = message.sheddingMs;
        this.#load.report(reading);
        if (this.#load.admitting !== admitting) this.safeEmit('admissionChange', !admitting, reading);
        return;
      }
      if (message.kind === 'event') {
        const { kind: _kind, ...event } = message;
        this.safeEmit('routerEvent', event);
        return;
      }
      const call = this.#pending.get(message.id);
      if (!call) return;
      this.#pending.delete(message.id);
      if (message.kind === 'result') call.resolve(message.result);
      else call.reject(new MediaWorkerCallError(call.method, message.error));
    });
    worker.on('error', (error) => {
      this.#end(error);
    });
    worker.on('exit', (code) => {
      this.#end(new Error(`media worker ${index} exited with code ${code}`));
    });
  }

  /**
   * Starts a worker thread and waits until its socket is bound; it admits new work while its load
   * stays under `admission`'s thresholds.
   */
  static async start(
    index: number,
    settings: MediaWorkerSettings,
    admission: AdmissionSettings,
  ): Promise<MediaWorker> {
    const worker = new Worker(workerEntry(import.meta.url, 'mediaWorkerMain'), {
      workerData: settings,
      name: `parlor-media-${index}`,
    });
    const port = await new Promise<number>((resolve, reject) => {
      const onMessage = (message: MediaWorkerMessage): void => {
        if (message.kind !== 'ready') return;
        cleanUp();
        resolve(message.port);
      };
      const onError = (error: Error): void => {
        cleanUp();
        reject(error);
      };
      const onExit = (code: number): void => {
        cleanUp();
        reject(new Error(`media worker ${index} exited with code ${code} while starting`));
      };
      const cleanUp = (): void => {
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
    return new MediaWorker(index, port, worker, admission);
  }

  /** Its latest load report. */
  get load(): WorkerLoadReading {
    return this.#load.last;
  }

  /** RTP packets it forwarded to subscribers per second, as it last reported. */
  get forwardedPerSecond(): number {
    return this.#forwardedPerSecond;
  }

  /** Whether it holds its subscribers' video at the lowest layer, as it last reported. */
  get shedding(): boolean {
    return this.#shedding;
  }

  /** The time it has spent shedding since it started, ms, as it last reported. */
  get sheddingMs(): number {
    return this.#sheddingMs;
  }

  /** Whether it takes new routed sessions, publishers and subscribers (see `WorkerLoadTracker`). */
  get admitting(): boolean {
    return this.#load.admitting;
  }

  call<M extends MediaWorkerMethod>(
    method: M,
    params: MediaWorkerMethods[M]['params'],
  ): Promise<MediaWorkerMethods[M]['result']> {
    if (this.#closing) return Promise.reject(new InvalidStateError(`media worker ${this.index} is closed`));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { method, resolve, reject });
      this.#worker.postMessage({ id, method, params } satisfies MediaWorkerRequest<M>);
    });
  }

  /** Ends the thread and its sockets; calls under way are refused. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#loadTicks);
    this.#rejectPending(new InvalidStateError(`media worker ${this.index} closed`));
    await this.#worker.terminate();
  }

  #end(error: Error): void {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#loadTicks);
    this.#rejectPending(error);
    this.safeEmit('died', error);
  }

  #rejectPending(error: Error): void {
    for (const call of this.#pending.values()) call.reject(error);
    this.#pending.clear();
  }
}
