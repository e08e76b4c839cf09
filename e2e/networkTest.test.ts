import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '@parlor/server/testing';
import { launchChromium, newPage, openBrowserPeer, startAppOrigin, type AppOrigin } from './helpers.js';
import {
  chromiumIn,
  createSide,
  inNamespace,
  limitDownlink,
  limitUplink,
  namespaceSide,
  namespacesUnavailable,
  removeSide,
} from './netns.js';

// OpenTok's own pre-call network test (opentok-network-test-js, served by Parlor at
// /v2/js/network-test.js) run with Parlor's OT, as an app page would, in routed sessions.

interface Credentials {
  readonly apiKey: string;
  readonly sessionId: string;
  readonly token: string;
}

/** The options of `new NetworkTest(OT, credentials, options)` the tests use. */
interface NetworkTestOptions {
  readonly timeout?: number;
  readonly proxyServerUrl?: string;
  readonly initSessionOptions?: { readonly apiUrl?: string };
}

interface AverageStats {
  readonly bitrate?: number;
  readonly packetLossRatio?: number;
  readonly supported: boolean;
  readonly reason?: string;
  readonly mos?: number;
  readonly recommendedResolution?: string;
}

/** What the page's run of the test gave: the failure types and error names, and the quality results. */
interface NetworkTestRun {
  readonly connectivity: {
    readonly success: boolean;
    readonly failedTests: readonly { readonly type: string; readonly name: string }[];
  };
  readonly quality?: { readonly audio: AverageStats; readonly video: AverageStats };
  /** How long each step took, ms. */
  readonly connectivityMs: number;
  readonly qualityMs?: number;
}

declare global {
  interface Window {
    OpenTokNetworkConnectivity: {
      default: new (
        ot: unknown,
        credentials: Credentials,
        options: NetworkTestOptions,
      ) => {
        testConnectivity(): Promise<{
          success: boolean;
          failedTests: { type: string; error: Error }[];
        }>;
        testQuality(): Promise<NonNullable<NetworkTestRun['quality']>>;
      };
    };
  }
}

/**
 * A page of the app's origin with Parlor's OT and the network test, both by script tag, and the
 * origins of every request it makes (to prove none leaves the test's servers).
 */
async function openTestPage(
  browser: Browser,
  app: AppOrigin,
  parlorUrl: string,
): Promise<{ page: Page; origins: Set<string> }> {
  const page = await newPage(browser);
  const origins = new Set<string>();
  page.on('request', (request) => {
    origins.add(new URL(request.url()).origin);
  });
  await page.goto(app.url);
  await page.addScriptTag({ url: `${parlorUrl}/v2/js/network-test.js` });
  return { page, origins };
}

/** Runs `testConnectivity`, then `testQuality` when asked and connectivity succeeded. */
function runNetworkTest(
  page: Page,
  credentials: Credentials,
  options: NetworkTestOptions,
  quality: boolean,
): Promise<NetworkTestRun> {
  return page.evaluate(
    async ({ credentials, options, quality }) => {
      const NetworkTest = window.OpenTokNetworkConnectivity.default;
      const test = new NetworkTest(window.OT, credentials, options);
      const started = performance.now();
      const { success, failedTests } = await test.testConnectivity();
      const connectivity = {
        success,
        failedTests: failedTests.map(({ type, error }) => ({ type, name: error.name })),
      };
      const connectivityMs = performance.now() - started;
      if (!quality || !success) return { connectivity, connectivityMs };
      const results = await test.testQuality();
      return { connectivity, connectivityMs, quality: results, qualityMs: performance.now() - started };
    },
    { credentials, options, quality },
  );
}

/** What a publisher's connection to the router tells of its uplink at one moment. */
interface UplinkSample {
  /** `availableOutgoingBitrate`, bits/s. */
  readonly estimate: number;
  /** Video sent so far, and of it lost as the router's receiver reports tell. */
  readonly bytesSent: number;
  readonly packetsSent: number;
  readonly packetsLost: number;
  readonly roundTripMs: number;
  readonly atMs: number;
}

/** Reads the page's publisher's statistics (a routed session: one connection, to the router). */
function uplinkSample(page: Page): Promise<UplinkSample> {
  return page.evaluate(async () => {
    const [upstream] = (await window.participant.publisher?.getRtcStatsReport()) ?? [];
    const sample = { estimate: 0, bytesSent: 0, packetsSent: 0, packetsLost: 0, roundTripMs: 0, atMs: 0 };
    upstream?.rtcStatsReport.forEach(
      (report: {
        type: string;
        kind?: string;
        nominated?: boolean;
        availableOutgoingBitrate?: number;
        bytesSent?: number;
        packetsSent?: number;
        packetsLost?: number;
        roundTripTime?: number;
      }) => {
        if (report.type === 'candidate-pair' && report.nominated)
          sample.estimate = Math.max(sample.estimate, report.availableOutgoingBitrate ?? 0);
        if (report.kind !== 'video') return;
        if (report.type === 'outbound-rtp') {
          sample.bytesSent += report.bytesSent ?? 0;
          sample.packetsSent += report.packetsSent ?? 0;
        }
        if (report.type === 'remote-inbound-rtp') {
          sample.packetsLost += report.packetsLost ?? 0;
          sample.roundTripMs = Math.max(sample.roundTripMs, Math.round((report.roundTripTime ?? 0) * 1000));
        }
      },
    );
    return { ...sample, atMs: performance.now() };
  });
}

/** Pixels of a recommended resolution such as '640x360'. */
function pixels(resolution: string | undefined): number {
  const [width, height] = (resolution ?? '0x0').split('x').map(Number);
  return (width ?? 0) * (height ?? 0);
}

/** The quality test's length on loopback: short (the package takes 5 to 30 s). */
const qualityTimeoutMs = 8000;

describe('the pre-call network test on loopback', () => {
  let parlor: TestServer;
  let app: AppOrigin;
  let browser: Browser;

  before(async () => {
    parlor = await startTestServer({ env: { PARLOR_DEMO: 'true' } });
    app = await startAppOrigin(parlor.url);
    // Every URL here has an IP address: no host name resolves, so nothing can leave the machine
    // (the package posts its analytics to hlg.tokbox.com unless given a proxyServerUrl).
    browser = await launchChromium({ args: ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'] });
  });
  after(async () => {
    await browser.close();
    await app.close();
    await parlor.dispose();
  });

  const credentialsFor = (sessionId: string): Credentials => ({
    apiKey: parlor.apiKey,
    sessionId,
    token: parlor.token(sessionId),
  });

  it('passes testConnectivity and measures audio and video in testQuality, all requests to Parlor', async () => {
    const { page, origins } = await openTestPage(browser, app, parlor.url);
    const sessionId = await parlor.createSession({ mediaMode: 'routed' });
    const run = await runNetworkTest(
      page,
      credentialsFor(sessionId),
      { timeout: qualityTimeoutMs, proxyServerUrl: parlor.url },
      true,
    );
    assert.deepEqual(run.connectivity, { success: true, failedTests: [] });
    const { audio, video } = run.quality ?? assert.fail('no quality results');
    assert.equal(audio.supported, true, JSON.stringify(audio));
    assert.ok((audio.mos ?? 0) > 3.5, `audio MOS ${audio.mos}`);
    assert.ok((audio.bitrate ?? 0) > 10_000, `audio bitrate ${audio.bitrate}`);
    assert.ok((audio.packetLossRatio ?? 1) < 0.02, `audio loss ${audio.packetLossRatio}`);
    assert.equal(video.supported, true, JSON.stringify(video));
    assert.ok((video.mos ?? 0) > 2.5, `video MOS ${video.mos}`);
    assert.ok((video.packetLossRatio ?? 1) < 0.02, `video loss ${video.packetLossRatio}`);
    assert.ok((video.bitrate ?? 0) > 150_000, `video bitrate ${video.bitrate}`);
    assert.ok(pixels(video.recommendedResolution) >= 960 * 540, String(video.recommendedResolution));
    // The logging check and the package's own analytics went to Parlor (proxyServerUrl), nowhere else.
    assert.deepEqual([...origins].sort(), [new URL(app.url).origin, parlor.url].sort());
  });

  it('reports the API failure for an unreachable API URL, the messaging failure for a bad token, and finds the logging endpoint through OT.properties', async () => {
    const { page, origins } = await openTestPage(browser, app, parlor.url);
    const sessionId = await parlor.createSession({ mediaMode: 'routed' });
    const unreachable = await runNetworkTest(
      page,
      credentialsFor(sessionId),
      // Port 9 of loopback: nothing listens, the connection is refused at once.
      { initSessionOptions: { apiUrl: 'http://127.0.0.1:9' }, proxyServerUrl: parlor.url },
      false,
    );
    assert.equal(unreachable.connectivity.success, false);
    assert.deepEqual(unreachable.connectivity.failedTests, [
      { type: 'api', name: 'ConnectToSessionNetworkError' },
    ]);
    // The SDK asked the unreachable API for the session's connection info, and nothing else.
    assert.deepEqual([...origins].sort(), [new URL(app.url).origin, parlor.url, 'http://127.0.0.1:9'].sort());
    // Without proxyServerUrl: the logging check goes to OT.properties.loggingURL (Parlor), and
    // the package's own analytics to OpenTok's host, which does not resolve here.
    const refused = await runNetworkTest(
      page,
      { ...credentialsFor(sessionId), token: 'not-a-token' },
      {},
      false,
    );
    // A messaging failure fails the media test too, as on OpenTok; no logging failure.
    assert.deepEqual(refused.connectivity.failedTests, [
      { type: 'messaging', name: 'ConnectToSessionTokenError' },
      { type: 'media', name: 'FailedMessagingServerTestError' },
    ]);
    assert.ok(origins.has('https://hlg.tokbox.com'), [...origins].join(' '));
  });

  it("shows the results in words on the demo's network test page", async () => {
    const page = await newPage(browser);
    await page.goto(`${parlor.url}/network-test?timeout=${qualityTimeoutMs}`);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Done.', undefined, {
      timeout: 45_000,
      polling: 200,
    });
    assert.equal(
      await page.locator('#connectivity').textContent(),
      'All reachable: API, messaging, Media Router and logging.',
    );
    assert.match(
      (await page.locator('#audio').textContent()) ?? '',
      /^Supported: MOS \d\.\d\d \((excellent|good)\), \d+ kbit\/s, \d+\.\d % packets lost\.$/,
    );
    assert.match(
      (await page.locator('#video').textContent()) ?? '',
      /^Supported: MOS \d\.\d\d \(\w+\), \d+ kbit\/s, .* Recommended: \d+x\d+ at 30 fps\.$/,
    );
  });
});

const skip = namespacesUnavailable();

describe('the pre-call network test from a network namespace', { skip }, () => {
  const side = namespaceSide('nt', 204, 1);
  let parlor: TestServer;
  let app: AppOrigin;
  let browser: Browser;
  let folder: string;

  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'parlor-netns-'));
    removeSide(side);
    createSide(side);
    // Parlor and the app listen, and the Media Router announces itself, where the namespace reaches the host.
    // Publishers get transport-wide feedback, the default that test servers otherwise turn off.
    parlor = await startTestServer({
      env: { PARLOR_PUBLIC_IP: side.hostAddress, PARLOR_PUBLISHER_FEEDBACK: 'transport-wide' },
      host: side.hostAddress,
    });
    app = await startAppOrigin(parlor.url, side.hostAddress);
    // getUserMedia needs a secure context: the app's origin is not localhost here.
    const args = [`--unsafely-treat-insecure-origin-as-secure=${new URL(app.url).origin}`];
    browser = await launchChromium({ executablePath: chromiumIn(side.namespace, folder), args });
  });
  after(async () => {
    try {
      await browser.close();
      await app.close();
      await parlor.dispose();
    } finally {
      removeSide(side);
      rmSync(folder, { recursive: true, force: true });
    }
  });

  const credentialsFor = (sessionId: string): Credentials => ({
    apiKey: parlor.apiKey,
    sessionId,
    token: parlor.token(sessionId),
  });

  it('reports the media failure when the Media Router cannot be reached (UDP and TCP) and TURN is off', async () => {
    // The namespace reaches Parlor's HTTP port and the app's, nothing else of the host: signaling
    // works, the router's UDP port drops everything and its TCP port refuses (the test server
    // runs no TURN). A dropped TCP connect would take the kernel's two minutes to give up; ICE
    // over UDP fails in about 15 s.
    const ports = [new URL(parlor.url).port, new URL(app.url).port].join(', ');
    inNamespace(side.namespace, [
      'nft',
      `add table inet noroute; add chain inet noroute out { type filter hook output priority 0; }; ` +
        `add rule inet noroute out ip daddr ${side.hostAddress} tcp dport { ${ports} } accept; ` +
        `add rule inet noroute out ip daddr ${side.hostAddress} meta l4proto tcp reject with tcp reset; ` +
        `add rule inet noroute out ip daddr ${side.hostAddress} drop`,
    ]);
    try {
      const { page } = await openTestPage(browser, app, parlor.url);
      const sessionId = await parlor.createSession({ mediaMode: 'routed' });
      const run = await runNetworkTest(
        page,
        credentialsFor(sessionId),
        { proxyServerUrl: parlor.url },
        false,
      );
      assert.equal(run.connectivity.success, false);
      assert.deepEqual(run.connectivity.failedTests, [{ type: 'media', name: 'SubscribeToSessionError' }]);
    } finally {
      inNamespace(side.namespace, ['nft', 'delete', 'table', 'inet', 'noroute']);
    }
  });

  it("keeps a publisher near its 300 kbit/s uplink without filling the link's queue: the router's transport-wide feedback", async (t) => {
    limitUplink(side, { rate: '300kbit' });
    const sessionId = await parlor.createSession({ mediaMode: 'routed' });
    const peer = await openBrowserPeer(browser, app.url, parlor.apiKey, sessionId);
    try {
      assert.equal(await peer.connect(parlor.token(sessionId)), null);
      assert.equal(await peer.publish({ resolution: '1280x720' }), null);
      const samples: UplinkSample[] = [];
      // The estimate starts at 300 kbit/s and the first probes overshoot: 8 s after publishing count.
      await new Promise((resolve) => setTimeout(resolve, 8000));
      for (let second = 0; second <= 8; second++) {
        if (second > 0) await new Promise((resolve) => setTimeout(resolve, 1000));
        samples.push(await uplinkSample(peer.page));
      }
      const first = samples[0] as UplinkSample;
      const last = samples.at(-1) as UplinkSample;
      const sentKbps = ((last.bytesSent - first.bytesSent) * 8) / (last.atMs - first.atMs);
      const lost = last.packetsLost - first.packetsLost;
      const packets = last.packetsSent - first.packetsSent;
      const roundTrips = samples.map(({ roundTripMs }) => roundTripMs).sort((a, b) => a - b);
      const medianRoundTripMs = roundTrips[Math.floor(roundTrips.length / 2)] as number;
      const what =
        `estimates ${samples.map(({ estimate }) => Math.round(estimate / 1000)).join(', ')} kbit/s, ` +
        `video sent ${Math.round(sentKbps)} kbit/s, ${lost} of ${packets} packets lost, ` +
        `round trips ${roundTrips.join(', ')} ms`;
      t.diagnostic(what);
      // With REMB and loss reports alone the estimate climbs until the link's queue overflows: in
      // one run round trips of 320-360 ms (the queue's 150 ms full) and 9 % of the video lost.
      assert.ok(Math.max(...samples.map(({ estimate }) => estimate)) <= 600_000, what);
      assert.ok(sentKbps >= 80 && sentKbps <= 400, what);
      assert.ok(lost <= 0.02 * packets, what);
      assert.ok(medianRoundTripMs <= 150, what);
    } finally {
      await peer.page.close();
      limitUplink(side, null);
    }
  });

  it("scores a 300 kbit/s link's video low and recommends a lower resolution in testQuality", async (t) => {
    limitUplink(side, { rate: '300kbit' });
    limitDownlink(side, '300kbit');
    try {
      const { page } = await openTestPage(browser, app, parlor.url);
      const sessionId = await parlor.createSession({ mediaMode: 'routed' });
      const run = await runNetworkTest(
        page,
        credentialsFor(sessionId),
        { timeout: 15_000, proxyServerUrl: parlor.url },
        true,
      );
      assert.deepEqual(run.connectivity, { success: true, failedTests: [] });
      const { audio, video } = run.quality ?? assert.fail('no quality results');
      t.diagnostic(`video ${JSON.stringify(video)}`);
      // What arrives falls: the video scores low (above 2.5 on loopback; its loss depends on how
      // soon the router moves the subscriber to a lower layer), and the resolution recommended from
      // the browser's estimate of its uplink is at most 480x270 (960x540 or more on loopback;
      // 640x360 or 960x540 before the router sent transport-wide feedback).
      assert.ok((video.mos ?? 5) < 2.5, JSON.stringify(video));
      assert.ok((audio.mos ?? 0) >= 1, JSON.stringify(audio));
      assert.ok(pixels(video.recommendedResolution) <= 480 * 270, JSON.stringify(video));
    } finally {
      limitUplink(side, null);
      limitDownlink(side, null);
    }
  });
});
