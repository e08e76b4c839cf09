import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RouterBenchResult, SfuName, StepFigures } from './routerBench.js';
import { compareRounds, comparisonNotes, median, routerTables } from './routerReport.js';

/** A livestream step: `micros` µs per packet for `size` viewers at 178 packets/s each. */
function step(
  sfu: SfuName,
  round: number,
  size: number,
  micros: number,
  p99: number,
  lossPercent = 0,
): StepFigures {
  const packetsPerSecond = size * 178;
  const serverCpu = (packetsPerSecond * micros) / 1e6;
  return {
    sfu,
    round,
    scenario: 'livestream',
    size,
    streams: size,
    packetsPerSecond,
    megabitsPerSecond: size * 1.1,
    serverCpuPercent: serverCpu * 100,
    microsPerPacket: micros,
    streamsPerCore: size / serverCpu,
    lossPercent,
    latencyP50Ms: p99 / 4,
    latencyP99Ms: p99,
    joinP50Ms: 280,
    joinP95Ms: 350,
    failedSubscriptions: 0,
    errors: [],
    loadCpuPercent: 33,
    loadLagMaxMs: 4,
  };
}

/** A run's result holding only these steps. */
function resultOf(steps: readonly StepFigures[]): RouterBenchResult {
  const none = { megabitsPerSecond: 0, packetsPerSecond: 0 };
  return {
    clip: { layers: [], sent: none, viewed: none },
    windowSeconds: 10,
    namespace: true,
    steps,
    profile: null,
  };
}

describe('the router benchmark report', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  it("compares each round at each SFU's best step, and p99 at the largest size both served", () => {
    const steps = [
      step('parlor', 1, 100, 5, 6),
      step('parlor', 1, 200, 5, 8),
      step('janus', 1, 100, 11, 9),
      // Janus lost too much at 200 in round 1: its best is 100, p99 compares at 100.
      step('janus', 1, 200, 12, 40, 2),
      step('janus', 2, 200, 12, 14),
      step('parlor', 2, 200, 6, 15),
    ];
    const [first, second] = compareRounds(steps, 'livestream');
    assert.ok(first && second);
    assert.equal(first.round, 1);
    assert.equal(first.parlor.size, 200);
    assert.equal(first.janus.size, 100);
    assert.ok(Math.abs(first.ratio - 11 / 5) < 1e-9, `${first.ratio}`);
    assert.equal(first.common?.parlor.latencyP99Ms, 6);
    assert.equal(first.common.janus.latencyP99Ms, 9);
    assert.equal(second.round, 2);
    assert.ok(Math.abs(second.ratio - 2) < 1e-9);
    assert.equal(second.common?.parlor.size, 200);
  });

  it('prints each round, then the medians and how often p99 was at or under Janus’s', () => {
    const steps = [
      step('parlor', 1, 200, 5, 8),
      step('janus', 1, 200, 11, 12),
      step('janus', 2, 200, 12, 14),
      step('parlor', 2, 200, 6, 15),
      step('parlor', 3, 200, 5.5, 7),
      step('janus', 3, 200, 12.1, 13),
    ];
    const notes = comparisonNotes(steps, 'livestream');
    assert.equal(notes.length, 4);
    assert.match(
      notes[0] ?? '',
      /^round 1: Parlor \/ Janus 2\.20x \(N = 200 \/ 200, 5\.0 \/ 11\.0 µs\/packet\); p99 at N = 200: 8\.0 \/ 12\.0 ms$/,
    );
    assert.match(
      notes[3] ?? '',
      /over 3 rounds: median 2\.20x \(2\.00–2\.20x\); µs\/packet median 5\.5 \/ 12\.0; p99 median 8\.0 \/ 13\.0 ms, Parlor's at or under Janus's in 2 of 3$/,
    );
  });

  it('says which rounds had no comparison, and leaves them out of the medians', () => {
    const steps = [
      step('parlor', 1, 200, 5, 8),
      step('janus', 1, 200, 11, 12),
      step('parlor', 2, 200, 5, 8),
      step('janus', 2, 200, 13, 800, 1.5),
    ];
    const notes = comparisonNotes(steps, 'livestream');
    assert.equal(notes[1], 'round 2: no comparison (no step within the bounds: Janus (event_loops = 2))');
    assert.match(notes[2] ?? '', /over 1 of 2 rounds: median 2\.20x/);
  });

  it('keeps the one-run notes and adds a round column only with several rounds', () => {
    const one = routerTables(resultOf([step('parlor', 1, 200, 5, 8), step('janus', 1, 200, 11, 12)]));
    const [oneTable] = one;
    assert.ok(oneTable);
    assert.equal(oneTable.rows[0]?.includes('round'), false);
    assert.match(oneTable.notes.at(-1) ?? '', /forwarded streams per core at the same loss bound: 2\.20x$/);
    const two = routerTables(
      resultOf([
        step('parlor', 1, 200, 5, 8),
        step('janus', 1, 200, 11, 12),
        step('janus', 2, 200, 11, 12),
        step('parlor', 2, 200, 5, 8),
      ]),
    );
    const [twoTable] = two;
    assert.ok(twoTable);
    assert.equal(twoTable.rows[0]?.[1], 'round');
    assert.deepEqual(
      twoTable.rows.slice(1).map((row) => `${row[1]} ${row[2]}`),
      [
        '1 Parlor (1 media worker)',
        '1 Janus (event_loops = 2)',
        '2 Parlor (1 media worker)',
        '2 Janus (event_loops = 2)',
      ],
    );
  });
});
