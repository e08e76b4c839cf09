import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserPeer } from './helpers.js';
import { NamespaceBed } from './namespaceBed.js';
import { limitUplink, namespacesUnavailable } from './netns.js';

// Loss on a publisher's uplink, repaired by the Media Router: the publisher's Chromium runs in a
// network namespace whose uplink drops 5 % of its packets at random; its subscriber, beside
// Parlor, has a clean link. Without repair every subscriber would lose what the uplink lost.

const skip = namespacesUnavailable();
const uplinkLoss = 0.05;

/** The video packets the subscriber to a stream received and lost so far, as its browser counts them. */
function videoReception(peer: BrowserPeer, streamId: string): Promise<{ received: number; lost: number }> {
  return peer.page.evaluate(async (streamId) => {
    const counts = { received: 0, lost: 0 };
    const report = await window.participant.subscribers.get(streamId)?.getRtcStatsReport();
    report?.forEach((entry: RTCStats & Record<string, unknown>) => {
      if (entry.type !== 'inbound-rtp' || entry.kind !== 'video') return;
      counts.received += Number(entry.packetsReceived ?? 0);
      counts.lost += Number(entry.packetsLost ?? 0);
    });
    return counts;
  }, streamId);
}

describe('a routed publisher whose uplink loses packets', { skip }, () => {
  let bed: NamespaceBed;

  before(async () => {
    bed = await NamespaceBed.start('ur', 233);
  });
  after(async () => {
    await bed.close();
  });

  it('has the router ask for what was lost again, so that its subscriber loses almost none of it', async () => {
    const sessionId = bed.parlor.createSession({ mediaMode: 'routed' });
    const publisher = await bed.join(bed.inside, sessionId);
    const subscriber = await bed.join(bed.outside, sessionId);
    const publishError = await publisher.publish({ resolution: '640x480' });
    assert.equal(publishError, null);
    const streamId = await publisher.streamId();
    await subscriber.expectMediaFlowing(streamId, 30_000);

    const before = await videoReception(subscriber, streamId);
    limitUplink(bed.side, { rate: '100mbit', loss: uplinkLoss });
    try {
      await new Promise((resolve) => setTimeout(resolve, 8000));
    } finally {
      limitUplink(bed.side, null);
    }
    const after = await videoReception(subscriber, streamId);
    const received = after.received - before.received;
    const lost = after.lost - before.lost;

    const response = await bed.parlor.rest('GET', `/session/${sessionId}/media`);
    const { publications } = (await response.json()) as {
      publications: {
        tracks: { kind: string; layers: { resendsRequested: number; repaired: number }[] }[];
      }[];
    };
    const layers = publications.flatMap((publication) =>
      publication.tracks.filter((track) => track.kind === 'video').flatMap((track) => track.layers),
    );
    const requested = layers.reduce((sum, layer) => sum + layer.resendsRequested, 0);
    const repaired = layers.reduce((sum, layer) => sum + layer.repaired, 0);
    console.log(
      `uplink losing ${uplinkLoss * 100} %: the router asked for ${requested} resends, ${repaired} came; ` +
        `the subscriber received ${received} video packets in 8 s and lost ${lost}`,
    );
    assert.ok(received > 300, `${received} video packets in 8 s`);
    assert.ok(
      repaired > received * uplinkLoss * 0.5,
      `${repaired} repaired of about ${received * uplinkLoss} lost`,
    );
    // Of what the uplink lost, about 5 %, the subscriber loses less than half (without the
    // router's repair, all of it).
    assert.ok(lost < received * uplinkLoss * 0.4, `the subscriber lost ${lost} of ${received}`);
  });
});
