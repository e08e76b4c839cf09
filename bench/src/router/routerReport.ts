import {
  lossBoundPercent,
  scenarioNames,
  sfuNames,
  type RouterBenchResult,
  type ScenarioName,
  type SfuName,
  type StepFigures,
  withinBounds,
} from './routerBench.js';

/** A table to print: a title and rows of cells, the first row the header. */
export interface Table {
  readonly title: string;
  readonly rows: readonly (readonly string[])[];
  /** Lines printed under the table. */
  readonly notes: readonly string[];
}

const sfuLabels: Record<SfuName, string> = {
  parlor: 'Parlor (1 media worker)',
  'parlor-js': 'Parlor, --data-plane js',
  janus: 'Janus (event_loops = 2)',
  'janus-default': 'Janus (default threads)',
};

const scenarioTitles: Record<ScenarioName, string> = {
  livestream: 'Livestream: 1 publisher (VP8 + Opus) → N viewers',
  meeting: 'Meeting: N participants, each publishing and subscribing to the others',
  'audio-room': 'Audio-only room: N participants publishing Opus, each subscribing to the others',
  'join-storm': 'Join storm: N viewers join 1 publisher at the same moment',
  'storm-while-watching':
    'Join storm while watching: 50 viewers receive while N more join at once (figures of the 50; join: of the N)',
  overload:
    'Overload: N viewers ask to join 1 publisher on one worker ("failed": refused by admission; loss: of those admitted)',
};

/** The best a SFU did in a scenario within the loss bound: the most streams, and its cost then. */
export interface BestStep {
  readonly sfu: SfuName;
  readonly step: StepFigures;
}

/** Parlor beside Janus (`event_loops = 2`) in one round of a scenario. */
export interface RoundComparison {
  readonly round: number;
  /** Parlor's forwarded streams per core over Janus's, each at its best step within the bounds. */
  readonly ratio: number;
  /** Each SFU's best step within the bounds. */
  readonly parlor: StepFigures;
  readonly janus: StepFigures;
  /** The largest size both served within the bounds, where their p99 latencies compare. */
  readonly common: { readonly parlor: StepFigures; readonly janus: StepFigures } | null;
}

/** Per SFU, its step with the most streams at a loss within the bound, among `steps`. */
export function bestWithinLossBound(steps: readonly StepFigures[]): BestStep[] {
  return sfuNames.flatMap((sfu) => {
    const within = steps.filter((s) => s.sfu === sfu && withinBounds(s));
    const best = within.reduce<StepFigures | null>(
      (top, s) => (!top || s.streams > top.streams ? s : top),
      null,
    );
    return best ? [{ sfu, step: best }] : [];
  });
}

/** Each round's Parlor / Janus comparison in a scenario, where both had a step within the bounds. */
export function compareRounds(steps: readonly StepFigures[], scenario: ScenarioName): RoundComparison[] {
  const ofScenario = steps.filter((s) => s.scenario === scenario);
  return roundsOf(ofScenario).flatMap((round) => {
    const inRound = ofScenario.filter((s) => s.round === round);
    const best = bestWithinLossBound(inRound);
    const parlor = best.find((b) => b.sfu === 'parlor')?.step;
    const janus = best.find((b) => b.sfu === 'janus')?.step;
    if (!parlor || !janus) return [];
    const served = (sfu: SfuName) => inRound.filter((s) => s.sfu === sfu && withinBounds(s));
    const janusSizes = new Set(served('janus').map((s) => s.size));
    const commonParlor = served('parlor')
      .filter((s) => janusSizes.has(s.size))
      .reduce<StepFigures | null>((top, s) => (!top || s.size > top.size ? s : top), null);
    const commonJanus = commonParlor && served('janus').find((s) => s.size === commonParlor.size);
    return [
      {
        round,
        ratio: parlor.streamsPerCore / janus.streamsPerCore,
        parlor,
        janus,
        common: commonParlor && commonJanus ? { parlor: commonParlor, janus: commonJanus } : null,
      },
    ];
  });
}

/** The rounds the steps were measured in, in order. */
function roundsOf(steps: readonly StepFigures[]): number[] {
  return [...new Set(steps.map((s) => s.round))].sort((a, b) => a - b);
}

/** The middle value; the mean of the two middle ones for an even count. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const upper = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  const lower = sorted[Math.ceil(sorted.length / 2) - 1] ?? Number.NaN;
  return (lower + upper) / 2;
}

/**
 * Lines under a scenario's table: with one round, each SFU's best step and the ratio; with
 * several, each round's comparison and their medians, the figure to go by on a machine whose
 * speed drifts between runs.
 */
export function comparisonNotes(steps: readonly StepFigures[], scenario: ScenarioName): string[] {
  const ofScenario = steps.filter((s) => s.scenario === scenario);
  const comparisons = compareRounds(ofScenario, scenario);
  const rounds = roundsOf(ofScenario);
  if (rounds.length <= 1) {
    const notes = bestWithinLossBound(ofScenario).map(
      ({ sfu, step }) =>
        `${sfuLabels[sfu]}: most streams with every subscription served and loss <= ${lossBoundPercent} %: ${fmt(step.streams)} (N = ${step.size}), ` +
        `${fmt(step.streamsPerCore)} streams per core at ${step.microsPerPacket.toFixed(1)} µs/packet`,
    );
    const [only] = comparisons;
    if (only) {
      notes.push(
        `Parlor / Janus (event_loops = 2), forwarded streams per core at the same loss bound: ${only.ratio.toFixed(2)}x`,
      );
    }
    return notes;
  }
  const notes = rounds.map((round) => {
    const c = comparisons.find((comparison) => comparison.round === round);
    if (c) return describeRound(c);
    const without = (['parlor', 'janus'] as const).filter(
      (sfu) => !ofScenario.some((s) => s.round === round && s.sfu === sfu && withinBounds(s)),
    );
    return `round ${round}: no comparison (no step within the bounds: ${without.map((sfu) => sfuLabels[sfu]).join(', ')})`;
  });
  if (comparisons.length === 0) return notes;
  const ratios = comparisons.map((c) => c.ratio);
  const withCommon = comparisons.flatMap((c) => (c.common ? [c.common] : []));
  const under = withCommon.filter((c) => c.parlor.latencyP99Ms <= c.janus.latencyP99Ms).length;
  notes.push(
    `Parlor / Janus (event_loops = 2) over ${comparisons.length === rounds.length ? '' : `${comparisons.length} of `}${rounds.length} rounds: median ${median(ratios).toFixed(2)}x ` +
      `(${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}x); µs/packet median ` +
      `${median(comparisons.map((c) => c.parlor.microsPerPacket)).toFixed(1)} / ` +
      median(comparisons.map((c) => c.janus.microsPerPacket)).toFixed(1) +
      (withCommon.length > 0
        ? `; p99 median ${median(withCommon.map((c) => c.parlor.latencyP99Ms)).toFixed(1)} / ` +
          `${median(withCommon.map((c) => c.janus.latencyP99Ms)).toFixed(1)} ms, Parlor's at or under Janus's in ${under} of ${withCommon.length}`
        : ''),
  );
  return notes;
}

function describeRound(c: RoundComparison): string {
  return (
    `round ${c.round}: Parlor / Janus ${c.ratio.toFixed(2)}x (N = ${c.parlor.size} / ${c.janus.size}, ` +
    `${c.parlor.microsPerPacket.toFixed(1)} / ${c.janus.microsPerPacket.toFixed(1)} µs/packet)` +
    (c.common
      ? `; p99 at N = ${c.common.parlor.size}: ${c.common.parlor.latencyP99Ms.toFixed(1)} / ${c.common.janus.latencyP99Ms.toFixed(1)} ms`
      : '')
  );
}

/** One table per scenario, SFUs side by side at each size, with the Parlor/Janus ratio under it. */
export function routerTables(result: RouterBenchResult): Table[] {
  const rounds = roundsOf(result.steps).length > 1;
  const header = [
    'N',
    ...(rounds ? ['round'] : []),
    'SFU',
    'streams',
    'packets/s',
    'Mbit/s',
    'server CPU',
    'µs/packet',
    'streams/core',
    'loss',
    'latency p50/p99 ms',
    'join p50/p95 ms',
    'failed',
    'load CPU',
  ];
  return scenarioNames.flatMap((scenario) => {
    const steps = result.steps
      .filter((s) => s.scenario === scenario)
      .sort(
        (a, b) => a.size - b.size || a.round - b.round || sfuNames.indexOf(a.sfu) - sfuNames.indexOf(b.sfu),
      );
    if (steps.length === 0) return [];
    const rows = steps.map((s) => [
      String(s.size),
      ...(rounds ? [String(s.round)] : []),
      sfuLabels[s.sfu],
      fmt(s.streams),
      fmt(s.packetsPerSecond),
      s.megabitsPerSecond.toFixed(1),
      `${s.serverCpuPercent.toFixed(0)} %`,
      s.microsPerPacket.toFixed(1),
      fmt(s.streamsPerCore),
      `${s.lossPercent.toFixed(2)} %`,
      `${s.latencyP50Ms.toFixed(1)} / ${s.latencyP99Ms.toFixed(1)}`,
      `${fmt(s.joinP50Ms)} / ${fmt(s.joinP95Ms)}`,
      String(s.failedSubscriptions),
      `${s.loadCpuPercent.toFixed(0)} %`,
    ]);
    return [
      { title: scenarioTitles[scenario], rows: [header, ...rows], notes: comparisonNotes(steps, scenario) },
    ];
  });
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
