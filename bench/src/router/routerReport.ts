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

/** Per scenario, each SFU's step with the most streams at a loss within the bound. */
export function bestWithinLossBound(result: RouterBenchResult, scenario: ScenarioName): BestStep[] {
  return sfuNames.flatMap((sfu) => {
    const within = result.steps.filter((s) => s.scenario === scenario && s.sfu === sfu && withinBounds(s));
    const best = within.reduce<StepFigures | null>(
      (top, s) => (!top || s.streams > top.streams ? s : top),
      null,
    );
    return best ? [{ sfu, step: best }] : [];
  });
}

/** One table per scenario, SFUs side by side at each size, with the Parlor/Janus ratio under it. */
export function routerTables(result: RouterBenchResult): Table[] {
  const header = [
    'N',
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
      .sort((a, b) => a.size - b.size || sfuNames.indexOf(a.sfu) - sfuNames.indexOf(b.sfu));
    if (steps.length === 0) return [];
    const rows = steps.map((s) => [
      String(s.size),
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
    const best = bestWithinLossBound(result, scenario);
    const notes = best.map(
      ({ sfu, step }) =>
        `${sfuLabels[sfu]}: most streams with every subscription served and loss <= ${lossBoundPercent} %: ${fmt(step.streams)} (N = ${step.size}), ` +
        `${fmt(step.streamsPerCore)} streams per core at ${step.microsPerPacket.toFixed(1)} µs/packet`,
    );
    const parlor = best.find((b) => b.sfu === 'parlor');
    const janus = best.find((b) => b.sfu === 'janus');
    if (parlor && janus) {
      notes.push(
        `Parlor / Janus (event_loops = 2), forwarded streams per core at the same loss bound: ` +
          `${(parlor.step.streamsPerCore / janus.step.streamsPerCore).toFixed(2)}x`,
      );
    }
    return [{ title: scenarioTitles[scenario], rows: [header, ...rows], notes }];
  });
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
