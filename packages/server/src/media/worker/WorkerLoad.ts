import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

/** One report of a media worker's own load, over the interval since its previous one. */
export interface WorkerLoadReading {
  /** Share of the interval its event loop was busy (`performance.eventLoopUtilization`), 0–1. */
  readonly utilization: number;
  /** 99th percentile of its event loop's delay over the interval, ms (`monitorEventLoopDelay`). */
  readonly lagP99Ms: number;
}

/**
 * When a media worker takes no new routed session, publisher or subscriber. The defaults leave a
 * worker room for the packets of those it already carries: past them, DTLS handshakes and SDP
 * of new joins start to delay datagrams, and with them the consent checks of established peers.
 */
export interface AdmissionSettings {
  /**
   * Event-loop delay (p99 over a report) above which a worker is overloaded, ms. Default: 200
   * (a shared virtual machine shows 100 ms at times even when idle; refusing joins is worse).
   */
  readonly maxLagMs: number;
  /** Event-loop utilization above which a worker is overloaded, 0–1. Default: 0.9. */
  readonly maxUtilization: number;
}

export const defaultAdmissionSettings: AdmissionSettings = Object.freeze({
  maxLagMs: 200,
  maxUtilization: 0.9,
});

/** How often a worker reports its load, ms. */
export const loadReportIntervalMs = 500;

/** Consecutive reports over a threshold that make a worker overloaded: a second's worth. */
const enterReadings = 2;
/** Consecutive reports under `resumeFraction` of both thresholds that make it admit again: two seconds. */
const leaveReadings = 4;
/** The hysteresis: the load must fall this far under the thresholds before admission resumes. */
const resumeFraction = 0.8;
/**
 * A worker that has missed this many reports is taken to be stuck, so overloaded. Counted in
 * the main thread's own ticks, not by the clock: a main thread that was itself held up would
 * otherwise read the reports still waiting in its queue as silence.
 */
const staleAfterTicks = 4;

/**
 * Whether one media worker admits new work, from the load it reports: overloaded after a second
 * over either threshold, admitting again after two seconds clearly under both, so that a worker
 * near a threshold does not flap. A worker whose loop is blocked cannot report at all: silence
 * (`tick` called every `loadReportIntervalMs` with no report between) counts as overload.
 */
export class WorkerLoadTracker {
  readonly #settings: AdmissionSettings;
  #overloaded = false;
  #streak = 0;
  #ticksSinceReport = 0;
  #last: WorkerLoadReading = { utilization: 0, lagP99Ms: 0 };

  constructor(settings: AdmissionSettings) {
    this.#settings = settings;
  }

  /** The latest report. */
  get last(): WorkerLoadReading {
    return this.#last;
  }

  get overloaded(): boolean {
    return this.#overloaded || this.#ticksSinceReport > staleAfterTicks;
  }

  get admitting(): boolean {
    return !this.overloaded;
  }

  /** The main thread's clock: called every `loadReportIntervalMs`. */
  tick(): void {
    this.#ticksSinceReport++;
  }

  report(reading: WorkerLoadReading): void {
    this.#last = reading;
    this.#ticksSinceReport = 0;
    const { maxLagMs, maxUtilization } = this.#settings;
    const crossing = this.#overloaded
      ? reading.lagP99Ms < resumeFraction * maxLagMs && reading.utilization < resumeFraction * maxUtilization
      : reading.lagP99Ms > maxLagMs || reading.utilization > maxUtilization;
    this.#streak = crossing ? this.#streak + 1 : 0;
    if (this.#streak >= (this.#overloaded ? leaveReadings : enterReadings)) {
      this.#overloaded = !this.#overloaded;
      this.#streak = 0;
    }
  }
}

/** The delay histogram's sampling period, ms: a finer one costs the loop more wakeups. */
const lagResolutionMs = 10;

/**
 * Measures the calling thread's own load and hands a reading every `loadReportIntervalMs`;
 * returns a function that stops. Utilization and event-loop delay are the thread's own, where
 * `process.cpuUsage` would count the whole process, every worker and the main thread together.
 */
export function measureLoad(onReading: (reading: WorkerLoadReading) => void): () => void {
  const delay = monitorEventLoopDelay({ resolution: lagResolutionMs });
  delay.enable();
  let utilization = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const interval = performance.eventLoopUtilization(now, utilization);
    utilization = now;
    // The histogram holds the time between its timer's firings: its period is no delay.
    const lagP99Ms = Math.max(0, delay.percentile(99) / 1e6 - lagResolutionMs);
    delay.reset();
    onReading({ utilization: interval.utilization, lagP99Ms });
  }, loadReportIntervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    delay.disable();
  };
}
