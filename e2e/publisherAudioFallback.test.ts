import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { namespacesUnavailable } from './netns.js';
import {
  describeRun,
  PublisherFallbackTestBed,
  type MediaMode,
  type PublisherFallbackRun,
} from './publisherFallbackScenario.js';

// Publisher audio fallback over a real narrow uplink (publisherFallbackScenario.ts): the
// publisher's Chromium in a network namespace whose uplink narrows to 64 kbit/s, then widens.
// The aims are a reaction within 2 s and a recovery within 10 s; the bounds below leave room for
// a busy machine, and the figures are printed (`npm run bench -- fallback` measures spreads).

const skip = namespacesUnavailable();

describe('a publisher with audio fallback whose uplink narrows', { skip }, () => {
  let bed: PublisherFallbackTestBed;

  before(async () => {
    bed = await PublisherFallbackTestBed.start();
  });
  after(async () => {
    await bed.close();
  });

  /** Checks what each side saw of one run, and prints how long each step took. */
  function check(run: PublisherFallbackRun): void {
    console.log(`publisher fallback (${describeRun(run)})`);
    if (run.subscriberFallbacks.length > 0)
      console.log(`the router's own fallback of the subscriber: ${JSON.stringify(run.subscriberFallbacks)}`);
    assert.ok(
      run.ownVideoStayedOn,
      "the publisher's own video stays on: the fallback is not the user's choice",
    );
    // Audio keeps coming, and video all but stops (a probe may send a little).
    assert.ok(run.whileOff.audioPackets >= 100, `audio packets in 4 s: ${run.whileOff.audioPackets}`);
    assert.ok(run.whileOff.audioEnergy > 0, 'the audio is heard');
    assert.ok(run.whileOff.framesDecoded < 40, `video frames in 4 s: ${run.whileOff.framesDecoded}`);
    // Probes while the link is still narrow fail, and none turns video on: no flapping.
    assert.ok(run.probes.failed >= 1, `probes failed while narrow: ${run.probes.failed}`);
    assert.deepEqual(run.events, ['videoDisableWarning', 'videoDisabled quality', 'videoEnabled quality']);
    // The subscriber's own link is fine: in routed sessions the router blames it for none of
    // what the publisher's uplink lost. A starved machine may still delay the subscriber's
    // packets enough for the router's estimate of its downlink to fall below the lowest layer:
    // an episode of its own then, on the estimate and never on loss, beside the publisher's.
    const ownEpisodes = run.subscriberFallbacks.filter((change) => change.event === 'videoDisabled');
    for (const change of ownEpisodes)
      assert.ok(
        change.estimate !== null && change.estimate < change.lowestBitrate,
        `the router turned the subscriber's video off on its estimate, not on loss: ${JSON.stringify(change)}`,
      );
    if (ownEpisodes.length === 0)
      assert.deepEqual(run.subscriberEvents, ['videoDisabled quality', 'videoEnabled quality']);
    else assert.match(run.subscriberEvents.join(', '), /videoDisabled quality, .*videoEnabled quality$/);
    assert.deepEqual(run.hasVideoChanges, [false, true]);
    assert.equal(run.serverHasVideo, true);
    // The aims are 2 s and 10 s; a busy machine (two cores, other browsers) gets some room.
    assert.ok(run.reaction.publisherMs <= 5000, `video off ${run.reaction.publisherMs} ms after narrowing`);
    assert.ok(run.recovery.publisherMs <= 14_000, `video back ${run.recovery.publisherMs} ms after widening`);
  }

  const cases: [MediaMode, string][] = [
    [
      'routed',
      'stops video for everyone with reason quality while audio goes on, and sends it again once the uplink recovers (routed)',
    ],
    [
      'relayed',
      'does the same peer to peer, where the estimate as well as loss tells of the narrow uplink (relayed)',
    ],
  ];
  for (const [mediaMode, name] of cases) {
    it(name, async () => {
      check(await bed.run(mediaMode));
    });
  }
});
