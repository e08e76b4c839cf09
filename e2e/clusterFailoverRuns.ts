// `node --conditions=source --import tsx e2e/clusterFailoverRuns.ts [RUNS]`: the failover time of
// a call, RUNS times (default 5), for `npm run bench -- cluster`: two Chromium pages of a routed
// session in a cluster of three nodes (one Redis, one PostgreSQL); the node hosting the call is
// killed (SIGKILL), and each run measures until both pages are told `sessionReconnected` and
// until both decode each other's video again. The killed node then starts again for the next run.
// Prints one JSON line on stdout, `{ runs: [{ reconnectedMs, decodingMs }] }`; progress goes to stderr.
import { setTimeout as sleep } from 'node:timers/promises';
import OpenTok from 'opentok';
import {
  fromCallback,
  startPostgresServer,
  TestCluster,
  TestRedis,
  testClusterProject,
} from '@parlor/server/testing';
import { launchChromium, lightVideo, openBrowserPeer, startAppOrigin, type BrowserPeer } from './helpers.js';

const count = Number(process.argv[2] ?? 5);
if (!Number.isInteger(count) || count < 1)
  throw new RangeError(`RUNS must be a positive integer, not ${count}`);

const [redis, postgres] = await Promise.all([TestRedis.start(), startPostgresServer()]);
const cluster = await TestCluster.start({
  redis,
  databaseUrl: await postgres.createDatabase(),
  regions: ['us', 'eu', 'ap'],
  env: { PARLOR_LOG_LEVEL: 'warn' },
});
// The pages load the SDK from the ap node, which is never killed.
const app = await startAppOrigin(cluster.node('ap-3').url);
const browser = await launchChromium();
try {
  const opentok = new OpenTok(testClusterProject.apiKey, testClusterProject.apiSecret, {
    apiUrl: cluster.node('ap-3').url,
  });
  const { sessionId } = await fromCallback<{ sessionId: string }>((done) => {
    opentok.createSession({ mediaMode: 'routed', location: '8.8.8.8' }, done);
  });
  const peers: BrowserPeer[] = [];
  for (let index = 0; index < 2; index++) {
    const peer = await openBrowserPeer(browser, app.url, testClusterProject.apiKey, sessionId);
    const failed = (await peer.connect(opentok.generateToken(sessionId))) ?? (await peer.publish(lightVideo));
    if (failed) throw new Error(`page ${index}: ${JSON.stringify(failed)}`);
    peers.push(peer);
  }
  const bothDecoding = async (): Promise<void> => {
    const [first, second] = peers as [BrowserPeer, BrowserPeer];
    const [firstStream, secondStream] = await Promise.all([first.streamId(), second.streamId()]);
    await Promise.all([
      first.expectMediaFlowing(secondStream, 45_000),
      second.expectMediaFlowing(firstStream, 45_000),
    ]);
  };
  await bothDecoding();
  const runs: { reconnectedMs: number; decodingMs: number }[] = [];
  for (let run = 1; run <= count; run++) {
    const live = cluster.nodes.filter((node) => node.nodeId !== 'ap-3');
    const connections = await Promise.all(live.map((node) => node.metric('parlor_connections')));
    const host = live[connections.findIndex((each) => each > 0)];
    if (!host) throw new Error('the call is on the ap node, which the pages load from');
    const reconnected = await Promise.all(peers.map((peer) => peer.count('sessionReconnected')));
    const killedAt = Date.now();
    await host.parlor.stop('SIGKILL');
    for (const [index, peer] of peers.entries()) {
      while ((await peer.count('sessionReconnected')) <= (reconnected[index] ?? 0)) {
        if (Date.now() - killedAt > 60_000) throw new Error('not reconnected within 60 s');
        await sleep(50);
      }
    }
    const reconnectedMs = Date.now() - killedAt;
    await bothDecoding();
    runs.push({ reconnectedMs, decodingMs: Date.now() - killedAt });
    console.error(`run ${run}/${count}: ${host.nodeId} killed, ${JSON.stringify(runs.at(-1))}`);
    await cluster.restart(host.nodeId);
  }
  console.log(JSON.stringify({ runs }));
} finally {
  await browser.close();
  await app.close();
  await cluster.dispose();
  await redis.dispose();
  await postgres.stop();
}
