import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { impairment } from './audioFallbackScenario.js';
import { NamespaceBed } from './namespaceBed.js';
import { limitDownlink, limitUplink, namespacesUnavailable } from './netns.js';
import { waitFor } from './routerPages.js';

// Loss repaired by the Media Router. On a publisher's uplink: the publisher's Chromium runs in a
// network namespace whose uplink drops 5 % of its packets at random; its subscriber, beside
// Parlor, has a clean link. Without repair every subscriber would lose what the uplink lost.
// And on the downlink of a subscriber to an end-to-end encrypted stream: the router repairs it
// from the ciphertext it keeps, and turns video off when the link is too narrow, without the key.

const skip = namespacesUnavailable();
const uplinkLoss = 0.05;

/** What the router's media stats tell of one layer of a publisher's video. */
interface RepairStats {
  readonly rid: string | null;
  readonly uplinkLost: number;
  readonly resendsRequested: number;
  readonly repaired: number;
}

describe('packet loss the Media Router repairs', { skip }, () => {
  let bed: NamespaceBed;

  before(async () => {
    bed = await NamespaceBed.start('ur', 233);
  });
  after(async () => {
    await bed.close();
  });

  it("a routed publisher's uplink losing packets: the router asks for every packet it lost, and its subscriber loses only those that did not come back", async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'routed' });
    const publisher = await bed.join(bed.inside, sessionId);
    const subscriber = await bed.join(bed.outside, sessionId);
    const publishError = await publisher.publish({ resolution: '640x480' });
    assert.equal(publishError, null);
    const streamId = await publisher.streamId();
    await subscriber.expectMediaFlowing(streamId, 30_000);

    /** The forwarded layer's repair figures, as the publisher's uplink carried it, and the subscriber's losses. */
    const figures = async (): Promise<{ layer: RepairStats; lost: number }> => {
      const response = await bed.parlor.rest('GET', `/session/${sessionId}/media`);
      const stats = (await response.json()) as {
        publications: { tracks: { kind: string; layers: RepairStats[] }[] }[];
        subscriptions: { tracks: { kind: string; layer: string | null }[] }[];
      };
      const rid = stats.subscriptions[0]?.tracks.find((track) => track.kind === 'video')?.layer;
      const layer = stats.publications
        .flatMap((publication) => publication.tracks.filter((track) => track.kind === 'video'))
        .flatMap((track) => track.layers)
        .find((candidate) => candidate.rid === rid);
      assert.ok(layer, `the forwarded layer ${rid}`);
      return { layer, lost: (await subscriber.mediaCounters(streamId)).videoPacketsLost };
    };

    const before = await subscriber.mediaCounters(streamId);
    limitUplink(bed.side, { rate: '100mbit', loss: uplinkLoss });
    try {
      await new Promise((resolve) => setTimeout(resolve, 8000));
    } finally {
      limitUplink(bed.side, null);
    }
    const received = (await subscriber.mediaCounters(streamId)).videoPackets - before.videoPackets;
    // The last losses of the window are still being repaired as the loss lifts, for longer the
    // more loaded the machine: the figures are compared once they stop changing (the router gives
    // up on a packet 1 s after it went missing), not while resends are in flight.
    let settled = await figures();
    await waitFor(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 700));
        const next = await figures();
        const same =
          next.lost === settled.lost &&
          next.layer.uplinkLost === settled.layer.uplinkLost &&
          next.layer.repaired === settled.layer.repaired;
        settled = next;
        return same;
      },
      'the repair figures to settle after the loss lifted',
      15_000,
    );
    const { layer } = settled;
    const lost = settled.lost - before.videoPacketsLost;
    const rid = layer.rid;
    console.log(
      `uplink losing ${uplinkLoss * 100} %: of layer ${rid} it lost ${layer.uplinkLost} packets; the router asked ` +
        `for ${layer.resendsRequested} resends and ${layer.repaired} came; the subscriber received ${received} ` +
        `video packets in 8 s and lost ${lost}`,
    );
    assert.ok(received > 300, `${received} video packets in 8 s`);
    assert.ok(layer.uplinkLost >= received * uplinkLoss * 0.4, 'the uplink lost packets');
    assert.ok(layer.resendsRequested >= layer.uplinkLost, 'every gap was asked for');
    // How many of them Chromium resends varies from run to run, from most to none (it declines
    // some without RTX, for reasons not known yet); the subscriber loses only those that did not
    // come back (a packet or two aside, at the window's edges).
    assert.ok(
      lost <= layer.uplinkLost - layer.repaired + 2,
      `the subscriber lost ${lost}, the uplink ${layer.uplinkLost} of which ${layer.repaired} came back`,
    );
  });

  it("end-to-end encrypted: the router answers a subscriber's NACKs from the ciphertext it keeps, and turns its video off on a link too narrow for it", async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'routed', e2ee: true });
    const secret = { encryptionSecret: 'correct horse battery staple' };
    const publisher = await bed.join(bed.outside, sessionId, secret);
    const subscriber = await bed.join(bed.inside, sessionId, secret);
    assert.equal(await publisher.publish({ resolution: '640x480', frameRate: 15 }), null);
    const streamId = await publisher.streamId();
    await subscriber.expectMediaFlowing(streamId, 30_000);
    await subscriber.waitForEvent({ type: 'encryptionSecretMatch', streamId }, 30_000);
    /** The router's video track to the subscriber. */
    const forwarded = async () => {
      const stats = await bed.parlor.server.rooms.get(sessionId)?.mediaStats();
      const track = stats?.subscriptions
        .find((subscription) => subscription.streamId === streamId)
        ?.tracks.find((candidate) => candidate.kind === 'video');
      assert.ok(track, 'the router forwards video to the subscriber');
      return track;
    };
    const counters = () => subscriber.mediaCounters(streamId);
    try {
      const resentBefore = (await forwarded()).retransmissions;
      const framesBefore = (await counters()).framesDecoded;
      limitDownlink(bed.side, '100mbit', { lossPercent: 5 });
      await waitFor(async () => (await forwarded()).retransmissions > resentBefore + 10, 'retransmissions');
      await waitFor(
        async () => (await counters()).framesDecoded > framesBefore + 15,
        'frames through the loss',
      );
      const { retransmissions } = await forwarded();

      limitDownlink(bed.side, impairment.rate, {
        lossPercent: impairment.lossPercent,
        burst: impairment.burst,
      });
      await waitFor(
        async () => (await forwarded()).lastVideoFallback?.event === 'videoDisabled',
        "the router's videoDisabled in its stats",
      );
      // The page hears of it over its signaling connection, a TCP connection on the same narrow
      // link, whose retransmission timer the video flooding the queue may have backed off.
      await subscriber.waitForEvent({ type: 'videoDisabled', reason: 'quality', streamId }, 45_000);
      const audioBefore = (await counters()).audioPackets;
      await waitFor(async () => (await counters()).audioPackets > audioBefore + 25, 'audio with video off');
      console.log(
        `e2ee on a downlink losing 5 %: the router resent ${retransmissions - resentBefore} packets; ` +
          `on ${impairment.rate} it turned video off, audio going on`,
      );
    } finally {
      limitDownlink(bed.side, null);
    }
    await Promise.all([publisher.page.close(), subscriber.page.close()]);
  });
});
