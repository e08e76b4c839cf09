import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { testTurnEnv, type TestServer } from '@parlor/server/testing';
import {
  openBrowserPeer,
  type AppOrigin,
  type BrowserPeer,
  lightVideo,
  startBrowserTestBed,
  type BrowserTestBed,
} from './helpers.js';
import { inspectorWhen, type InspectorTimeline } from './inspectorTimeline.js';

// Relayed sessions whose media goes through Parlor's embedded coturn, on loopback.

let parlor: TestServer;
let app: AppOrigin;
let browser: Browser;
let turnPort: number;

let bed: BrowserTestBed;

before(async () => {
  const env = await testTurnEnv();
  turnPort = Number(env.PARLOR_TURN_PORT);
  bed = await startBrowserTestBed({ env });
  ({ parlor, app, browser } = bed);
});
after(() => bed.close());

/** Waits until the subscriber to the stream has selected a candidate pair; returns its types. */
async function selectedPair(peer: BrowserPeer, streamId: string): Promise<{ local: string; remote: string }> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const pair = await peer.selectedCandidateTypes(streamId);
    if (pair) return pair;
    await peer.page.waitForTimeout(100);
  }
  throw new Error(`no candidate pair selected for ${streamId}`);
}

/** Two peers with these session options, each publishing; resolves with their stream IDs. */
async function pairOfPeers(
  sessionOptions: Parameters<typeof openBrowserPeer>[4],
): Promise<{ sessionId: string; peers: [BrowserPeer, BrowserPeer]; streams: [string, string] }> {
  const sessionId = await parlor.createSession();
  const open = () => openBrowserPeer(browser, app.url, parlor.apiKey, sessionId, sessionOptions);
  const peers: [BrowserPeer, BrowserPeer] = [await open(), await open()];
  for (const peer of peers) {
    assert.equal(await peer.connect(parlor.token(sessionId)), null);
    assert.equal(await peer.publish(lightVideo), null);
  }
  return { sessionId, peers, streams: [await peers[0].streamId(), await peers[1].streamId()] };
}

describe('a relayed session through the embedded TURN server', () => {
  it("with transportPolicy 'relay', carries video and audio both ways over relay candidates, even on loopback", async () => {
    const { sessionId, peers, streams } = await pairOfPeers({ iceConfig: { transportPolicy: 'relay' } });
    const [alice, bob] = peers;
    await alice.expectMediaFlowing(streams[1]);
    await bob.expectMediaFlowing(streams[0]);
    assert.equal((await selectedPair(alice, streams[1])).local, 'relay');
    assert.equal((await selectedPair(bob, streams[0])).local, 'relay');
    // The Inspector has each end's path as its SDK told it: over TURN (its quality samples, the
    // first 6 s after a peer connection starts, name the same path: see relayedSession).
    const connectionIds = await Promise.all(peers.map((peer) => peer.connectionId()));
    const relayedRoles = (t: InspectorTimeline, connectionId: string): string[] => [
      ...new Set(
        t.events
          .filter((e) => e.type === 'path' && e.connectionId === connectionId && e.data.path === 'relay/udp')
          .map((e) => String(e.data.role))
          .sort(),
      ),
    ];
    const timeline = await inspectorWhen(parlor, sessionId, (t) =>
      connectionIds.every((id) => relayedRoles(t, id).join() === 'publisher,subscriber'),
    );
    assert.deepEqual(
      timeline.events.filter((e) => e.type === 'path' && e.data.path !== 'relay/udp'),
      [],
    );
    await Promise.all(peers.map((peer) => peer.page.close()));
  });

  it("with includeServers 'custom', relays through the application's own TURN server only", async () => {
    const secret = readFileSync(join(parlor.dataDir, 'turn-secret'), 'utf8').trim();
    const { createHmac } = await import('node:crypto');
    const username = `${Math.floor(Date.now() / 1000) + 3600}:app-user`;
    const credential = createHmac('sha1', secret).update(username).digest('base64');
    const custom = { urls: `turn:127.0.0.1:${turnPort}?transport=tcp`, username, credential };
    const { peers, streams } = await pairOfPeers({
      iceConfig: { includeServers: 'custom', transportPolicy: 'relay', customServers: [custom] },
    });
    const [alice, bob] = peers;
    await alice.expectMediaFlowing(streams[1]);
    assert.equal((await selectedPair(alice, streams[1])).local, 'relay');
    await bob.expectMediaFlowing(streams[0]);
    await Promise.all(peers.map((peer) => peer.page.close()));
  });

  it("with includeServers 'custom' and no custom server, relay-only peers get no media path", async () => {
    const { peers, streams } = await pairOfPeers({
      iceConfig: { includeServers: 'custom', transportPolicy: 'relay', customServers: [] },
    });
    await peers[0].page.waitForTimeout(3000);
    assert.equal(await peers[0].selectedCandidateTypes(streams[1]), null);
    assert.equal((await peers[0].mediaCounters(streams[1])).framesDecoded, 0);
    await Promise.all(peers.map((peer) => peer.page.close()));
  });

  it('after the signaling link dropped and resumed, new peer connections use fresh TURN credentials', async () => {
    const sessionId = await parlor.createSession();
    const options = { iceConfig: { transportPolicy: 'relay' as const } };
    const alice = await openBrowserPeer(browser, app.url, parlor.apiKey, sessionId, options);
    const bob = await openBrowserPeer(browser, app.url, parlor.apiKey, sessionId, options);
    // Records the TURN usernames of the peer connections the page makes.
    await alice.page.evaluate(() => {
      const usernames: string[] = [];
      Object.assign(window, { turnUsernames: usernames });
      window.RTCPeerConnection = class extends RTCPeerConnection {
        constructor(configuration?: RTCConfiguration) {
          super(configuration);
          for (const server of configuration?.iceServers ?? [])
            if (server.username) usernames.push(server.username);
        }
      };
    });
    assert.equal(await alice.connect(parlor.token(sessionId)), null);
    // Credentials name their expiry in seconds: the resumed link's expire at least a second later.
    await alice.page.waitForTimeout(1100);
    const droppedAt = Math.floor(Date.now() / 1000);
    await alice.dropSignaling();
    await alice.waitForEvent({ type: 'sessionReconnected' });
    assert.equal(await bob.connect(parlor.token(sessionId)), null);
    assert.equal(await bob.publish(lightVideo), null);
    const streamId = await bob.streamId();
    await alice.expectMediaFlowing(streamId);
    assert.equal((await selectedPair(alice, streamId)).local, 'relay');
    const usernames = await alice.page.evaluate(
      () => (window as unknown as { turnUsernames: string[] }).turnUsernames,
    );
    assert.equal(usernames.length, 1);
    assert.ok(Number(usernames[0]?.split(':')[0]) >= droppedAt + 86400, `stale credentials: ${usernames[0]}`);
    await Promise.all([alice.page.close(), bob.page.close()]);
  });
});
