import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Audio fallback on a real link, several times. Subscriber side: the e2e scenario (a Chromium in
// a network namespace whose downlink drops to 60 kbit/s with 10 % loss, then is repaired) run by
// e2e/audioFallbackRuns.ts. Publisher side: the publisher's Chromium in a namespace whose uplink
// narrows to 64 kbit/s (2 KB bucket, 3 % loss), routed and relayed, run by
// e2e/publisherFallbackRuns.ts. Those drive the browsers; this side sums their runs up.

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

/** One publisher run's figures, as e2e/publisherFallbackRuns.ts prints them (the parts used here). */
interface PublisherRun {
  readonly mediaMode: 'routed' | 'relayed';
  readonly reaction: { readonly publisherMs: number; readonly subscriberMs: number };
  readonly recovery: { readonly publisherMs: number; readonly subscriberMs: number };
  readonly impairCommandMs: number;
  readonly events: readonly string[];
  readonly probes: { readonly started: number; readonly failed: number };
}

/** Publisher audio fallback in one media mode, over its runs. */
export interface PublisherFallbackFigures {
  readonly runs: number;
  /** Narrowing to `videoDisabled`: decided by the publisher, and `hasVideo` false at the subscriber. */
  readonly reaction: { readonly publisher: Spread; readonly subscriber: Spread };
  /** Widening to `videoEnabled`, the same two ways. */
  readonly recovery: { readonly publisher: Spread; readonly subscriber: Spread };
  /** Runs whose publisher saw warning, disabled, enabled and nothing else: no flapping. */
  readonly steadyRuns: number;
  /** Probes made, and failed, on the narrow link over all runs: none turned video on. */
  readonly probes: { readonly started: number; readonly failed: number };
  readonly each: readonly PublisherRun[];
}

export type FallbackBenchResult =
  | { readonly skipped: string }
  | {
      /** Publisher audio fallback (`audioFallback.publisher`), per media mode; absent when not run. */
      readonly publisher?: {
        readonly routed: PublisherFallbackFigures;
        readonly relayed: PublisherFallbackFigures;
      };
      /** The subscriber side's figures follow; absent when not run. */
      readonly runs?: number;
      /** Impairment to `videoDisabled`: decided by the router, and seen by the subscriber's page. */
      readonly reaction?: { readonly router: Spread; readonly subscriber: Spread };
      /** Repair to `videoEnabled`, the same two ways. */
      readonly recovery?: { readonly router: Spread; readonly subscriber: Spread };
      /** Runs whose subscriber saw warning, disabled, enabled and nothing else: no flapping. */
      readonly steadyRuns?: number;
      /** Runs in which the unimpaired subscriber decoded video every second. */
      readonly unaffectedRuns?: number;
      readonly each?: readonly ScenarioRun[];
    };

/** Which sides to measure. */
export type FallbackSide = 'subscriber' | 'publisher';

const rootUrl = new URL('../../', import.meta.url);
const root = fileURLToPath(rootUrl);
const cleanEvents = ['videoDisableWarning', 'videoDisabled quality', 'videoEnabled quality'].join();

export async function runFallbackBench(
  runs: number,
  sides: readonly FallbackSide[] = ['subscriber', 'publisher'],
): Promise<FallbackBenchResult> {
  let result: Exclude<FallbackBenchResult, { skipped: string }> = {};
  if (sides.includes('subscriber')) {
    const parsed = await runScenario<{ runs: ScenarioRun[] }>('e2e/audioFallbackRuns.ts', runs);
    if ('skipped' in parsed) return parsed;
    const each = parsed.runs;
    result = {
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
  if (sides.includes('publisher')) {
    const parsed = await runScenario<{ runs: PublisherRun[] }>('e2e/publisherFallbackRuns.ts', runs);
    if ('skipped' in parsed) return parsed;
    const mode = (mediaMode: PublisherRun['mediaMode']) =>
      publisherFigures(parsed.runs.filter((run) => run.mediaMode === mediaMode));
    result = { publisher: { routed: mode('routed'), relayed: mode('relayed') }, ...result };
  }
  return result;
}

function publisherFigures(each: readonly PublisherRun[]): PublisherFallbackFigures {
  return {
    runs: each.length,
    reaction: {
      publisher: spread(each.map((run) => run.reaction.publisherMs)),
      subscriber: spread(each.map((run) => run.reaction.subscriberMs)),
    },
    recovery: {
      publisher: spread(each.map((run) => run.recovery.publisherMs)),
      subscriber: spread(each.map((run) => run.recovery.subscriberMs)),
    },
    steadyRuns: each.filter((run) => run.events.join() === cleanEvents).length,
    probes: {
      started: each.reduce((sum, run) => sum + run.probes.started, 0),
      failed: each.reduce((sum, run) => sum + run.probes.failed, 0),
    },
    each,
  };
}

/** Runs an e2e runs script (it drives the browsers) and parses the JSON line it ends with; also the switch benchmark's. */
export async function runScenario<T>(script: string, runs: number): Promise<T | { skipped: string }> {
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', fileURLToPath(new URL(script, rootUrl)), String(runs)],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${script} exited with ${code}`));
    });
  });
  return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as T | { skipped: string };
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
