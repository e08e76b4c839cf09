import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FallbackTestBed, impairment } from './audioFallbackScenario.js';
import { namespacesUnavailable } from './netns.js';

// Subscriber audio fallback on a real link: a subscriber whose downlink tc and nftables squeeze
// below the lowest layer loses its video alone, keeps its audio, and gets video back once the
// link is repaired. The aims are printed; the bounds asserted leave room for a busy machine.

describe('subscriber audio fallback on a real link', { skip: namespacesUnavailable() }, () => {
  let bed: FallbackTestBed;

  before(async () => {
    bed = await FallbackTestBed.start();
  });
  after(async () => {
    await bed.close();
  });

  it('turns video off for the impaired subscriber alone, audio going on, and back on once the link recovers', async () => {
    const run = await bed.run();
    console.log(
      `audio fallback behind ${impairment.rate} with ${impairment.lossPercent} % loss: ` +
        `impairment → videoDisabled ${run.reaction.routerMs} ms at the router, ` +
        `${run.reaction.subscriberMs} ms at the subscriber (aim ≤ 2000); ` +
        `repair → videoEnabled ${run.recovery.routerMs} ms at the router, ` +
        `${run.recovery.subscriberMs} ms at the subscriber (aim ≤ 10000); ` +
        `video went off on the reading ${JSON.stringify(run.disabledOn)}`,
    );
    assert.deepEqual(run.events, ['videoDisableWarning', 'videoDisabled quality', 'videoEnabled quality']);
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
  });
});
