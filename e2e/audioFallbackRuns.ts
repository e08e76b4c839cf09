// `node --conditions=source --import tsx e2e/audioFallbackRuns.ts [RUNS]`: the audio fallback
// scenario (audioFallbackScenario.ts) RUNS times (default 5) on one test bed, for the benchmark
// `npm run bench -- fallback`. Prints one JSON line on stdout, `{ runs }` or `{ skipped }`;
// progress goes to stderr.
import { FallbackTestBed, type FallbackRun } from './audioFallbackScenario.js';
import { printScenarioRuns } from './scenarioRuns.js';

await printScenarioRuns(
  () => FallbackTestBed.start(),
  async (bed, count) => {
    const runs: FallbackRun[] = [];
    for (let index = 1; index <= count; index++) {
      const run = await bed.run();
      console.error(
        `run ${index}/${count}: reaction ${run.reaction.routerMs} ms (router), ${run.reaction.subscriberMs} ms (subscriber); ` +
          `recovery ${run.recovery.routerMs} ms, ${run.recovery.subscriberMs} ms; events ${run.events.join(', ')}`,
      );
      runs.push(run);
    }
    return runs;
  },
);
