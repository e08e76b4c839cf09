// `node --conditions=source --import tsx e2e/publisherFallbackRuns.ts [RUNS]`: the publisher
// audio fallback scenario (publisherFallbackScenario.ts) RUNS times (default 5) in each of a
// routed and a relayed session, alternating, on one test bed, for the benchmark
// `npm run bench -- fallback`. The link stays narrow 10 s after videoDisabled and 1.3 s longer
// each run (up to 15.2 s, then again), so that the widening falls at a different point of the
// probes' cycle (about 5.3 s: a 4 s wait and a failing probe) in each. Prints one JSON line on
// stdout, `{ runs }` or `{ skipped }`; progress goes to stderr.
import {
  describeRun,
  PublisherFallbackTestBed,
  type PublisherFallbackRun,
} from './publisherFallbackScenario.js';
import { printScenarioRuns } from './scenarioRuns.js';

await printScenarioRuns(
  () => PublisherFallbackTestBed.start(),
  async (bed, count) => {
    const runs: PublisherFallbackRun[] = [];
    for (let index = 1; index <= count; index++) {
      for (const mediaMode of ['routed', 'relayed'] as const) {
        const run = await bed.run(mediaMode, 10_000 + ((index - 1) % 5) * 1300);
        console.error(`run ${index}/${count} ${describeRun(run)}; events ${run.events.join(', ')}`);
        runs.push(run);
      }
    }
    return runs;
  },
);
