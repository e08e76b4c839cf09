import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenTok from 'opentok';
import type { Browser, Page } from 'playwright-core';
import {
  startPostgresServer,
  TestCluster,
  TestRedis,
  testClusterProject,
  testClusterSecret,
  type PostgresServer,
} from '@parlor/server/testing';
import {
  launchChromium,
  lightVideo,
  newPage,
  openBrowserPeer,
  startAppOrigin,
  type AppOrigin,
} from './helpers.js';

// The browser SDK asks the node it was loaded from where the session is hosted, and connects
// there: two Parlor processes (us, eu) on one Redis, the page loading the SDK from the us node.

let redis: TestRedis;
let postgres: PostgresServer;
let cluster: TestCluster;
let app: AppOrigin;
/** A second app, loading the SDK from the eu node. */
let euApp: AppOrigin;
let browser: Browser;
let page: Page;

before(async () => {
  [redis, postgres] = await Promise.all([TestRedis.start(), startPostgresServer()]);
  cluster = await TestCluster.start({
    redis,
    databaseUrl: await postgres.createDatabase(),
    regions: ['us', 'eu'],
  });
  app = await startAppOrigin(cluster.node('us-1').url);
  euApp = await startAppOrigin(cluster.node('eu-2').url);
  browser = await launchChromium();
  page = await newPage(browser);
  await page.goto(app.url);
});
after(async () => {
  await browser.close();
  await app.close();
  await euApp.close();
  await cluster.dispose();
  await redis.dispose();
  await postgres.stop();
});

/** A routed session hinted to an address the shipped GeoIP data places in Germany: eu's. */
async function createEuSession(opentok: OpenTok): Promise<string> {
  const sessionId = await new Promise<string>((resolve, reject) => {
    opentok.createSession({ mediaMode: 'routed', location: '46.4.0.1' }, (error, session) => {
      if (error || !session) reject(error ?? new Error('no session'));
      else resolve(session.sessionId);
    });
  });
  return sessionId;
}

describe('the SDK in a cluster', () => {
  it('connects to the node hosting the session, not the one it was loaded from', async () => {
    const opentok = new OpenTok(testClusterProject.apiKey, testClusterProject.apiSecret, {
      apiUrl: cluster.node('us-1').url,
    });
    const sessionId = await createEuSession(opentok);
    const token = opentok.generateToken(sessionId);
    const outcome = await page.evaluate(
      ({ apiKey, sessionId: id, token: clientToken }) =>
        new Promise<{ error: string | null; connectionId: string | null; sockets: string[] }>((resolve) => {
          const session = window.OT.initSession(apiKey, id);
          session.connect(clientToken, (error) => {
            const sockets = (globalThis as unknown as { sockets: WebSocket[] }).sockets.map(
              (socket) => socket.url,
            );
            resolve({
              error: error?.message ?? null,
              connectionId: session.connection?.connectionId ?? null,
              sockets,
            });
          });
        }),
      { apiKey: testClusterProject.apiKey, sessionId, token },
    );
    assert.equal(outcome.error, null);
    assert.ok(outcome.connectionId);
    assert.deepEqual(outcome.sockets, [`${cluster.node('eu-2').url.replace('http', 'ws')}/v2/signaling`]);
    assert.equal(await cluster.node('eu-2').metric('parlor_connections'), 1);
    assert.equal(await cluster.node('us-1').metric('parlor_connections'), 0);
  });

  it("lets pages loaded from different nodes decode each other's video through the host", async () => {
    const opentok = new OpenTok(testClusterProject.apiKey, testClusterProject.apiSecret, {
      apiUrl: cluster.node('us-1').url,
    });
    const sessionId = await createEuSession(opentok);
    const peers = await Promise.all(
      [app, euApp].map((origin) =>
        openBrowserPeer(browser, origin.url, testClusterProject.apiKey, sessionId),
      ),
    );
    const streamIds: string[] = [];
    for (const peer of peers) {
      assert.equal(await peer.connect(opentok.generateToken(sessionId)), null);
      assert.equal(await peer.publish(lightVideo), null);
      streamIds.push(await peer.streamId());
    }
    const [fromUs, fromEu] = peers;
    assert.ok(fromUs && fromEu);
    await Promise.all([
      fromUs.expectMediaFlowing(streamIds[1] ?? ''),
      fromEu.expectMediaFlowing(streamIds[0] ?? ''),
    ]);
    assert.equal(await cluster.node('eu-2').metric('parlor_streams'), 2);
    assert.equal(await cluster.node('us-1').metric('parlor_streams'), 0);
    // The host's record tells the packets its worker forwards (each page receives video and audio).
    const deadline = Date.now() + 10_000;
    let rates: Record<string, number> = {};
    while (!((rates['eu-2'] ?? 0) > 50) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const response = await fetch(`${cluster.node('us-1').url}/v2/cluster/nodes`, {
        headers: { Authorization: `Bearer ${testClusterSecret}` },
      });
      const { nodes } = (await response.json()) as { nodes: { nodeId: string; packetsPerSecond: number }[] };
      rates = Object.fromEntries(nodes.map((node) => [node.nodeId, node.packetsPerSecond]));
    }
    assert.ok((rates['eu-2'] ?? 0) > 50, JSON.stringify(rates));
    assert.equal(rates['us-1'], 0);
  });

  it('asks where the session is again when a node refuses it as not its own (421)', async () => {
    const opentok = new OpenTok(testClusterProject.apiKey, testClusterProject.apiSecret, {
      apiUrl: cluster.node('us-1').url,
    });
    const sessionId = await createEuSession(opentok);
    const misled = await newPage(browser);
    // The first answer is stale and names the us node; the next ones are the server's.
    let answers = 0;
    await misled.route('**/connection-info', async (route) => {
      answers += 1;
      if (answers > 1) return route.continue();
      return route.fulfill({
        status: 200,
        headers: { 'access-control-allow-origin': '*', 'content-type': 'application/json' },
        body: JSON.stringify({ apiUrl: cluster.node('us-1').url }),
      });
    });
    await misled.goto(app.url);
    const token = opentok.generateToken(sessionId);
    const outcome = await misled.evaluate(
      ({ apiKey, sessionId: id, token: clientToken }) =>
        new Promise<{ error: string | null; sockets: string[] }>((resolve) => {
          const session = window.OT.initSession(apiKey, id);
          session.connect(clientToken, (error) => {
            const sockets = (globalThis as unknown as { sockets: WebSocket[] }).sockets.map(
              (socket) => socket.url,
            );
            resolve({ error: error?.message ?? null, sockets });
          });
        }),
      { apiKey: testClusterProject.apiKey, sessionId, token },
    );
    await misled.close();
    assert.equal(outcome.error, null);
    assert.equal(answers, 2);
    assert.deepEqual(
      outcome.sockets,
      [cluster.node('us-1').url, cluster.node('eu-2').url].map(
        (url) => `${url.replace('http', 'ws')}/v2/signaling`,
      ),
    );
  });
});
