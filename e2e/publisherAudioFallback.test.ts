import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { PublisherFallbackStats } from '@parlor/client';
import { startTestServer, type TestServer } from '@parlor/server/testing';
import {
  launchChromium,
  openBrowserPeer,
  startAppOrigin,
  type AppOrigin,
  type BrowserPeer,
  type MediaCounters,
} from './helpers.js';
import {
  chromiumIn,
  createSide,
  limitUplink,
  namespaceSide,
  namespacesUnavailable,
  removeSide,
  type UplinkLimit,
} from './netns.js';

// Publisher audio fallback over a real narrow uplink: the publisher's Chromium runs in a network
// namespace whose uplink a token bucket narrows to less than its video needs (with some random
// loss on top), then widens again; the subscriber's Chromium runs on this host.

const side = namespaceSide('pfb', 231, 1);
/** Room for the audio (about 50 kbit/s on the wire), none for video. */
const narrow: UplinkLimit = { rate: '64kbit', loss: 0.03 };

const skip = namespacesUnavailable();

/** The publisher's fallback state, as `getAudioFallbackStats` tells it. */
function fallbackStats(peer: BrowserPeer): Promise<PublisherFallbackStats | null> {
  return peer.page.evaluate(() => window.participant.publisher?.getAudioFallbackStats() ?? null);
}

/** The first change of that kind the publisher's fallback recorded. */
async function recorded(peer: BrowserPeer, change: string) {
  const record = (await fallbackStats(peer))?.changes.find((entry) => entry.change === change);
  assert.ok(record, `no ${change} recorded`);
  return record;
}

/** Polls until the publisher's fallback has recorded a change of that kind. */
async function untilRecorded(peer: BrowserPeer, change: string, timeoutMs: number): Promise<void> {
  await peer.page.waitForFunction(
    (change) =>
      window.participant.publisher?.getAudioFallbackStats()?.changes.some((entry) => entry.change === change),
    change,
    { timeout: timeoutMs, polling: 100 },
  );
}

describe('a publisher with audio fallback whose uplink narrows', { skip }, () => {
  let parlor: TestServer;
  let app: AppOrigin;
  let inside: Browser;
  let outside: Browser;
  let folder: string;

  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'parlor-netns-'));
    removeSide(side);
    createSide(side);
    // Parlor, its Media Router and the app listen where the namespace reaches the host.
    parlor = await startTestServer({ env: { PARLOR_PUBLIC_IP: side.hostAddress }, host: side.hostAddress });
    app = await startAppOrigin(parlor.url, side.hostAddress);
    // getUserMedia needs a secure context: the app's origin is not localhost here.
    const args = [`--unsafely-treat-insecure-origin-as-secure=${new URL(app.url).origin}`];
    inside = await launchChromium({ executablePath: chromiumIn(side.namespace, folder), args });
    outside = await launchChromium({ args });
  });
  after(async () => {
    try {
      await inside.close();
      await outside.close();
      await app.close();
      await parlor.dispose();
    } finally {
      removeSide(side);
      rmSync(folder, { recursive: true, force: true });
    }
  });

  /**
   * Narrows the publisher's uplink until video goes off and a probe fails, then widens it until
   * video comes back; checks what each side saw, and prints how long each took.
   */
  async function fallBackAndRecover(mediaMode: 'routed' | 'relayed'): Promise<void> {
    const sessionId = parlor.createSession({ mediaMode });
    const publisher = await openBrowserPeer(inside, app.url, parlor.apiKey, sessionId);
    const subscriber = await openBrowserPeer(outside, app.url, parlor.apiKey, sessionId);
    assert.equal(await publisher.connect(parlor.token(sessionId)), null);
    assert.equal(await subscriber.connect(parlor.token(sessionId)), null);
    assert.equal(
      await publisher.publish({ resolution: '640x480', audioFallback: { publisher: true } }),
      null,
    );
    const streamId = await publisher.streamId();
    await subscriber.expectMediaFlowing(streamId, 30_000);
    assert.equal((await fallbackStats(publisher))?.state, 'on');

    const impairedAt = Date.now();
    limitUplink(side, narrow);
    await publisher.waitForEvent({ target: 'publisher', type: 'videoDisabled', reason: 'quality' }, 20_000);
    const disabledAt = (await recorded(publisher, 'videoDisabled')).atMs;
    // The stream's change reaches the server over the publisher's narrowed uplink, on a TCP
    // connection whose retransmission timer the flooded queue has backed off: allow for it.
    await subscriber.waitForEvent(
      { target: 'subscriber', type: 'videoDisabled', reason: 'quality', streamId },
      40_000,
    );
    assert.equal(
      await publisher.page.evaluate(() => window.participant.publisher?.getVideoSource().track?.enabled),
      true,
      "the publisher's own video stays on: the fallback is not the user's choice",
    );

    // Audio keeps coming, and video all but stops (a probe may send a little).
    const during = await counted(subscriber, streamId, 4000);
    assert.ok(during.audioPackets >= 100, `audio packets in 4 s: ${during.audioPackets}`);
    assert.ok(during.audioEnergy > 0, 'the audio is heard');
    assert.ok(during.framesDecoded < 40, `video frames in 4 s: ${during.framesDecoded}`);

    // A probe while the link is still narrow does not get through.
    await untilRecorded(publisher, 'probeFailed', 20_000);
    assert.equal((await fallbackStats(publisher))?.state, 'off');

    const liftedAt = Date.now();
    limitUplink(side, null);
    await publisher.waitForEvent({ target: 'publisher', type: 'videoEnabled', reason: 'quality' }, 40_000);
    const enabledAt = (await recorded(publisher, 'videoEnabled')).atMs;
    await subscriber.waitForEvent(
      { target: 'subscriber', type: 'videoEnabled', reason: 'quality', streamId },
      30_000,
    );
    await subscriber.expectMediaFlowing(streamId, 20_000);

    const fallbackEvents = (await publisher.events())
      .filter((event) => event.target === 'publisher' && event.type.startsWith('video'))
      .map((event) => (event.reason ? `${event.type}:${event.reason}` : event.type));
    assert.deepEqual(fallbackEvents, [
      'videoDisableWarning',
      'videoDisabled:quality',
      'videoEnabled:quality',
    ]);
    const hasVideo = (await subscriber.events())
      .filter((event) => event.type === 'streamPropertyChanged' && event.property === 'hasVideo')
      .map((event) => event.value);
    assert.deepEqual(hasVideo, [false, true]);
    const change = parlor.server.rooms.get(sessionId)?.stream(streamId)?.lastVideoQualityChange;
    assert.equal(change?.hasVideo, true);

    const { changes } = (await fallbackStats(publisher)) ?? { changes: [] };
    console.log(
      `publisher fallback (${mediaMode}): video off ${disabledAt - impairedAt} ms after the uplink narrowed, ` +
        `back ${enabledAt - liftedAt} ms after it widened; ` +
        changes
          .map(
            ({ atMs, change, availableBitrate, loss }) =>
              `${change} +${atMs - impairedAt} ms (estimate ${availableBitrate ?? '-'}, loss ${loss ?? '-'})`,
          )
          .join(', '),
    );
    // Its media would otherwise share the namespace's uplink with the next case's.
    await Promise.all([publisher.page.close(), subscriber.page.close()]);
  }

  it('stops video for everyone with reason quality while audio goes on, and sends it again once the uplink recovers (routed)', async () => {
    await fallBackAndRecover('routed');
  });

  it('does the same peer to peer, where the estimate rather than loss tells of the narrow uplink (relayed)', async () => {
    await fallBackAndRecover('relayed');
  });
});

/** How much the subscriber's media counters rose over a while. */
async function counted(peer: BrowserPeer, streamId: string, ms: number): Promise<MediaCounters> {
  const start = await peer.mediaCounters(streamId);
  await peer.page.waitForTimeout(ms);
  const end = await peer.mediaCounters(streamId);
  return {
    framesDecoded: end.framesDecoded - start.framesDecoded,
    videoWidth: end.videoWidth,
    audioPackets: end.audioPackets - start.audioPackets,
    audioBytes: end.audioBytes - start.audioBytes,
    audioEnergy: end.audioEnergy - start.audioEnergy,
  };
}
