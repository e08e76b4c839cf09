import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { degradedLink, FallbackTestBed, impairment } from './audioFallbackScenario.js';
import { namespacesUnavailable } from './netns.js';

// Subscriber audio fallback on a real link: a subscriber whose downlink tc and nftables squeeze
// below the lowest layer loses its video alone, keeps its audio, and gets video back once the
// link is repaired. The aims are printed; the bounds asserted leave room for a busy machine.
// The SDK's qualityScoreChanged and the session's Inspector tell of it, for that subscriber only;
// then of the issue's degraded link (300 kbit/s, 5 % loss) on the same subscriber.

interface Entry {
  at: number;
  streamId?: string | null;
  source: string;
  type: string;
  connectionId: string | null;
  data: Record<string, unknown>;
}
interface InspectorTimeline {
  events: Entry[];
  quality: Entry[];
  scores: Entry[];
  issues: { at: number; connectionId: string | null; kind: string; message: string }[];
}

describe('subscriber audio fallback on a real link', { skip: namespacesUnavailable() }, () => {
  let bed: FallbackTestBed;

  before(async () => {
    bed = await FallbackTestBed.start();
  });
  after(async () => {
    await bed.close();
  });

  it('turns video off for the impaired subscriber alone, audio going on, and back on once the link recovers; scores fall on a degraded link and recover', async () => {
    const run = await bed.run(10_000, 20_000);
    const { degraded } = run;
    assert.ok(degraded);
    console.log(
      `audio fallback behind ${impairment.rate} with ${impairment.lossPercent} % loss: ` +
        `impairment → videoDisabled ${run.reaction.routerMs} ms at the router, ` +
        `${run.reaction.subscriberMs} ms at the subscriber (aim ≤ 2000); ` +
        `repair → videoEnabled ${run.recovery.routerMs} ms at the router, ` +
        `${run.recovery.subscriberMs} ms at the subscriber (aim ≤ 10000); ` +
        `video went off on the reading ${JSON.stringify(run.disabledOn)}`,
    );
    // A probe may get through the bottleneck's queue and fail just after (VideoFallback counts it
    // failed and waits longer for the next): video back and off again while the link is bad. Two
    // fit in the impairment: one during it, one in flight at the repair.
    const probeFailed = '(, videoEnabled quality(, videoDisableWarning)?, videoDisabled quality){0,2}';
    assert.match(
      run.events.join(', '),
      new RegExp(`^videoDisableWarning, videoDisabled quality${probeFailed}, videoEnabled quality$`),
    );
    assert.deepEqual(run.steadyEvents, []);
    assert.deepEqual(run.steadyStalls, [], 'the unimpaired subscriber decoded video throughout');
    // Opus sends 50 packets a second; the link drops a tenth and more.
    const audioPerSecond = run.audioPacketsWhileOff / (run.impairedForMs / 1000);
    assert.ok(audioPerSecond > 30, `${audioPerSecond.toFixed(1)} audio packets a second with video off`);
    assert.deepEqual(run.indicator, { whileOff: true, afterOn: false });
    assert.ok(run.reaction.routerMs <= 4000, `the router reacted in ${run.reaction.routerMs} ms`);
    const { estimate, loss, lowestBitrate } = run.disabledOn;
    assert.ok(
      (estimate !== null && estimate < lowestBitrate) || loss > 0.15,
      `the stats tell why: ${JSON.stringify(run.disabledOn)}`,
    );
    assert.ok(run.recovery.subscriberMs <= 15_000, `video came back in ${run.recovery.subscriberMs} ms`);

    // The SDK's audio score fell on the impaired link and came back once it was repaired.
    const { audioScores, impairedAt, repairedAt } = run;
    const during = audioScores.filter((s) => s.atMs >= impairedAt && s.atMs <= repairedAt);
    assert.ok(
      during.some((s) => s.score <= 3),
      `qualityScoreChanged fell to Fair or lower: ${JSON.stringify(audioScores)}`,
    );
    assert.ok(
      (audioScores.filter((s) => s.atMs > repairedAt && s.atMs < degraded.at).at(-1)?.score ?? 0) >= 4,
      `qualityScoreChanged recovered: ${JSON.stringify(audioScores)}`,
    );

    // The Inspector tells the same of the impaired subscriber only.
    const response = await bed.parlor.rest('GET', `/session/${run.sessionId}/inspector`);
    const timeline = (await response.json()) as InspectorTimeline;
    const lowestAudio = (
      connectionId: string,
      from = impairedAt,
      to = repairedAt,
      figure = 'audio',
    ): number => {
      const scores = timeline.scores.filter(
        (s) => s.type === 'subscriber' && s.connectionId === connectionId,
      );
      // The score in force when the link was impaired, and every change until it was repaired.
      const inForce = scores.filter((s) => s.at <= from).at(-1);
      const changes = scores.filter((s) => s.at > from && s.at <= to);
      const values = [inForce, ...changes].map((s) => s?.data[figure]).filter((v) => typeof v === 'number');
      return Math.min(...values);
    };
    assert.ok(lowestAudio(run.impairedConnection) <= 3, 'the impaired subscriber scored Fair or lower');
    const steadyScores = (): string =>
      JSON.stringify(
        timeline.scores
          .filter((s) => s.connectionId === run.steadyConnection)
          .map((s) => [s.at - impairedAt, s.type, s.data]),
      );
    // Relative, not Good or better: a starved machine lowers every score a little.
    assert.ok(
      lowestAudio(run.steadyConnection) > lowestAudio(run.impairedConnection),
      `the steady subscriber scored higher: ${steadyScores()}`,
    );
    const issuesOf = (connectionId: string): InspectorTimeline['issues'] =>
      timeline.issues.filter((issue) => issue.connectionId === connectionId);
    const fallback = issuesOf(run.impairedConnection).find((issue) => issue.kind === 'audioFallback');
    assert.match(fallback?.message ?? '', /had audio only for \d+ s: its link could not carry the video/);
    assert.deepEqual(issuesOf(run.steadyConnection), []);
    const episode = timeline.events
      .filter((e) => e.source === 'client' && e.connectionId === run.impairedConnection && e.at < degraded.at)
      .filter((e) => e.type === 'videoDisabled' || e.type === 'videoEnabled')
      .map((e) => `${e.type} ${String(e.data.reason)}`);
    assert.match(
      episode.join(', '),
      /^videoDisabled quality(, videoEnabled quality, videoDisabled quality){0,2}, videoEnabled quality$/,
    );
    assert.ok(
      timeline.quality.some((q) => q.source === 'router' && q.connectionId === run.impairedConnection),
      "the router's samples of the impaired subscriber",
    );

    // The issue's degraded link: video goes on (at most in short episodes of audio only), the
    // audio score falls below 5 for that subscriber alone and comes back once it is repaired, and
    // the Inspector calls its loss out.
    const degradedScores = audioScores.filter((s) => s.atMs >= degraded.at && s.atMs <= degraded.until);
    console.log(
      `${degradedLink.rate} with ${degradedLink.lossPercent} % loss after the fallback: audio scores ${JSON.stringify(
        degradedScores.map((s) => s.score),
      )}, 5 again ${degraded.recoveredAt - degraded.until} ms after the repair; ` +
        `issues ${JSON.stringify(issuesOf(run.impairedConnection).map((i) => i.message))}`,
    );
    assert.ok(
      degradedScores.some((s) => s.score <= 4),
      `qualityScoreChanged fell on the degraded link: ${JSON.stringify(audioScores)}`,
    );
    const lowestDegraded = Math.min(...degradedScores.map((s) => s.score));
    assert.ok(
      (audioScores.filter((s) => s.atMs > degraded.until).at(-1)?.score ?? 0) > lowestDegraded,
      `and recovered: ${JSON.stringify(audioScores)}`,
    );
    assert.ok(lowestAudio(run.impairedConnection, degraded.at, degraded.until) <= 4);
    assert.ok(
      lowestAudio(run.impairedConnection, degraded.at, degraded.until, 'audioMos') <
        lowestAudio(run.steadyConnection, degraded.at, degraded.until, 'audioMos'),
      `the degraded subscriber scored lower than the steady one: ${steadyScores()}`,
    );
    // Its loss called out over the degraded link (the run of lossy samples may have begun on the
    // narrower link before, when the two came within 10 s of each other).
    const lossy = issuesOf(run.impairedConnection).find((issue) => {
      const seconds = Number(/for (\d+) s$/.exec(issue.message)?.[1] ?? 0);
      return (
        issue.kind === 'lossyLink' &&
        issue.at < degraded.until &&
        issue.at + seconds * 1000 >= degraded.at + 10_000
      );
    });
    assert.match(
      lossy?.message ?? '',
      /its link lost \d+\.\d % of the audio/,
      JSON.stringify(timeline.issues),
    );
  });
});
