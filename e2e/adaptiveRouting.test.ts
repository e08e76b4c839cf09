import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import jwt from 'jsonwebtoken';
import OpenTok from 'opentok';
import type { RoutedMediaStats } from '@parlor/server';
import { fromCallback, startTestServer, type TestServer } from '@parlor/server/testing';
import {
  lightVideo,
  openBrowserPeer,
  startAppOrigin,
  startBrowserTestBed,
  type BrowserPeer,
  type BrowserTestBed,
} from './helpers.js';
import { everyonePlays, gapsOf, pathsOf, watchGaps } from './mediaGaps.js';
import { NamespaceBed } from './namespaceBed.js';
import { namespacesUnavailable } from './netns.js';

// Adaptive routing with Chromium pages in routed sessions: two pages send peer to peer, a third
// moves everyone to the Media Router without a visible gap, its leaving moves them back, and an
// archive started while direct records from its start. Gaps are measured in the pages from
// getStats every 50 ms: the longest time a subscriber's decoded video frames, or its received
// audio packets, stood still.

let bed: BrowserTestBed;
let opentok: OpenTok;
const scratch = mkdtempSync(join(tmpdir(), 'parlor-adaptive-'));

const metricsToken = 'adaptive-routing-metrics';
/** How soon after the third publishes every page plays through the router, ms. */
const maxSwitchMs = 3000;
/** The longest a subscriber's video may stand still during a switch, and its audio, ms. */
const maxVideoFreezeMs = 300;
const maxAudioGapMs = 200;

before(async () => {
  bed = await startBrowserTestBed({
    // Without subscriber audio fallback: on a starved CI machine the router once turned a
    // subscriber's video off for quality during the switch test, which is not what it measures.
    env: { PARLOR_ADAPTIVE_ROUTING: 'on', PARLOR_AUDIO_FALLBACK: 'off', PARLOR_METRICS_TOKEN: metricsToken },
  });
  opentok = new OpenTok(bed.parlor.apiKey, bed.parlor.apiSecret, { apiUrl: bed.parlor.url });
});
after(async () => {
  await bed.close();
  rmSync(scratch, { recursive: true, force: true });
});

type AdaptiveStats = RoutedMediaStats & {
  adaptiveRouting?: {
    mode: string;
    changes: { mode: string; reason: string }[];
    routerUnreachable: string[];
    paths: { streamId: string; connectionId: string; path: string }[];
  };
};

async function mediaStats(parlor: TestServer, sessionId: string): Promise<AdaptiveStats> {
  const now = Math.floor(Date.now() / 1000);
  const token = jwt.sign({ iss: parlor.apiKey, ist: 'project', iat: now, exp: now + 300 }, parlor.apiSecret, {
    algorithm: 'HS256',
  });
  const response = await fetch(`${parlor.url}/v2/project/${parlor.apiKey}/session/${sessionId}/media`, {
    headers: { 'X-OPENTOK-AUTH': token },
  });
  assert.equal(response.status, 200);
  return (await response.json()) as AdaptiveStats;
}

/** The Inspector's server events and called-out issues of the session. */
async function inspected(
  parlor: TestServer,
  sessionId: string,
): Promise<{
  events: { type: string; connectionId: string | null; data: Record<string, unknown> }[];
  issues: { kind: string; connectionId: string | null }[];
}> {
  await parlor.server.inspector.idle();
  const response = await parlor.rest('GET', `/session/${sessionId}/inspector`);
  assert.equal(response.status, 200);
  return (await response.json()) as Awaited<ReturnType<typeof inspected>>;
}

/** Packets the router received from publishers and sent to subscribers, so far. */
function routerPackets(stats: AdaptiveStats): number {
  let packets = 0;
  for (const { tracks } of [...stats.publications, ...stats.subscriptions])
    for (const track of tracks) packets += track.packets;
  return packets;
}

/**
 * Holds the gaps the pages measured against the bounds, and the time the move took (when given)
 * against `maxSwitchMs` plus the longest the pages stalled (their own sampling shows it: time
 * the machine did not give them is not the switch's).
 */
async function assertGaps(peers: readonly BrowserPeer[], what: string, switchMs?: number): Promise<void> {
  const gaps = await Promise.all(peers.map(gapsOf));
  const video = Math.max(...gaps.map((gap) => gap.videoMs));
  const audio = Math.max(...gaps.map((gap) => gap.audioMs));
  const stalled = Math.max(...gaps.map((gap) => gap.sampledEveryMs - 50));
  const black = gaps.reduce((sum, gap) => sum + gap.blackFrames, 0);
  const darkest = Math.min(...gaps.map((gap) => gap.minLuma));
  console.log(
    `${what}: longest video freeze ${video} ms, longest audio gap ${audio} ms, ${black} black pictures (darkest luma ${darkest}) (${JSON.stringify(gaps)})`,
  );
  assert.ok(
    gaps.every((gap) => gap.samples > 0 && gap.minLuma < 255),
    `${what}: every page looked at its pictures`,
  );
  assert.equal(black, 0, `${what}: a <video> element showed a black picture`);
  assert.ok(video <= maxVideoFreezeMs, `${what}: video froze for ${video} ms`);
  assert.ok(audio <= maxAudioGapMs, `${what}: audio stopped for ${audio} ms`);
  if (switchMs !== undefined)
    assert.ok(
      switchMs <= maxSwitchMs + Math.max(0, stalled),
      `${what}: the move took ${switchMs} ms (the pages stalled up to ${stalled} ms)`,
    );
}

/** The selected candidate pair of one of the page's peer connections: its local and remote ports. */
function selectedPorts(report: RTCStatsReport): { local: number; remote: number } | null {
  let pairId: string | undefined;
  report.forEach((entry: RTCStats & Record<string, unknown>) => {
    if (entry.type === 'transport' && typeof entry.selectedCandidatePairId === 'string')
      pairId = entry.selectedCandidatePairId;
  });
  const pair = pairId ? (report.get(pairId) as Record<string, unknown> | undefined) : undefined;
  if (!pair) return null;
  const local = report.get(String(pair.localCandidateId)) as { port?: number } | undefined;
  const remote = report.get(String(pair.remoteCandidateId)) as { port?: number } | undefined;
  return { local: Number(local?.port), remote: Number(remote?.port) };
}

/** Two pages of a new routed session, each publishing and subscribing to the other, peer to peer. */
async function oneOnOne(): Promise<{
  sessionId: string;
  peers: [BrowserPeer, BrowserPeer];
  streamIds: string[];
}> {
  const sessionId = await bed.parlor.createSession({ mediaMode: 'routed' });
  const peers: BrowserPeer[] = [];
  for (const index of [0, 1]) {
    const peer = await openBrowserPeer(bed.browser, bed.app.url, bed.parlor.apiKey, sessionId);
    assert.equal(await peer.connect(opentok.generateToken(sessionId, { data: `peer ${index}` })), null);
    assert.equal(await peer.publish(lightVideo), null);
    peers.push(peer);
  }
  const [first, second] = peers as [BrowserPeer, BrowserPeer];
  const streamIds = [await first.streamId(), await second.streamId()];
  await first.expectMediaFlowing(streamIds[1] ?? '');
  await second.expectMediaFlowing(streamIds[0] ?? '');
  await everyonePlays(peers, 'direct', 30_000);
  return { sessionId, peers: [first, second], streamIds };
}

describe('adaptive routing', () => {
  it('sends one-on-one media peer to peer, moves to the router when a third joins and back when it leaves, without a freeze', async () => {
    const { sessionId, peers } = await oneOnOne();
    const [first, second] = peers;

    // Peer to peer: the first page receives from the port the second sends from, not the router's.
    const firstSubscriber = await first.page.evaluate(async () => {
      const subscriber = [...window.participant.subscribers.values()][0];
      const report = await subscriber?.getRtcStatsReport();
      return report ? [...(report.values() as Iterable<{ id: string }>)] : [];
    });
    const secondPublisher = await second.page.evaluate(async () => {
      const reports = (await window.participant.publisher?.getRtcStatsReport()) ?? [];
      return reports.map(({ connectionId, rtcStatsReport }) => ({
        connectionId,
        stats: [...(rtcStatsReport.values() as Iterable<{ id: string }>)],
      }));
    });
    const asReport = (entries: { id: string }[]): RTCStatsReport =>
      new Map(entries.map((entry) => [entry.id, entry]));
    const received = selectedPorts(asReport(firstSubscriber));
    const firstId = await first.connectionId();
    const direct = secondPublisher.find(({ connectionId }) => connectionId === firstId);
    const toRouter = secondPublisher.find(({ connectionId }) => connectionId === 'router');
    assert.ok(
      direct && toRouter,
      'the publisher has a peer connection to the router and one to its subscriber',
    );
    const sent = selectedPorts(asReport(direct.stats));
    const router = selectedPorts(asReport(toRouter.stats));
    assert.ok(received && sent && router);
    assert.equal(received.remote, sent.local, 'the subscriber receives from the publisher page');
    assert.notEqual(received.remote, router.remote, 'not from the router');

    // The router forwards nothing while the session is direct.
    const before = await mediaStats(bed.parlor, sessionId);
    assert.equal(before.adaptiveRouting?.mode, 'direct');
    assert.deepEqual(
      before.adaptiveRouting.paths.map(({ path }) => path),
      ['direct', 'direct'],
    );
    await sleep(1000);
    assert.equal(routerPackets(await mediaStats(bed.parlor, sessionId)), routerPackets(before));

    // A third joins: within 3 s everyone decodes the others through the router. (Its page opens
    // first, so that the start of a browser page on a loaded machine is not in the measure.)
    const third = await openBrowserPeer(bed.browser, bed.app.url, bed.parlor.apiKey, sessionId);
    await sleep(1000);
    await watchGaps(peers);
    assert.equal(await third.connect(opentok.generateToken(sessionId, { data: 'third' })), null);
    assert.equal(await third.publish(lightVideo), null);
    const joinedMs = await everyonePlays([first, second, third], 'routed', 30_000);
    console.log(`a third joined: every page plays through the router ${joinedMs} ms after its publish`);
    await sleep(500);
    await assertGaps(peers, 'direct -> routed', joinedMs);
    const streamIds = [await first.streamId(), await second.streamId()];
    await Promise.all(streamIds.map((streamId) => third.expectMediaFlowing(streamId, 3000)));
    const routed = await mediaStats(bed.parlor, sessionId);
    assert.equal(routed.adaptiveRouting?.mode, 'routed');

    // It leaves: back to direct after the hold time, with the same bounds.
    await watchGaps(peers);
    await third.page.evaluate(() => {
      window.participant.session.disconnect();
    });
    const leftMs = await everyonePlays(peers, 'direct', 30_000);
    console.log(`the third left: every page plays peer to peer again ${leftMs} ms later`);
    await sleep(500);
    await assertGaps(peers, 'routed -> direct');
    const back = await mediaStats(bed.parlor, sessionId);
    assert.deepEqual(back.adaptiveRouting?.mode, 'direct');
    await sleep(500);
    assert.equal(
      routerPackets(await mediaStats(bed.parlor, sessionId)),
      routerPackets(back),
      'the router forwards nothing again',
    );
    // Prometheus: the session is direct again, after one move each way.
    const metrics = await (
      await fetch(`${bed.parlor.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })
    ).text();
    assert.match(metrics, /parlor_adaptive_routing_sessions\{path="direct"\} 1\n/);
    assert.match(metrics, /parlor_adaptive_routing_switches_total\{path="routed"\} 1\n/);
    assert.match(metrics, /parlor_adaptive_routing_switches_total\{path="direct"\} 1\n/);

    // Nobody saw the two streams end or their video go off on the way.
    for (const peer of peers) {
      const events = await peer.events();
      const broken = events.filter(
        ({ type, streamId }) =>
          (type === 'streamDestroyed' || type === 'videoDisabled') && streamIds.includes(streamId ?? ''),
      );
      assert.deepEqual(broken, []);
    }
    for (const peer of [first, second, third]) await peer.page.close();
  });

  it('an archive started while direct records both streams from its start, and nobody sees a freeze', async () => {
    const { sessionId, peers } = await oneOnOne();
    await watchGaps(peers);
    const archive = await fromCallback<OpenTok.Archive>((done) => {
      opentok.startArchive(sessionId, { name: 'direct', outputMode: 'individual' }, (error, started) => {
        done(error, started as OpenTok.Archive);
      });
    });
    const movedMs = await everyonePlays(peers, 'routed', 30_000);
    await sleep(500);
    await assertGaps(peers, 'archive start', movedMs);
    await sleep(4500);
    await fromCallback((done) => {
      opentok.stopArchive(archive.id, done);
    });

    let available: OpenTok.Archive | null = null;
    for (let tries = 0; tries < 120 && available === null; tries++) {
      const current = await fromCallback<OpenTok.Archive>((done) => {
        opentok.getArchive(archive.id, done);
      });
      if (current.status === 'available') available = current;
      else await sleep(250);
    }
    assert.ok(available?.url, 'the archive became available');
    const response = await fetch(available.url);
    assert.equal(response.status, 200);
    const zip = join(scratch, 'direct.zip');
    writeFileSync(zip, Buffer.from(await response.arrayBuffer()));
    const manifest = JSON.parse(execFileSync('unzip', ['-p', zip, `${archive.id}.json`]).toString()) as {
      files: { filename: string; startTimeOffset: number; stopTimeOffset: number }[];
    };
    assert.equal(manifest.files.length, 2);
    execFileSync('unzip', ['-o', '-q', zip, '-d', join(scratch, 'direct')]);
    const recordedMs = Math.max(...manifest.files.map((file) => file.stopTimeOffset));
    for (const file of manifest.files) {
      const probed = JSON.parse(
        execFileSync('ffprobe', [
          '-v',
          'error',
          '-show_format',
          '-of',
          'json',
          join(scratch, 'direct', file.filename),
        ]).toString(),
      ) as { format: { duration: string } };
      const seconds = Number(probed.format.duration);
      console.log(
        `archive: ${file.filename} starts at ${file.startTimeOffset} ms, ${seconds} s of ${recordedMs / 1000} s`,
      );
      assert.ok(file.startTimeOffset <= 1000, `recorded from ${file.startTimeOffset} ms`);
      assert.ok(
        Math.abs(seconds * 1000 - recordedMs) <= 1000,
        `${seconds} s recorded of ${recordedMs / 1000} s`,
      );
    }
    for (const peer of peers) await peer.page.close();
  });

  it('a publisher with adaptiveRouting: false keeps a one-on-one session on the router', async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'routed' });
    const peers: BrowserPeer[] = [];
    for (const adaptiveRouting of [false, true]) {
      const peer = await openBrowserPeer(bed.browser, bed.app.url, bed.parlor.apiKey, sessionId);
      assert.equal(await peer.connect(opentok.generateToken(sessionId)), null);
      assert.equal(await peer.publish({ ...lightVideo, adaptiveRouting }), null);
      peers.push(peer);
    }
    const [first, second] = peers as [BrowserPeer, BrowserPeer];
    await first.expectMediaFlowing(await second.streamId());
    await second.expectMediaFlowing(await first.streamId());
    await everyonePlays(peers, 'routed', 10_000);
    const stats = await mediaStats(bed.parlor, sessionId);
    assert.equal(stats.adaptiveRouting?.mode, 'routed');
    assert.deepEqual(
      stats.adaptiveRouting.changes.map(({ reason }) => reason),
      ['publisherOptedOut'],
    );
    assert.ok(routerPackets(stats) > 0, 'the router forwards their media');
    for (const peer of peers) await peer.page.close();
  });

  it('--adaptive-routing off keeps two pages on the router', async () => {
    const parlor = await startTestServer({ env: { PARLOR_ADAPTIVE_ROUTING: 'off' } });
    const app = await startAppOrigin(parlor.url);
    try {
      const sessionId = await parlor.createSession({ mediaMode: 'routed' });
      const off = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
      const peers: BrowserPeer[] = [];
      for (const index of [0, 1]) {
        const peer = await openBrowserPeer(bed.browser, app.url, parlor.apiKey, sessionId);
        assert.equal(await peer.connect(off.generateToken(sessionId, { data: `peer ${index}` })), null);
        assert.equal(await peer.publish(lightVideo), null);
        peers.push(peer);
      }
      const [first, second] = peers as [BrowserPeer, BrowserPeer];
      await first.expectMediaFlowing(await second.streamId());
      assert.deepEqual(Object.values(await pathsOf(first)), ['routed']);
      const connections = await first.page.evaluate(async () =>
        ((await window.participant.publisher?.getRtcStatsReport()) ?? []).map(
          ({ connectionId }) => connectionId,
        ),
      );
      assert.deepEqual(connections, ['router']);
      const stats = await mediaStats(parlor, sessionId);
      assert.equal(stats.adaptiveRouting, undefined);
      assert.ok(routerPackets(stats) > 0);
      for (const peer of peers) await peer.page.close();
    } finally {
      await app.close();
      await parlor.dispose();
    }
  });
});

describe(
  'adaptive routing for a page that cannot send UDP to the router',
  { skip: namespacesUnavailable() },
  () => {
    it('calls its peer directly, and moves to the router over ICE-TCP when a third joins', async () => {
      const nsBed = await NamespaceBed.start('amr', 247, { PARLOR_ADAPTIVE_ROUTING: 'on' });
      try {
        const routerPort = nsBed.parlor.server.mediaWorkers.load[0]?.port;
        assert.ok(routerPort);
        nsBed.dropFromInside([`udp dport ${routerPort}`]);
        const sessionId = await nsBed.parlor.createSession({ mediaMode: 'routed' });
        const inside = await nsBed.join(nsBed.inside, sessionId);
        const outside = await nsBed.join(nsBed.outside, sessionId);
        for (const peer of [inside, outside]) assert.equal(await peer.publish(lightVideo), null);
        await inside.expectMediaFlowing(await outside.streamId());
        await everyonePlays([inside, outside], 'direct', 30_000);

        const third = await nsBed.join(nsBed.outside, sessionId);
        assert.equal(await third.publish(lightVideo), null);
        const movedMs = await everyonePlays([inside, outside, third], 'routed', 30_000);
        console.log(
          `blocked UDP: every page plays through the router ${movedMs} ms after the third published`,
        );
        await Promise.all(
          [await outside.streamId(), await third.streamId()].map((streamId) =>
            inside.expectMediaFlowing(streamId),
          ),
        );
        const protocols = await inside.page.evaluate(async () => {
          const found: string[] = [];
          for (const subscriber of window.participant.subscribers.values()) {
            const report = await subscriber.getRtcStatsReport();
            report.forEach((entry: RTCStats & Record<string, unknown>) => {
              if (entry.type !== 'transport' || typeof entry.selectedCandidatePairId !== 'string') return;
              const pair = report.get(entry.selectedCandidatePairId) as
                { localCandidateId?: string } | undefined;
              const local = report.get(pair?.localCandidateId ?? '') as { protocol?: string } | undefined;
              found.push(local?.protocol ?? 'none');
            });
          }
          return found;
        });
        assert.deepEqual(
          protocols,
          ['tcp', 'tcp'],
          `the page behind the UDP block reaches the router over ICE-TCP: ${JSON.stringify(protocols)}`,
        );
      } finally {
        await nsBed.close();
      }
    });
  },
);

describe(
  'adaptive routing for two pages that cannot reach each other',
  { skip: namespacesUnavailable() },
  () => {
    it('falls back to the router when peer to peer decodes nothing, and stays there', async () => {
      const nsBed = await NamespaceBed.start('amf', 248, {
        PARLOR_ADAPTIVE_ROUTING: 'on',
        PARLOR_METRICS_TOKEN: metricsToken,
      });
      try {
        // From the namespace, only signaling, the app and the router's port get through: the page
        // inside reaches the router, not the page outside (nor TURN).
        const routerPort = nsBed.parlor.server.mediaWorkers.load[0]?.port;
        assert.ok(routerPort);
        const open = [routerPort, new URL(nsBed.parlor.url).port, new URL(nsBed.appUrl).port].join(', ');
        nsBed.dropFromInside([`udp dport != ${routerPort}`, `tcp dport != { ${open} }`]);
        const sessionId = await nsBed.parlor.createSession({ mediaMode: 'routed' });
        const inside = await nsBed.join(nsBed.inside, sessionId);
        const outside = await nsBed.join(nsBed.outside, sessionId);
        const started = Date.now();
        for (const peer of [inside, outside]) assert.equal(await peer.publish(lightVideo), null);
        // The direct path is given 15 s to decode; then both pages decode each other through the router.
        await inside.expectMediaFlowing(await outside.streamId(), 45_000);
        await outside.expectMediaFlowing(await inside.streamId(), 45_000);
        console.log(
          `no direct path: both pages decode through the router ${Date.now() - started} ms after publishing`,
        );
        const stats = await mediaStats(nsBed.parlor, sessionId);
        assert.equal(stats.adaptiveRouting?.mode, 'routed');
        assert.equal(stats.adaptiveRouting.changes.at(-1)?.reason, 'directFailed');
        assert.deepEqual(
          stats.adaptiveRouting.paths.map(({ path }) => path),
          ['routed', 'routed'],
        );
        // It stays routed past the hold time.
        await sleep(4000);
        const later = await mediaStats(nsBed.parlor, sessionId);
        assert.equal(later.adaptiveRouting?.mode, 'routed');
        assert.equal(later.adaptiveRouting.changes.length, stats.adaptiveRouting.changes.length);
        const metrics = await (
          await fetch(`${nsBed.parlor.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })
        ).text();
        assert.match(metrics, /parlor_adaptive_routing_path_failures_total\{path="direct"\} [12]\n/);
        const inspector = await inspected(nsBed.parlor, sessionId);
        assert.ok(inspector.events.some(({ type }) => type === 'directPathFailed'));
        assert.ok(
          inspector.events.some(
            ({ type, data }) => type === 'mediaRoutingChanged' && data.reason === 'directFailed',
          ),
        );
        assert.ok(inspector.issues.some(({ kind }) => kind === 'mediaPath'));
      } finally {
        await nsBed.close();
      }
    });
  },
);

describe(
  'adaptive routing for a page that cannot reach the router at all',
  { skip: namespacesUnavailable() },
  () => {
    it('calls its peer directly, and the server shows it cannot reach the router', async () => {
      const nsBed = await NamespaceBed.start('amu', 249, {
        PARLOR_ADAPTIVE_ROUTING: 'on',
        PARLOR_METRICS_TOKEN: metricsToken,
      });
      try {
        const routerPort = nsBed.parlor.server.mediaWorkers.load[0]?.port;
        assert.ok(routerPort);
        nsBed.dropFromInside([`meta l4proto { udp, tcp } th dport ${routerPort}`]);
        const sessionId = await nsBed.parlor.createSession({ mediaMode: 'routed' });
        const inside = await nsBed.join(nsBed.inside, sessionId);
        const outside = await nsBed.join(nsBed.outside, sessionId);
        const started = Date.now();
        for (const peer of [inside, outside]) assert.equal(await peer.publish(lightVideo), null);
        await inside.expectMediaFlowing(await outside.streamId());
        await outside.expectMediaFlowing(await inside.streamId());
        await everyonePlays([inside, outside], 'direct', 10_000);
        // Its peer connections to the router fail when ICE gives up on them.
        const insideId = await inside.connectionId();
        let unreachable: readonly string[] = [];
        while (!unreachable.includes(insideId)) {
          assert.ok(Date.now() - started < 60_000, 'the server heard of the unreachable router within 60 s');
          await sleep(500);
          unreachable = (await mediaStats(nsBed.parlor, sessionId)).adaptiveRouting?.routerUnreachable ?? [];
        }
        console.log(`unreachable router: the server knows ${Date.now() - started} ms after publishing`);
        assert.deepEqual(unreachable, [insideId]);
        const metrics = await (
          await fetch(`${nsBed.parlor.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })
        ).text();
        assert.match(metrics, /parlor_adaptive_routing_path_failures_total\{path="routed"\} 1\n/);
        const inspector = await inspected(nsBed.parlor, sessionId);
        assert.ok(
          inspector.events.some(
            ({ type, connectionId }) => type === 'routerUnreachable' && connectionId === insideId,
          ),
        );
        assert.ok(
          inspector.issues.some(
            ({ kind, connectionId }) => kind === 'mediaPath' && connectionId === insideId,
          ),
        );
        // Its media still goes peer to peer.
        await inside.expectMediaFlowing(await outside.streamId(), 5000);
      } finally {
        await nsBed.close();
      }
    });
  },
);
