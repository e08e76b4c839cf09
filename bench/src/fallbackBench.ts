import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Subscriber audio fallback on a real link, several times: the e2e scenario (a Chromium in a
// network namespace whose downlink drops to 60 kbit/s with 10 % loss, then is repaired) run by
// e2e/audioFallbackRuns.ts, which drives the browsers; this side sums its runs up.

/** Median, least and most of a figure over the runs, ms. */
export interface Spread {
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
}

/** One run's figures, as e2e/audioFallbackRuns.ts prints them (the parts used here). */
interface ScenarioRun {
  readonly reaction: { readonly routerMs: number; readonly subscriberMs: number };
  readonly recovery: { readonly routerMs: number; readonly subscriberMs: number };
  readonly events: readonly string[];
  readonly steadyStalls: readonly string[];
}

export type FallbackBenchResult =
  | { readonly skipped: string }
  | {
      readonly runs: number;
      /** Impairment to `videoDisabled`: decided by the router, and seen by the subscriber's page. */
      readonly reaction: { readonly router: Spread; readonly subscriber: Spread };
      /** Repair to `videoEnabled`, the same two ways. */
      readonly recovery: { readonly router: Spread; readonly subscriber: Spread };
      /** Runs whose subscriber saw warning, disabled, enabled and nothing else: no flapping. */
      readonly steadyRuns: number;
      /** Runs in which the unimpaired subscriber decoded video every second. */
      readonly unaffectedRuns: number;
      readonly each: readonly ScenarioRun[];
    };

const runner = fileURLToPath(new URL('../../e2e/audioFallbackRuns.ts', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
const cleanEvents = ['videoDisableWarning', 'videoDisabled quality', 'videoEnabled quality'].join();

export async function runFallbackBench(runs: number): Promise<FallbackBenchResult> {
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', runner, String(runs)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`e2e/audioFallbackRuns.ts exited with ${code}`));
    });
  });
  const parsed = JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as
    { skipped: string } | { runs: ScenarioRun[] };
  if ('skipped' in parsed) return parsed;
  const each = parsed.runs;
  return {
    runs: each.length,
    reaction: {
      router: spread(each.map((run) => run.reaction.routerMs)),
      subscriber: spread(each.map((run) => run.reaction.subscriberMs)),
    },
    recovery: {
      router: spread(each.map((run) => run.recovery.routerMs)),
      subscriber: spread(each.map((run) => run.recovery.subscriberMs)),
    },
    steadyRuns: each.filter((run) => run.events.join() === cleanEvents).length,
    unaffectedRuns: each.filter((run) => run.steadyStalls.length === 0).length,
    each,
  };
}

function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { medianMs: median, minMs: sorted[0] ?? 0, maxMs: sorted.at(-1) ?? 0 };
}
