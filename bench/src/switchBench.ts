import { runScenario } from './fallbackBench.js';

// Adaptive routing's moves between peer to peer and the router, several times each way, beside
// a relayed session where nothing moves (the floor of the measure). e2e/switchRuns.ts drives the
// browsers; this side sums their runs up.

/** One move's worst figures over both pages, as e2e/switchRuns.ts prints them, ms. */
interface SwitchRun {
  readonly videoMs: number;
  readonly audioMs: number;
  readonly sampledEveryMs: number;
  readonly blackFrames: number;
  readonly switchMs: number | null;
}

/** The 50th and 95th percentiles of a figure over the runs, ms. */
export interface Percentiles {
  readonly p50Ms: number;
  readonly p95Ms: number;
}

export interface SwitchFigures {
  readonly runs: number;
  readonly video: Percentiles;
  readonly audio: Percentiles;
  /** How long the pages' own sampling stalled: the measure's resolution. */
  readonly sampling: Percentiles;
  /** Samples, over every run, of a <video> element showing a black picture. */
  readonly blackFrames: number;
  /** From the trigger to every page playing the new path; null for the floor. */
  readonly switch: Percentiles | null;
}

export interface SwitchBenchResult {
  /** A third joins: peer to peer to the router. */
  readonly toRouted: SwitchFigures;
  /** It leaves: back to peer to peer after the hold. */
  readonly toDirect: SwitchFigures;
  /** Two pages of a relayed session over the same time, nothing moving. */
  readonly floor: SwitchFigures;
}

export async function runSwitchBench(runs: number): Promise<SwitchBenchResult | { skipped: string }> {
  const parsed = await runScenario<{ toRouted: SwitchRun[]; toDirect: SwitchRun[]; floor: SwitchRun[] }>(
    'e2e/switchRuns.ts',
    runs,
  );
  if ('skipped' in parsed) return parsed;
  return {
    toRouted: figures(parsed.toRouted),
    toDirect: figures(parsed.toDirect),
    floor: figures(parsed.floor),
  };
}

function figures(runs: readonly SwitchRun[]): SwitchFigures {
  const switches = runs.flatMap((run) => (run.switchMs === null ? [] : [run.switchMs]));
  return {
    runs: runs.length,
    video: percentiles(runs.map((run) => run.videoMs)),
    audio: percentiles(runs.map((run) => run.audioMs)),
    sampling: percentiles(runs.map((run) => run.sampledEveryMs)),
    blackFrames: runs.reduce((sum, run) => sum + run.blackFrames, 0),
    switch: switches.length > 0 ? percentiles(switches) : null,
  };
}

/** Nearest-rank percentiles. */
function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number): number => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? 0;
  return { p50Ms: rank(0.5), p95Ms: rank(0.95) };
}
