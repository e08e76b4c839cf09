import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { OpenTok } from '@parlor/server-sdk';
import type { TestServer } from '@parlor/server/testing';
import {
  lightVideo,
  newPage,
  openBrowserPeer,
  startBrowserTestBed,
  type AppOrigin,
  type BrowserPeer,
  type BrowserTestBed,
} from './helpers.js';
import { attempts, num, type InspectorEntry, type InspectorTimeline } from './inspectorTimeline.js';

// A routed call of two OpenTok.js pages, then the session in the Inspector: its JSON has both
// connections, publishes and subscribes, quality samples with frames and bitrate from the
// clients and the router, and scores; the page shows them to a person.

let parlor: TestServer;
let app: AppOrigin;
let browser: Browser;
let bed: BrowserTestBed;

before(async () => {
  bed = await startBrowserTestBed();
  ({ parlor, app, browser } = bed);
});
after(() => bed.close());

/** Where the test leaves the Inspector page's screenshot for a person to look at. */
const screenshotDir = join(import.meta.dirname, '..', 'test-results');

type Entry = InspectorEntry;
type Timeline = InspectorTimeline;

/**
 * Records the scores the page's subscribers dispatch with `qualityScoreChanged`, from their
 * creation, and when (Unix ms) each was created: the participant subscribes on `streamCreated`.
 */
async function recordScores(peer: BrowserPeer): Promise<void> {
  await peer.page.evaluate(() => {
    const scores: unknown[] = [];
    const subscribedAt: Record<string, number> = {};
    Object.assign(window, { scores, subscribedAt });
    window.participant.session.on('streamCreated', (event) => {
      subscribedAt[event.stream.streamId] = Date.now();
      window.participant.subscribers.get(event.stream.streamId)?.on('qualityScoreChanged', (change) => {
        scores.push(change.qualityScore);
      });
    });
  });
}

describe('the Inspector after a routed call', () => {
  it('has every connect, publish and subscribe, quality samples with frames and bitrate from both sides, and scores; the page shows them', async () => {
    const opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
    const { sessionId } = await opentok.createSession({ mediaMode: 'routed' });
    const peers = await Promise.all(
      [0, 1].map(() => openBrowserPeer(browser, app.url, parlor.apiKey, sessionId)),
    );
    const streamIds: string[] = [];
    const connectedAt: number[] = [];
    /** When each page called publish and when its stream was live, Unix ms. */
    const published: [number, number][] = [];
    for (const [index, peer] of peers.entries()) {
      await recordScores(peer);
      connectedAt.push(Date.now());
      assert.equal(await peer.connect(opentok.generateToken(sessionId, { data: `peer ${index}` })), null);
      const publishAt = Date.now();
      assert.equal(await peer.publish(lightVideo), null);
      published.push([publishAt, Date.now()]);
      streamIds.push(await peer.streamId());
    }
    const [first, second] = peers as [BrowserPeer, BrowserPeer];
    await first.expectMediaFlowing(streamIds[1] ?? '');
    await second.expectMediaFlowing(streamIds[0] ?? '');
    const connectionIds = await Promise.all(peers.map((peer) => peer.connectionId()));

    // The first quality samples leave 6 s after each peer connection starts, sent within 2 s.
    const url = `${parlor.url}/v2/project/${parlor.apiKey}/session/${sessionId}/inspector`;
    const headers = { 'X-Parlor-Token': opentok.generateToken(sessionId, { role: 'moderator' }) };
    const clientSample = (t: Timeline, connectionId: string): Entry | undefined =>
      t.quality.find(
        (q) =>
          q.source === 'client' &&
          q.type === 'subscriber' &&
          q.connectionId === connectionId &&
          num(q.data.frameRate) > 0 &&
          num(q.data.videoBitrate) > 0,
      );
    let timeline: Timeline | null = null;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const response = await fetch(url, { headers });
      if (response.status === 200) {
        const t = (await response.json()) as Timeline;
        const routerSample = t.quality.some(
          (q) => q.source === 'router' && q.type === 'subscription' && num(q.data.videoBitrate) > 0,
        );
        if (routerSample && connectionIds.every((id) => clientSample(t, id)) && t.scores.length >= 2) {
          timeline = t;
          break;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.ok(timeline, 'the Inspector has samples of both subscribers and of the router within 30 s');

    // Connections at their times (± 2 s), with the browser they said they were.
    for (const [index, connectionId] of connectionIds.entries()) {
      const lane = timeline.connections.find((c) => c.connectionId === connectionId);
      assert.ok(lane, `connection ${connectionId}`);
      assert.ok(Math.abs(lane.connectedAt - (connectedAt[index] ?? 0)) < 2000);
      assert.match(lane.browser ?? '', /Chrom/);
      assert.match(lane.sdkVersion ?? '', /^\d+\.\d+\.\d+/);
      const ok = (type: string): Entry[] => attempts(timeline, connectionId, type);
      assert.equal(ok('connect').length, 1);
      // Publishes and subscribes at their times (± 2 s): the publish between the call and the
      // stream going live, the subscribe when the page was told of the stream.
      const [publishAt, liveAt] = published[index] ?? [0, 0];
      const within = (at: number, from: number, to: number): boolean => at >= from - 2000 && at <= to + 2000;
      const [publish] = ok('publish');
      assert.deepEqual(
        ok('publish').map((e) => e.streamId),
        [streamIds[index]],
      );
      assert.ok(
        publish && within(publish.at, publishAt, liveAt),
        `publish at ${publish?.at}, ${publishAt}–${liveAt}`,
      );
      const stream = timeline.streams.find((s) => s.streamId === streamIds[index]);
      assert.ok(stream && within(stream.createdAt, publishAt, liveAt), 'the stream created at its publish');
      const [subscribe] = ok('subscribe');
      assert.deepEqual(
        ok('subscribe').map((e) => e.streamId),
        [streamIds[1 - index]],
      );
      const toldAt = await peers[index]?.page.evaluate(
        (streamId) => (window as unknown as { subscribedAt: Record<string, number> }).subscribedAt[streamId],
        streamIds[1 - index] ?? '',
      );
      assert.ok(
        subscribe && toldAt && within(subscribe.at, toldAt, toldAt),
        `subscribe at ${subscribe?.at}, told of the stream at ${toldAt}`,
      );
      assert.ok(timeline.events.some((e) => e.connectionId === connectionId && e.type === 'path'));
    }
    assert.deepEqual(timeline.streams.map((s) => s.streamId).sort(), [...streamIds].sort());
    const score = timeline.scores.find((s) => s.type === 'subscriber' && typeof s.data.video === 'number');
    assert.ok(score && num(score.data.video) >= 1 && num(score.data.video) <= 5);
    // The SDK event fired on each page's subscriber.
    for (const peer of peers) {
      const scores = (await peer.page.evaluate(
        () => (window as unknown as { scores: unknown[] }).scores,
      )) as {
        videoQualityScore?: number;
      }[];
      assert.ok(
        scores.some((s) => (s.videoQualityScore ?? 0) >= 1),
        JSON.stringify(scores),
      );
    }

    // The page, with the project's key and secret.
    const page = await newPage(browser);
    await page.goto(`${parlor.url}/inspector?sessionId=${encodeURIComponent(sessionId)}`);
    await page.fill('#apiKey', parlor.apiKey);
    await page.fill('#apiSecret', parlor.apiSecret);
    await page.click('button[type=submit]');
    // The graphs are uPlot's: a canvas each, with a legend naming its series.
    await page.waitForSelector('#graphs:not([hidden]) .chart .uplot canvas');
    // Swim lanes per connection: connected, publishing and subscribing spans, their events on hover.
    assert.equal(await page.locator('rect.span-connected').count(), 2);
    assert.equal(await page.locator('rect.span-publishing').count(), 2);
    const subscribing = page.locator('rect.span-subscribing');
    assert.equal(await subscribing.count(), 2);
    assert.match(
      (await subscribing.first().locator('title').textContent()) ?? '',
      /client subscribe \{"ok":true\}/,
    );
    const sdkRow = page
      .locator('#summary dt', { hasText: 'SDK versions' })
      .locator('xpath=following-sibling::dd[1]');
    assert.equal(await sdkRow.textContent(), timeline.connections[0]?.sdkVersion);
    assert.ok((await page.locator('.stream-graphs').count()) >= 2);
    assert.ok((await page.locator('.chart .u-legend .u-label', { hasText: 'router' }).count()) >= 1);
    mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: join(screenshotDir, 'inspector.png'), fullPage: true });

    // The project's recent sessions have it, and open it with a click.
    await page.fill('#sessionId', '');
    await page.click('button[type=submit]');
    await page.locator('#recentList a', { hasText: sessionId }).click();
    await page.waitForSelector('#lanes:not([hidden]) rect.span-publishing');

    // A wrong secret is refused.
    await page.fill('#apiSecret', 'x'.repeat(40));
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.getElementById('status')?.textContent.startsWith('403'));
    // Another project's developers neither open the session nor see it among their recent ones.
    const other = await parlor.server.projects.create('Other');
    await page.fill('#apiKey', other.apiKey);
    await page.fill('#apiSecret', other.apiSecret);
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.getElementById('status')?.textContent.startsWith('404'));
    assert.equal(await page.locator('#lanes').isVisible(), false);
    await page.fill('#sessionId', '');
    await page.click('button[type=submit]');
    await page.waitForSelector('#recent:not([hidden])');
    assert.equal(await page.locator('#recentList', { hasText: sessionId }).count(), 0);
    await page.close();
    await Promise.all(peers.map((peer) => peer.page.close()));
  });

  it('has a connect that failed (a proxy refusing WebSockets), posted by the SDK over HTTP, and the page opens with the console login', async () => {
    const opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
    const { sessionId } = await opentok.createSession({ mediaMode: 'routed' });
    const peer = await openBrowserPeer(browser, app.url, parlor.apiKey, sessionId);
    await peer.page.routeWebSocket(/.*/, (socket) => {
      void socket.close({ code: 1011, reason: 'refused by a proxy' });
    });
    const failed = await peer.connect(opentok.generateToken(sessionId));
    assert.ok(failed, 'the connect failed');
    const url = `${parlor.url}/v2/project/${parlor.apiKey}/session/${sessionId}/inspector`;
    const headers = { 'X-Parlor-Token': opentok.generateToken(sessionId, { role: 'moderator' }) };
    const read = async (): Promise<(Timeline & { issues: { message: string }[] }) | null> => {
      const response = await fetch(url, { headers });
      return response.status === 200
        ? ((await response.json()) as Timeline & { issues: { message: string }[] })
        : null;
    };
    let timeline = await read();
    for (const deadline = Date.now() + 15_000; !timeline && Date.now() < deadline; timeline = await read())
      await new Promise((resolve) => setTimeout(resolve, 250));
    assert.ok(timeline, 'the Inspector has the session within 15 s');
    const event = timeline.events[0];
    assert.ok(event);
    assert.deepEqual(
      [event.source, event.type, event.connectionId, event.data.ok],
      ['client', 'connect', null, false],
    );
    assert.equal(event.data.code, failed.code);
    assert.match(String(event.data.browser), /Chrom/);
    assert.match(String(event.data.sdkVersion), /^\d+\.\d+\.\d+/);
    assert.match(timeline.issues[0]?.message ?? '', new RegExp(`a client: connect failed ${failed.code}`));
    await peer.page.close();

    // An operator logged in to the console needs only the API key.
    const page = await newPage(browser);
    const token = (parlor.server.consoleSetupUrl ?? '').split('#')[1];
    const setup = await page.request.post(`${parlor.url}/console/api/setup`, {
      data: { token, name: 'ann', password: 'correct horse battery' },
    });
    assert.equal(setup.status(), 200);
    await page.goto(`${parlor.url}/inspector?sessionId=${encodeURIComponent(sessionId)}`);
    await page.waitForSelector('#operator:not([hidden])');
    assert.equal(await page.locator('#apiSecret').isVisible(), false);
    await page.fill('#apiKey', parlor.apiKey);
    await page.click('button[type=submit]');
    await page.waitForSelector('#lanes:not([hidden]) circle.lane-event.failed');
    await page.close();
  });
});
