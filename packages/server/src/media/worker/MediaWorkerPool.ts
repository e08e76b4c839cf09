import type { Logger } from 'pino';
import { InvalidStateError } from '../../InvalidStateError.js';
import { defaultVideoFallbackSettings, type VideoFallbackSettings } from '../router/VideoFallback.js';
import type { PublisherFeedback } from '../router/MediaRouter.js';
import type { DtlsCertificate } from '../transport/DtlsCertificate.js';
import { defaultHandshakeLimits, type HandshakeLimits } from '../transport/HandshakeLimiter.js';
import { defaultTcpLimits, type IceTcpLimits } from '../ice/UdpMux.js';
import { defaultDataPlane, type DataPlane } from '../srtp/dataPlane.js';
import { MediaWorker } from './MediaWorker.js';
import { RemoteRouter } from './RemoteRouter.js';
import { defaultAdmissionSettings, type AdmissionSettings } from './WorkerLoad.js';
import type { MediaWorkerSettings, MuxStats } from './workerProtocol.js';

export interface MediaWorkerPoolOptions {
  /** How many worker threads; one per core is the point. */
  readonly workers: number;
  /** Address the workers' sockets bind. */
  readonly host: string;
  /** Worker i listens on `basePort + i` (UDP and TCP); 0 lets each pick a free port. */
  readonly basePort: number;
  /** Whether workers accept ICE-TCP as well as UDP. */
  readonly tcp: boolean;
  /** What ICE-TCP connections may do before their first check. Default: `defaultTcpLimits`. */
  readonly tcpLimits?: IceTcpLimits;
  /** The address announced in ICE candidates. */
  readonly announcedAddress: string;
  /** Where SRTP's cryptography runs. Default: `defaultDataPlane`, native when the addon built. */
  readonly dataPlane?: DataPlane;
  /** Whether the native data plane also reads the sockets, in batches (`UdpMuxOptions`). Default: false. */
  readonly batchedReads?: boolean;
  readonly certificate: DtlsCertificate;
  /** Audio fallback's thresholds for subscribers of routed sessions; null turns it off. Default: ours. */
  readonly videoFallback?: VideoFallbackSettings | null;
  /** How publishers of routed sessions learn what their uplink carries. Default: `transport-wide`. */
  readonly publisherFeedback?: PublisherFeedback;
  /** The load past which a worker takes no new session, publisher or subscriber. Default: `defaultAdmissionSettings`. */
  readonly admission?: AdmissionSettings;
  /** How many DTLS handshakes each worker runs at once and starts per second. Default: `defaultHandshakeLimits`. */
  readonly handshakes?: HandshakeLimits;
  readonly logger: Logger;
}

/** Every live media worker is overloaded: a new session waits until one admits again. */
export class MediaWorkersOverloadedError extends Error {
  override readonly name = 'MediaWorkersOverloadedError';
}

/** The longest wait between two attempts to replace a dead worker, ms. */
const maxRestartDelayMs = 30_000;

/** What one worker carries, for placement and stats. */
export interface MediaWorkerLoad {
  readonly index: number;
  readonly port: number;
  readonly routers: number;
  /** Share of the last report's interval its event loop was busy, 0–1. */
  readonly utilization: number;
  /** Its event loop's delay, p99 over the last report's interval, ms. */
  readonly lagP99Ms: number;
  /** Whether it takes new sessions, publishers and subscribers: the signal a placement uses. */
  readonly admitting: boolean;
  /** RTP packets it forwarded to subscribers per second, over its last 2 s or so. */
  readonly forwardedPerSecond: number;
  /** Whether it holds its subscribers' video at the lowest layer, being overloaded. */
  readonly shedding: boolean;
  /** The time it has spent shedding since it (this thread, not a replaced one) started, ms. */
  readonly sheddingMs: number;
}

/**
 * The media worker threads (mediasoup's worker model): each has its own UDP socket and hosts
 * whole sessions, so a session's packets never cross threads. A new session's router goes to
 * the admitting worker with the fewest (none admitting: refused); a worker that dies is
 * replaced, and the routers it hosted are lost.
 */
export class MediaWorkerPool {
  readonly #options: MediaWorkerPoolOptions;
  readonly #settings: (index: number) => MediaWorkerSettings;
  /** By index; null while a dead worker is being replaced. */
  readonly #workers: (MediaWorker | null)[];
  /** Each worker's routers, by ID. */
  readonly #routers = new Map<MediaWorker, Map<string, RemoteRouter>>();
  #closed = false;

  private constructor(options: MediaWorkerPoolOptions, workers: MediaWorker[]) {
    this.#options = options;
    this.#settings = settingsFor(options);
    this.#workers = workers;
    for (const worker of workers) this.#adopt(worker);
  }

  static async start(options: MediaWorkerPoolOptions): Promise<MediaWorkerPool> {
    if (!Number.isInteger(options.workers) || options.workers < 1)
      throw new RangeError(`a media worker pool needs at least one worker, not ${options.workers}`);
    const settings = settingsFor(options);
    const started = await Promise.allSettled(
      Array.from({ length: options.workers }, (_, index) =>
        MediaWorker.start(index, settings(index), options.admission ?? defaultAdmissionSettings),
      ),
    );
    const workers = started.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const failure = started.find((outcome) => outcome.status === 'rejected');
    if (failure) {
      await Promise.all(workers.map((worker) => worker.close()));
      throw failure.reason;
    }
    return new MediaWorkerPool(options, workers);
  }

  /** A new router, on the admitting worker hosting the fewest. */
  createRouter(): RemoteRouter {
    if (this.#closed) throw new InvalidStateError('the media worker pool is closed');
    const live = this.#workers.filter((worker) => worker !== null);
    if (live.length === 0) throw new InvalidStateError('no media worker is running');
    let chosen: MediaWorker | null = null;
    for (const worker of live) {
      if (worker.admitting && (!chosen || this.#routersOf(worker).size < this.#routersOf(chosen).size))
        chosen = worker;
    }
    if (!chosen) throw new MediaWorkersOverloadedError('every media worker is overloaded');
    const router = new RemoteRouter(chosen);
    const hosted = this.#routersOf(chosen);
    hosted.set(router.id, router);
    router.on('close', () => {
      hosted.delete(router.id);
    });
    return router;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get load(): MediaWorkerLoad[] {
    return this.#workers.flatMap((worker) =>
      worker
        ? [
            {
              index: worker.index,
              port: worker.port,
              routers: this.#routersOf(worker).size,
              ...worker.load,
              admitting: worker.admitting,
              forwardedPerSecond: worker.forwardedPerSecond,
              shedding: worker.shedding,
              sheddingMs: worker.sheddingMs,
            },
          ]
        : [],
    );
  }

  /** Tests only: makes a worker busy, as `simulateLoad` in the worker protocol says. */
  async simulateLoad(
    index: number,
    load: { busyMs: number; everyMs: number; durationMs: number },
  ): Promise<void> {
    const worker = this.#workers[index];
    if (!worker) throw new InvalidStateError(`no media worker ${index}`);
    await worker.call('simulateLoad', load);
  }

  /** Each live worker's ICE-TCP connections and UDP datagram counts. */
  async muxStats(): Promise<{ readonly index: number; readonly stats: MuxStats }[]> {
    const workers = this.#workers.filter((worker) => worker !== null);
    return Promise.all(
      workers.map(async (worker) => ({ index: worker.index, stats: await worker.call('muxStats', null) })),
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const workers = this.#workers.filter((worker) => worker !== null);
    this.#workers.fill(null);
    await Promise.all(workers.map((worker) => worker.close()));
  }

  #routersOf(worker: MediaWorker): Map<string, RemoteRouter> {
    let routers = this.#routers.get(worker);
    if (!routers) {
      routers = new Map();
      this.#routers.set(worker, routers);
    }
    return routers;
  }

  #adopt(worker: MediaWorker): void {
    worker.on('routerEvent', (event) => {
      this.#routersOf(worker).get(event.routerId)?.deliver(event);
    });
    worker.on('warning', (message) => {
      this.#options.logger.warn({ worker: worker.index }, message);
    });
    worker.on('admissionChange', (admitting, load) => {
      const context = { worker: worker.index, ...load };
      if (admitting) this.#options.logger.info(context, 'media worker admits new sessions again');
      else this.#options.logger.warn(context, 'media worker overloaded: it takes no new session');
    });
    worker.on('died', (error) => {
      this.#options.logger.error({ err: error, worker: worker.index }, 'media worker died');
      const lost = [...this.#routersOf(worker).values()];
      this.#routers.delete(worker);
      this.#workers[worker.index] = null;
      for (const router of lost) router.lose(error);
      void this.#replace(worker.index);
    });
  }

  async #replace(index: number): Promise<void> {
    for (let delayMs = 250; !this.#closed; delayMs = Math.min(2 * delayMs, maxRestartDelayMs)) {
      try {
        const worker = await MediaWorker.start(
          index,
          this.#settings(index),
          this.#options.admission ?? defaultAdmissionSettings,
        );
        if (this.closed) {
          await worker.close();
          return;
        }
        this.#workers[index] = worker;
        this.#adopt(worker);
        this.#options.logger.info({ worker: index, port: worker.port }, 'media worker replaced');
        return;
      } catch (error) {
        this.#options.logger.error({ err: error, worker: index }, 'media worker failed to start');
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }
}

function settingsFor(options: MediaWorkerPoolOptions): (index: number) => MediaWorkerSettings {
  const { certPem, keyPem, signatureHash } = options.certificate;
  return (index) => ({
    host: options.host,
    port: options.basePort === 0 ? 0 : options.basePort + index,
    tcp: options.tcp,
    tcpLimits: options.tcpLimits ?? defaultTcpLimits,
    admission: options.admission ?? defaultAdmissionSettings,
    handshakes: options.handshakes ?? defaultHandshakeLimits,
    announcedAddress: options.announcedAddress,
    dataPlane: options.dataPlane ?? defaultDataPlane,
    batchedReads: options.batchedReads ?? false,
    certificate: { certPem, keyPem, signatureHash },
    videoFallback: options.videoFallback === undefined ? defaultVideoFallbackSettings : options.videoFallback,
    publisherFeedback: options.publisherFeedback ?? 'transport-wide',
  });
}
