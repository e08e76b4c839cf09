import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import OpenTok from 'opentok';
import {
  fromCallback,
  startPostgresServer,
  TestCluster,
  TestRedis,
  testClusterProject,
  type PostgresServer,
} from '@parlor/server/testing';
import { launchChromium, lightVideo, openBrowserPeer, startAppOrigin, type AppOrigin } from './helpers.js';

// A Chromium page publishing in a routed session hosted by the eu node; the application's REST
// calls go to the us node, which forwards them to the host; the archive recorded on the eu node
// is downloaded from the ap node, which streams it from the eu node, and deleted through the ap
// node's CLI, which has the eu node delete its file.

let redis: TestRedis;
let postgres: PostgresServer;
let cluster: TestCluster;
let databaseUrl: string;
let app: AppOrigin;
let browser: Awaited<ReturnType<typeof launchChromium>>;
const scratch = mkdtempSync(join(tmpdir(), 'parlor-cluster-archive-'));

before(async () => {
  [redis, postgres] = await Promise.all([TestRedis.start(), startPostgresServer()]);
  databaseUrl = await postgres.createDatabase();
  cluster = await TestCluster.start({
    redis,
    databaseUrl,
    regions: ['us', 'eu', 'ap'],
  });
  app = await startAppOrigin(cluster.node('us-1').url);
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
  await app.close();
  await cluster.dispose();
  await redis.dispose();
  await postgres.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('REST calls and archives across the cluster', () => {
  it('signals, mutes and archives through a non-host; the archive downloads from a third node, plays, and is deleted through it', async () => {
    const viaUs = new OpenTok(testClusterProject.apiKey, testClusterProject.apiSecret, {
      apiUrl: cluster.node('us-1').url,
    });
    const viaAp = new OpenTok(testClusterProject.apiKey, testClusterProject.apiSecret, {
      apiUrl: cluster.node('ap-3').url,
    });
    // Hinted to an address the shipped GeoIP data places in Germany: the eu node hosts it.
    const { sessionId } = await fromCallback<{ sessionId: string }>((done) => {
      viaUs.createSession({ mediaMode: 'routed', location: '46.4.0.1' }, done);
    });
    const peer = await openBrowserPeer(browser, app.url, testClusterProject.apiKey, sessionId);
    assert.equal(await peer.connect(viaUs.generateToken(sessionId)), null);
    assert.equal(await peer.publish(lightVideo), null);
    assert.equal(await cluster.node('eu-2').metric('parlor_streams'), 1);

    await fromCallback((done) => {
      viaUs.signal(sessionId, null, { type: 'news', data: 'forwarded' }, done);
    });
    assert.equal((await peer.waitForEvent({ type: 'signal', signalType: 'signal:news' })).data, 'forwarded');
    const streamId = await peer.streamId();
    await fromCallback((done) => {
      viaAp.forceMuteStream(sessionId, streamId, done);
    });
    await peer.waitForEvent({ target: 'publisher', type: 'muteForced' });

    const archive = await fromCallback<OpenTok.Archive>((done) => {
      viaUs.startArchive(sessionId, { name: 'across' }, (error, started) => {
        done(error, started as OpenTok.Archive);
      });
    });
    assert.equal(archive.status, 'started');
    await peer.waitForEvent({ type: 'archiveStarted', archiveId: archive.id });
    await sleep(3000);
    const stopped = await fromCallback<OpenTok.Archive>((done) => {
      viaUs.stopArchive(archive.id, done);
    });
    assert.equal(stopped.status, 'stopped');

    // Listed and read from any node: the archive's record is in PostgreSQL.
    const deadline = Date.now() + 60_000;
    let available = await fromCallback<OpenTok.Archive>((done) => {
      viaAp.getArchive(archive.id, done);
    });
    while (available.status !== 'available' && Date.now() < deadline) {
      await sleep(250);
      available = await fromCallback<OpenTok.Archive>((done) => {
        viaAp.getArchive(archive.id, done);
      });
    }
    assert.equal(available.status, 'available', available.reason);
    // The file is kept by the node that recorded it, and the ap node's link serves it.
    assert.ok(existsSync(join(cluster.node('eu-2').dataDir, 'archives', archive.id)));
    assert.ok(!existsSync(join(cluster.node('ap-3').dataDir, 'archives', archive.id)));
    const url = available.url ?? '';
    assert.ok(url.startsWith(cluster.node('ap-3').url), url);
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'video/mp4');
    const bytes = Buffer.from(await response.arrayBuffer());
    assert.equal(bytes.length, available.size);
    const file = join(scratch, 'archive.mp4');
    writeFileSync(file, bytes);
    const duration = Number(
      execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file])
        .toString()
        .trim(),
    );
    assert.ok(duration > 1, `duration ${duration}`);
    const ranged = await fetch(url, { headers: { Range: 'bytes=0-99' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 0-99/${bytes.length}`);
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), bytes.subarray(0, 100));

    // `parlor archive delete` asks the ap node's running server, which has the eu node delete it.
    const parlorBin = fileURLToPath(new URL('../packages/server/bin/parlor.js', import.meta.url));
    const deleted = await promisify(execFile)(
      process.execPath,
      [parlorBin, 'archive', 'delete', archive.id, '--data-dir', cluster.node('ap-3').dataDir],
      { env: { PATH: process.env.PATH, PARLOR_DATABASE_URL: databaseUrl } },
    );
    assert.equal(deleted.stdout, `Archive ${archive.id} deleted.\n`);
    assert.ok(!existsSync(join(cluster.node('eu-2').dataDir, 'archives', archive.id)));
    const gone = await fromCallback<OpenTok.Archive>((done) => {
      viaUs.getArchive(archive.id, done);
    });
    assert.equal(gone.status, 'deleted');
  });
});
