import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import jwt from 'jsonwebtoken';
import { OpenTok } from '@parlor/server-sdk';
import type { RoutedMediaStats } from '@parlor/server';
import { type TestServer } from '@parlor/server/testing';
import {
  openBrowserPeer,
  type AppOrigin,
  type BrowserPeer,
  lightVideo,
  startBrowserTestBed,
  type BrowserTestBed,
} from './helpers.js';

// Four OpenTok.js pages in a routed session: every publisher sends its stream once, to the Media
// Router, which forwards it to the three others.

let parlor: TestServer;
let app: AppOrigin;
let browser: Browser;

let bed: BrowserTestBed;

before(async () => {
  bed = await startBrowserTestBed();
  ({ parlor, app, browser } = bed);
});
after(() => bed.close());

/** Small video: four pages encode once each and decode three streams each on two cores. */

describe('a routed session of four', () => {
  it('each participant decodes and hears the three others, and each publisher sends one stream', async () => {
    const opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
    const { sessionId } = await opentok.createSession({ mediaMode: 'routed' });
    const peers = await Promise.all(
      Array.from({ length: 4 }, () => openBrowserPeer(browser, app.url, parlor.apiKey, sessionId)),
    );
    const streamIds = new Map<BrowserPeer, string>();
    for (const [index, peer] of peers.entries()) {
      assert.equal(await peer.connect(opentok.generateToken(sessionId, { data: `peer ${index}` })), null);
      assert.equal(await peer.publish(lightVideo), null);
      streamIds.set(peer, await peer.streamId());
    }

    await Promise.all(
      peers.flatMap((peer) =>
        peers
          .filter((other) => other !== peer)
          .map((other) => peer.expectMediaFlowing(streamIds.get(other) ?? '')),
      ),
    );

    // Upstream once: one peer connection per publisher, to the router.
    for (const peer of peers) {
      const senders = await peer.page.evaluate(
        async () => (await window.participant.publisher?.getStats())?.length,
      );
      assert.equal(senders, 1);
    }
    // The router's own counters, from its admin endpoint: four publications, each forwarded to three.
    const response = await fetch(`${parlor.url}/v2/project/${parlor.apiKey}/session/${sessionId}/media`, {
      headers: { 'X-OPENTOK-AUTH': projectJwt(parlor) },
    });
    assert.equal(response.status, 200);
    const stats = (await response.json()) as RoutedMediaStats & { mediaMode: string };
    assert.equal(stats.mediaMode, 'routed');
    const { publications, subscriptions } = stats;
    assert.deepEqual([publications.length, subscriptions.length], [4, 12]);
    assert.deepEqual(
      publications.map((publication) => publication.streamId).sort(),
      [...streamIds.values()].sort(),
    );
    for (const publication of publications) {
      const forwardedTo = subscriptions.filter((s) => s.publicationId === publication.id);
      assert.deepEqual(forwardedTo.length, 3);
      const upstream = publication.tracks.find((t) => t.kind === 'video')?.packets ?? 0;
      assert.ok(upstream > 0);
      for (const subscription of forwardedTo) {
        const forwarded = subscription.tracks.find((t) => t.kind === 'video')?.packets ?? 0;
        assert.ok(forwarded > 0 && forwarded <= upstream, `forwarded ${forwarded} of ${upstream}`);
      }
    }

    // The same counters for Prometheus, labelled by session, stream and subscriber.
    const metrics = await (await fetch(`${parlor.url}/metrics`)).text();
    for (const streamId of streamIds.values()) {
      const received = new RegExp(
        `^parlor_router_received_packets_total\\{session_id="${sessionId}",stream_id="${streamId}",kind="video"\\} (\\d+)$`,
        'm',
      ).exec(metrics);
      assert.ok(Number(received?.[1]) > 0, `no received packets for ${streamId}`);
      // What the router asked the publisher to resend, and got (on loopback, likely nothing).
      for (const name of ['upstream_resends_requested_total', 'upstream_repaired_packets_total'])
        assert.match(
          metrics,
          new RegExp(
            `^parlor_router_${name}\\{session_id="${sessionId}",stream_id="${streamId}",kind="video"\\} \\d+$`,
            'm',
          ),
        );
      const forwarded = metrics.match(
        new RegExp(
          `^parlor_router_sent_packets_total\\{session_id="${sessionId}",stream_id="${streamId}",`,
          'gm',
        ),
      );
      assert.equal(forwarded?.length, 3 * 2, 'three subscribers, audio and video');
    }
    await Promise.all(peers.map((peer) => peer.page.close()));
  });

  it('keeps media flowing for the others when a subscriber leaves and a publisher unpublishes and publishes again', async () => {
    const opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
    const { sessionId } = await opentok.createSession({ mediaMode: 'routed' });
    const [alice, bob, carol] = await Promise.all(
      Array.from({ length: 3 }, () => openBrowserPeer(browser, app.url, parlor.apiKey, sessionId)),
    );
    assert.ok(alice && bob && carol);
    for (const peer of [alice, bob, carol]) {
      assert.equal(await peer.connect(opentok.generateToken(sessionId)), null);
      assert.equal(await peer.publish(lightVideo), null);
    }
    const aliceStream = await alice.streamId();
    const bobStream = await bob.streamId();
    await Promise.all([bob.expectMediaFlowing(aliceStream), alice.expectMediaFlowing(bobStream)]);

    // Carol leaves: her subscriptions end at the router; Alice and Bob go on.
    await carol.page.evaluate(() => {
      window.participant.session.disconnect();
    });
    await alice.waitForEvent({ type: 'connectionDestroyed', reason: 'clientDisconnected' });
    await Promise.all([bob.expectMediaFlowing(aliceStream), alice.expectMediaFlowing(bobStream)]);

    // Alice unpublishes and publishes again: Bob gets the new stream, and Alice still gets Bob's.
    await alice.page.evaluate(() => {
      const { session, publisher } = window.participant;
      if (publisher) session.unpublish(publisher);
    });
    await bob.waitForEvent({ type: 'streamDestroyed', streamId: aliceStream, reason: 'clientDisconnected' });
    assert.equal(await alice.publish(lightVideo), null);
    const republished = await alice.streamId();
    assert.notEqual(republished, aliceStream);
    await Promise.all([bob.expectMediaFlowing(republished), alice.expectMediaFlowing(bobStream)]);

    const stats = await parlor.server.rooms.get(sessionId)?.mediaStats();
    assert.deepEqual([stats?.publications.length, stats?.subscriptions.length], [2, 2]);
    await Promise.all([alice.page.close(), bob.page.close(), carol.page.close()]);
  });
});

/** A REST JWT of the test server's default project. */
function projectJwt(server: TestServer): string {
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign({ iss: server.apiKey, ist: 'project', iat: now, exp: now + 300 }, server.apiSecret, {
    algorithm: 'HS256',
  });
}
