import { namespacesUnavailable } from './netns.js';

/**
 * What the audio fallback runners (`e2e/*Runs.ts`, for `npm run bench -- fallback`) share: the
 * number of runs from the command line (default 5), a test bed started once, and one JSON line
 * on stdout, `{ runs }`, or `{ skipped }` where network namespaces are unavailable.
 */
export async function printScenarioRuns<Bed extends { close(): Promise<void> }, Run>(
  start: () => Promise<Bed>,
  runAll: (bed: Bed, count: number) => Promise<Run[]>,
): Promise<void> {
  const count = Number(process.argv[2] ?? 5);
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`RUNS must be a positive integer, not ${count}`);
  const unavailable = namespacesUnavailable();
  if (unavailable) {
    console.log(JSON.stringify({ skipped: unavailable }));
    return;
  }
  const bed = await start();
  let runs: Run[];
  try {
    runs = await runAll(bed, count);
  } finally {
    await bed.close();
  }
  console.log(JSON.stringify({ runs }));
}
