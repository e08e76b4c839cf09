/**
 * One timer for the periodic work of a thread's subscriptions and publications. Each task runs
 * once per its period; the tasks of one period are spread over it in slices (each joins the
 * slice with the fewest), so that no turn holds the packets waiting behind it for long, and the
 * tasks of a slice run together, which costs less than each on its own timer (in a meeting of
 * 12, about 18 % less periodic work than one interval per task, and less than slices of 10 ms:
 * bench/README.md).
 */
export class PeriodicClock {
  readonly #sliceMs: number;
  /** By period: one set of tasks per slice of it. */
  readonly #schedules = new Map<number, Set<Task>[]>();
  #tasks = 0;
  #timer: NodeJS.Timeout | null = null;
  /** Turns since the clock started. */
  #turn = 0;

  /**
   * `sliceMs`: how often the clock runs a slice of each period's tasks, ms; every period must be
   * a multiple of it. Default: 50 (transport-wide feedback's period).
   */
  constructor(sliceMs = 50) {
    this.#sliceMs = sliceMs;
  }

  /**
   * Runs `work` once every `periodMs` (a multiple of the slice), the first time within one
   * period; `cancel()` stops it at once, also from within a task of the same slice.
   */
  add(periodMs: number, work: () => void): PeriodicTask {
    const count = periodMs / this.#sliceMs;
    if (!Number.isInteger(count) || count < 1)
      throw new TypeError(`periodMs must be a multiple of ${this.#sliceMs}, not ${periodMs}`);
    let slices = this.#schedules.get(periodMs);
    if (!slices) {
      slices = Array.from({ length: count }, () => new Set<Task>());
      this.#schedules.set(periodMs, slices);
    }
    let slice = slices[0] as Set<Task>;
    for (const candidate of slices) if (candidate.size < slice.size) slice = candidate;
    const task: Task = {
      work,
      cancel: () => {
        this.#cancel(slice, task);
      },
    };
    slice.add(task);
    if (this.#tasks++ === 0) this.#start();
    return task;
  }

  #cancel(slice: Set<Task>, task: Task): void {
    if (!slice.delete(task)) return;
    if (--this.#tasks === 0) this.#stop();
  }

  #start(): void {
    this.#turn = 0;
    this.#timer = setInterval(() => {
      this.#run();
    }, this.#sliceMs);
    this.#timer.unref();
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Runs the next slice of each period; a late turn delays its tasks, as a late interval would. */
  #run(): void {
    const turn = ++this.#turn;
    for (const slices of this.#schedules.values())
      for (const task of slices[turn % slices.length] as Set<Task>) task.work();
  }
}

/** A task of a `PeriodicClock`. */
export interface PeriodicTask {
  /** Stops it; idempotent. */
  cancel(): void;
}

interface Task extends PeriodicTask {
  readonly work: () => void;
}

let shared: PeriodicClock | null = null;

/** The clock of this thread (a media worker), shared by all its routers. */
export function threadClock(): PeriodicClock {
  return (shared ??= new PeriodicClock());
}
