import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { PublisherProperties } from '@parlor/client';
import { waitFor, type TestServer } from '@parlor/server/testing';
import { openBrowserPeer, startBrowserTestBed, type BrowserPeer, type BrowserTestBed } from './helpers.js';

// OpenTok.js in routed sessions: the simulcast layers publishers send and their frame rate;
// subscribers' wishes (preferredResolution, preferredFrameRate) moving them between layers; and
// publishers pausing the layers the router no longer needs.

let bed: BrowserTestBed;
let parlor: TestServer;

before(async () => {
  bed = await startBrowserTestBed();
  ({ parlor } = bed);
});
after(() => bed.close());

/** One `outbound-rtp` entry of the video a publisher sends. */
interface VideoLayer {
  readonly rid: string | null;
  readonly frameWidth: number;
  readonly bytesSent: number;
  readonly active: boolean;
}

/** Opens a participant of a new routed session, connected. */
async function routedPeer(sessionId: string): Promise<BrowserPeer> {
  const peer = await openBrowserPeer(bed.browser, bed.app.url, parlor.apiKey, sessionId);
  assert.equal(await peer.connect(parlor.token(sessionId)), null);
  return peer;
}

/** Makes the page's peer connections take answers as a router would that declines simulcast. */
async function declineSimulcast(page: Page): Promise<void> {
  await page.evaluate(() => {
    type SetRemoteDescription = (
      this: RTCPeerConnection,
      description: RTCSessionDescriptionInit,
    ) => Promise<void>;
    const original: SetRemoteDescription = Reflect.get(RTCPeerConnection.prototype, 'setRemoteDescription');
    const edited: SetRemoteDescription = function (description) {
      if (description.type !== 'answer' || !description.sdp) return original.call(this, description);
      const sdp = description.sdp.replace(/a=(rid|simulcast):.*\r\n/g, '');
      return original.call(this, { type: 'answer', sdp });
    };
    Reflect.set(RTCPeerConnection.prototype, 'setRemoteDescription', edited);
  });
}

/** The video encodings the page's publisher sends to the router, by RID. */
function videoLayers(peer: BrowserPeer): Promise<VideoLayer[]> {
  return peer.page.evaluate(async () => {
    const [toRouter] = (await window.participant.publisher?.getRtcStatsReport()) ?? [];
    const layers: VideoLayer[] = [];
    toRouter?.rtcStatsReport.forEach((entry: RTCStats & Record<string, unknown>) => {
      if (entry.type !== 'outbound-rtp' || entry.kind !== 'video') return;
      layers.push({
        rid: typeof entry.rid === 'string' ? entry.rid : null,
        frameWidth: Number(entry.frameWidth ?? 0),
        bytesSent: Number(entry.bytesSent ?? 0),
        active: entry.active !== false,
      });
    });
    return layers.sort((a, b) => (a.rid ?? '').localeCompare(b.rid ?? ''));
  });
}

/** Polls the publisher's layers until the condition holds; returns them. */
async function layersWhen(
  peer: BrowserPeer,
  condition: (layers: VideoLayer[]) => boolean,
  what: string,
  timeoutMs = 45_000,
): Promise<VideoLayer[]> {
  const deadline = Date.now() + timeoutMs;
  let layers = await videoLayers(peer);
  while (!condition(layers)) {
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(layers)}`);
    await peer.page.waitForTimeout(250);
    layers = await videoLayers(peer);
  }
  return layers;
}

/** The bytes each layer sent over `ms`, by RID (`-` for none). */
async function bytesOver(peer: BrowserPeer, ms: number): Promise<Record<string, number>> {
  const before = await videoLayers(peer);
  await peer.page.waitForTimeout(ms);
  const after = await videoLayers(peer);
  return Object.fromEntries(
    after.map((layer) => [
      layer.rid ?? '-',
      layer.bytesSent - (before.find((old) => old.rid === layer.rid)?.bytesSent ?? 0),
    ]),
  );
}

const hd: PublisherProperties = { resolution: '1280x720' };

/** Whether a width is the one expected, give or take the encoder's rounding. */
const near = (width: number, expected: number) => Math.abs(width - expected) <= 16;

describe('publishing in a routed session', () => {
  it('sends a 1280x720 camera as three layers of 320, 640 and 1280 pixels, which the router forwards; without scalable video, as one encoding', async () => {
    const sessionId = await parlor.createSession({ mediaMode: 'routed' });
    const [alice, bob] = await Promise.all([routedPeer(sessionId), routedPeer(sessionId)]);
    assert.equal(await alice.publish(hd), null);
    assert.equal(await bob.publish({ resolution: '640x480', scalableVideo: false }), null);

    await bob.expectMediaFlowing(await alice.streamId());
    const widths = { q: 320, h: 640, f: 1280 };
    await layersWhen(
      alice,
      (found) =>
        found.length === 3 &&
        Object.entries(widths).every(([rid, width]) =>
          near(found.find((layer) => layer.rid === rid)?.frameWidth ?? 0, width),
        ),
      'three layers at full size',
    );
    const sent = await bytesOver(alice, 2000);
    for (const rid of ['q', 'h', 'f'])
      assert.ok((sent[rid] ?? 0) > 0, `layer ${rid} sent nothing: ${JSON.stringify(sent)}`);

    const single = await layersWhen(
      bob,
      (found) => found[0]?.frameWidth === 640,
      'one encoding at 640 pixels',
    );
    assert.deepEqual(
      single.map(({ rid }) => rid),
      [null],
    );
    // getStats reports one peer connection, toward the router, summing the layers.
    const layerBytes = (await videoLayers(alice)).reduce((sum, layer) => sum + layer.bytesSent, 0);
    const stats = await alice.page.evaluate(
      async () => (await window.participant.publisher?.getStats()) ?? [],
    );
    assert.deepEqual(
      stats.map(({ connectionId }) => connectionId),
      ['router'],
    );
    assert.ok((stats[0]?.stats.video.bytesSent ?? 0) >= layerBytes);
    await Promise.all([alice.page.close(), bob.page.close()]);
  });

  it('moves a subscriber between layers by its wishes while another keeps full size, and pauses the top layer nobody wants', async () => {
    const sessionId = await parlor.createSession({ mediaMode: 'routed' });
    const alice = await routedPeer(sessionId);
    assert.equal(await alice.publish(hd), null);
    const streamId = await alice.streamId();
    const [bob, carol] = await Promise.all([routedPeer(sessionId), routedPeer(sessionId)]);
    await Promise.all([bob.expectMediaFlowing(streamId), carol.expectMediaFlowing(streamId)]);
    const width = async (peer: BrowserPeer) => (await peer.mediaCounters(streamId)).videoWidth;
    const wish = (peer: BrowserPeer, resolution: { width: number; height: number } | null) =>
      peer.page.evaluate(
        ({ streamId, resolution }) => {
          window.participant.subscribers.get(streamId)?.setPreferredResolution(resolution);
        },
        { streamId, resolution },
      );
    await waitFor(
      async () => (await width(bob)) === 1280 && (await width(carol)) === 1280,
      'full size for both',
      45_000,
    );

    await wish(bob, { width: 320, height: 180 });
    await waitFor(async () => near(await width(bob), 320), 'Bob at 320 pixels', 45_000);
    // The last dimensions Bob was told of: he may have been told of others before, while the
    // stream grew to full size at its start (seen once in four runs with the native data plane).
    await waitFor(
      async () => {
        const told = (await bob.events()).filter(
          (event) => event.target === 'subscriber' && event.type === 'videoDimensionsChanged',
        );
        return JSON.stringify(told.at(-1)?.value) === JSON.stringify({ width: 320, height: 180 });
      },
      'Bob told of 320 × 180',
      45_000,
    );
    assert.equal(await width(carol), 1280, 'Carol keeps full size');
    await wish(bob, null);
    await waitFor(async () => (await width(bob)) === 1280, 'Bob back at full size', 45_000);

    // 7 frames per second for Bob: the base temporal layer only.
    const frameRate = (peer: BrowserPeer) =>
      peer.page.evaluate(
        async (streamId) =>
          (await window.participant.subscribers.get(streamId)?.getStats())?.video.frameRate ?? 0,
        streamId,
      );
    // The base layer is a quarter of the camera's rate (20–30 fps, lower on a busy machine). Right
    // after a layer switch the rate reads low for a moment: wait for the camera's.
    let fullRate = 0;
    await waitFor(
      async () => (fullRate = await frameRate(bob)) >= 12,
      'Bob at the camera’s frame rate',
      45_000,
    );
    await bob.page.evaluate((streamId) => {
      window.participant.subscribers.get(streamId)?.setPreferredFrameRate(7);
    }, streamId);
    await waitFor(
      async () => (await frameRate(bob)) <= Math.min(10, fullRate / 2.5),
      'Bob at about 7 fps',
      45_000,
    );
    // Both rates move with the camera's on a busy machine (Carol read 14 against Bob's 8 once):
    // Carol's must come clear of Bob's, which it never would on the base layer alone.
    let rates = '';
    await waitFor(
      async () => {
        const [bobRate, carolRate] = [await frameRate(bob), await frameRate(carol)];
        rates = `${carolRate} against Bob's ${bobRate} fps`;
        return carolRate > 2 * bobRate;
      },
      `Carol to keep her frame rate (last read ${rates})`,
      20_000,
    ).catch(() => assert.fail(`Carol keeps her frame rate: ${rates}`));
    await bob.page.evaluate((streamId) => {
      window.participant.subscribers.get(streamId)?.setPreferredFrameRate(null);
    }, streamId);

    // Everyone wants the smallest size: Alice stops sending the top layer, then resumes it.
    const paused = (layers: VideoLayer[]) =>
      layers.filter((layer) => !layer.active).map((layer) => layer.rid);
    await Promise.all([wish(bob, { width: 320, height: 180 }), wish(carol, { width: 320, height: 180 })]);
    await layersWhen(alice, (found) => paused(found).join() === 'f,h', 'h and f paused');
    const whilePaused = await bytesOver(alice, 1500);
    assert.ok((whilePaused.q ?? 0) > 0, JSON.stringify(whilePaused));
    assert.deepEqual([whilePaused.h, whilePaused.f], [0, 0]);
    await wish(carol, null);
    await layersWhen(alice, (found) => paused(found).join() === 'h', 'f resumed');
    await waitFor(async () => (await width(carol)) === 1280, 'Carol back at full size', 45_000);
    const resumed = await bytesOver(alice, 1500);
    assert.ok((resumed.f ?? 0) > 0 && (resumed.q ?? 0) > 0, JSON.stringify(resumed));
    assert.ok(near(await width(bob), 320), 'Bob stays small');
    await Promise.all([alice.page.close(), bob.page.close(), carol.page.close()]);
  });

  it('sends one full-size encoding when the answer declines simulcast', async () => {
    const sessionId = await parlor.createSession({ mediaMode: 'routed' });
    const alice = await routedPeer(sessionId);
    await declineSimulcast(alice.page);
    assert.equal(await alice.publish({ resolution: '640x480' }), null);
    // Offered as half and full size; the browser keeps the first, which is then made full size:
    // wider than half as soon as the bandwidth estimate allows.
    const sending = (layers: VideoLayer[]) => layers.filter((layer) => layer.bytesSent > 0);
    const layers = await layersWhen(
      alice,
      (found) => sending(found).length === 1 && (sending(found)[0]?.frameWidth ?? 0) > 320,
      'one encoding sending, wider than half of 640 pixels',
    );
    assert.equal(sending(layers)[0]?.rid, 'h');
    await alice.page.close();
  });

  it('sends at 7 fps at most 0.6 times the bits per second it sends at 30', async () => {
    const sessionId = await parlor.createSession({ mediaMode: 'routed' });
    const [slow, fast] = await Promise.all([routedPeer(sessionId), routedPeer(sessionId)]);
    const camera: PublisherProperties = { resolution: '640x480', scalableVideo: false };
    assert.equal(await slow.publish({ ...camera, frameRate: 7 }), null);
    assert.equal(await fast.publish({ ...camera, frameRate: 30 }), null);
    await Promise.all([
      fast.expectMediaFlowing(await slow.streamId()),
      slow.expectMediaFlowing(await fast.streamId()),
    ]);
    const [slowBytes, fastBytes] = await Promise.all([bytesOver(slow, 4000), bytesOver(fast, 4000)]);
    const [slowRate, fastRate] = [slowBytes['-'] ?? 0, fastBytes['-'] ?? 0];
    assert.ok(slowRate > 0 && slowRate <= 0.6 * fastRate, `7 fps sent ${slowRate} bytes, 30 fps ${fastRate}`);
    await Promise.all([slow.page.close(), fast.page.close()]);
  });
});

describe('subscribing in a routed session', () => {
  it('sends the video preferences: given, auto as the rendered size and again on resize, and null to clear', async () => {
    const sessionId = await parlor.createSession({ mediaMode: 'routed' });
    const [alice, bob] = await Promise.all([routedPeer(sessionId), routedPeer(sessionId)]);
    assert.equal(await alice.publish({ resolution: '640x480' }), null);
    const streamId = await alice.streamId();
    await bob.expectMediaFlowing(streamId);
    // What Bob's page asks of the server about its subscriptions, from now on.
    await bob.page.evaluate(() => {
      const sent: unknown[] = [];
      Object.assign(window, { updates: sent });
      type Send = (this: WebSocket, data: string) => void;
      const original: Send = Reflect.get(WebSocket.prototype, 'send');
      const recording: Send = function (data) {
        const frame = JSON.parse(data) as { method?: string; params?: unknown };
        if (frame.method === 'updateSubscription') sent.push(frame.params);
        original.call(this, data);
      };
      Reflect.set(WebSocket.prototype, 'send', recording);
    });
    const updates = () =>
      bob.page.evaluate(() =>
        (window as unknown as { updates: Record<string, unknown>[] }).updates.map(
          ({ subscriptionId: _id, ...changes }) => changes,
        ),
      );

    await bob.page.evaluate((streamId) => {
      const subscriber = window.participant.subscribers.get(streamId);
      if (!subscriber?.element) throw new Error('no subscriber element');
      Object.assign(subscriber.element.style, { width: '320px', height: '180px' });
      subscriber.setPreferredFrameRate(15);
      subscriber.setPreferredResolution('auto');
    }, streamId);
    assert.deepEqual(await updates(), [
      { preferredFrameRate: 15 },
      { preferredResolution: { width: 320, height: 180 } },
    ]);
    // Resized: the new size is sent once it has held for half a second.
    await bob.page.evaluate((streamId) => {
      const element = window.participant.subscribers.get(streamId)?.element;
      if (element) Object.assign(element.style, { width: '640px', height: '360px' });
    }, streamId);
    await bob.page.waitForFunction(() => (window as unknown as { updates: unknown[] }).updates.length === 3);
    await bob.page.evaluate((streamId) => {
      window.participant.subscribers.get(streamId)?.setPreferredResolution(null).setPreferredFrameRate(null);
    }, streamId);
    assert.deepEqual((await updates()).slice(2), [
      { preferredResolution: { width: 640, height: 360 } },
      { preferredResolution: null },
      { preferredFrameRate: null },
    ]);
    // The server took every one: Bob's signaling answered no error.
    await bob.expectMediaFlowing(streamId);
    await Promise.all([alice.page.close(), bob.page.close()]);
  });
});
