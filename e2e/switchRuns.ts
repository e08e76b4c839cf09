// `node --conditions=source --import tsx e2e/switchRuns.ts [RUNS]`: adaptive routing's switches
// RUNS times each way (default 10), for `npm run bench -- switch`: two Chromium pages of a routed
// session go peer to peer, a third joins (to the router) and leaves (back after the hold); the
// two measure their longest video freeze and audio gap at each move. Beside them, the same two
// pages in a relayed session, where nothing moves: the floor of the measure on this machine.
// Prints one JSON line on stdout, `{ toRouted, toDirect, floor }`; progress goes to stderr.
import { setTimeout as sleep } from 'node:timers/promises';
import { lightVideo, openBrowserPeer, startBrowserTestBed, type BrowserPeer } from './helpers.js';
import { everyonePlays, gapsOf, watchGaps, type Gaps } from './mediaGaps.js';

/** One move's worst figures over both pages, ms. */
interface SwitchRun {
  readonly videoMs: number;
  readonly audioMs: number;
  /** How long the pages' own sampling stalled at most: the measure's resolution. */
  readonly sampledEveryMs: number;
  /** Samples of a <video> element showing a black picture, over both pages. */
  readonly blackFrames: number;
  /** From the trigger to every page playing the new path; null for the floor. */
  readonly switchMs: number | null;
}

const count = Number(process.argv[2] ?? 10);
if (!Number.isInteger(count) || count < 1)
  throw new RangeError(`RUNS must be a positive integer, not ${count}`);

const bed = await startBrowserTestBed({ env: { PARLOR_ADAPTIVE_ROUTING: 'on' } });

async function twoPages(mediaMode: 'routed' | 'relayed'): Promise<BrowserPeer[]> {
  const sessionId = await bed.parlor.createSession({ mediaMode });
  const peers: BrowserPeer[] = [];
  for (let index = 0; index < 2; index++) {
    const peer = await openBrowserPeer(bed.browser, bed.app.url, bed.parlor.apiKey, sessionId);
    const failed = (await peer.connect(bed.parlor.token(sessionId))) ?? (await peer.publish(lightVideo));
    if (failed) throw new Error(`page ${index}: ${JSON.stringify(failed)}`);
    peers.push(peer);
  }
  const [first, second] = peers as [BrowserPeer, BrowserPeer];
  await first.expectMediaFlowing(await second.streamId());
  await second.expectMediaFlowing(await first.streamId());
  return peers;
}

async function measured(peers: readonly BrowserPeer[], switchMs: number | null): Promise<SwitchRun> {
  const gaps: Gaps[] = await Promise.all(peers.map(gapsOf));
  const worst = (pick: (gap: Gaps) => number): number => Math.max(...gaps.map(pick));
  return {
    videoMs: worst((gap) => gap.videoMs),
    audioMs: worst((gap) => gap.audioMs),
    sampledEveryMs: worst((gap) => gap.sampledEveryMs),
    blackFrames: gaps.reduce((sum, gap) => sum + gap.blackFrames, 0),
    switchMs,
  };
}

try {
  const peers = await twoPages('routed');
  await everyonePlays(peers, 'direct', 20_000);
  const sessionId = await peers[0]?.page.evaluate(() => window.participant.session.sessionId);
  const toRouted: SwitchRun[] = [];
  const toDirect: SwitchRun[] = [];
  for (let index = 1; index <= count; index++) {
    const third = await openBrowserPeer(bed.browser, bed.app.url, bed.parlor.apiKey, sessionId ?? '');
    await sleep(1000);
    await watchGaps(peers);
    await third.connect(bed.parlor.token(sessionId ?? ''));
    await third.publish(lightVideo);
    const joinedMs = await everyonePlays([...peers, third], 'routed', 20_000);
    await sleep(500);
    toRouted.push(await measured(peers, joinedMs));
    await watchGaps(peers);
    await third.page.evaluate(() => {
      window.participant.session.disconnect();
    });
    const leftMs = await everyonePlays(peers, 'direct', 20_000);
    await sleep(500);
    toDirect.push(await measured(peers, leftMs));
    await third.page.close();
    console.error(
      `run ${index}/${count}: to the router ${JSON.stringify(toRouted.at(-1))}, back ${JSON.stringify(toDirect.at(-1))}`,
    );
  }
  for (const peer of peers) await peer.page.close();

  const relayed = await twoPages('relayed');
  const floor: SwitchRun[] = [];
  for (let index = 1; index <= count; index++) {
    await watchGaps(relayed);
    await sleep(2000);
    floor.push(await measured(relayed, null));
    console.error(`floor ${index}/${count}: ${JSON.stringify(floor.at(-1))}`);
  }
  console.log(JSON.stringify({ toRouted, toDirect, floor }));
} finally {
  await bed.close();
}
