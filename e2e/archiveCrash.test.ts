import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenTok from 'opentok';
import type { Browser } from 'playwright-core';
import { OpenTok as ParlorSdk } from '@parlor/server-sdk';
import { fromCallback, spawnParlor, type SpawnedParlor } from '@parlor/server/testing';
import { launchChromium, lightVideo, openBrowserPeer, startAppOrigin, type AppOrigin } from './helpers.js';

// A Parlor killed with SIGKILL while recording: on restart the archive is completed from what
// reached the disk, and the file plays.

const credentials = { PARLOR_API_KEY: '31415926', PARLOR_API_SECRET: 'c0ffee'.repeat(6) + 'beef' };
const apiKey = credentials.PARLOR_API_KEY;
const folder = mkdtempSync(join(tmpdir(), 'parlor-archive-crash-'));
const dataDir = join(folder, 'data');
let browser: Browser;
let app: AppOrigin | null = null;
const servers: SpawnedParlor[] = [];

before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
  await app?.close();
  for (const server of servers) await server.stop('SIGTERM');
  rmSync(folder, { recursive: true, force: true });
});

function getArchive(client: OpenTok, id: string): Promise<OpenTok.Archive> {
  return fromCallback((done) => {
    client.getArchive(id, done);
  });
}

describe('an archive interrupted by a crash', () => {
  it('is completed on restart from what reached the disk, and plays', async () => {
    const first = await spawnParlor({ dataDir, env: { ...credentials, PARLOR_MEDIA_WORKERS: '1' } });
    servers.push(first);
    app = await startAppOrigin(first.url);
    const { sessionId } = await new ParlorSdk(apiKey, credentials.PARLOR_API_SECRET, {
      apiUrl: first.url,
    }).createSession({ mediaMode: 'routed' });
    const before = new OpenTok(apiKey, credentials.PARLOR_API_SECRET, { apiUrl: first.url });
    const peer = await openBrowserPeer(browser, app.url, apiKey, sessionId);
    assert.equal(await peer.connect(before.generateToken(sessionId)), null);
    assert.equal(await peer.publish(lightVideo), null);
    await sleep(1000);

    const archive = await fromCallback<OpenTok.Archive>((done) => {
      before.startArchive(sessionId, { outputMode: 'individual' }, (error, started) => {
        done(error, started as OpenTok.Archive);
      });
    });
    const recordFor = 4000;
    await sleep(recordFor);
    assert.equal((await first.stop('SIGKILL')).code, null, 'killed, not exited');
    await peer.page.close();

    const second = await spawnParlor({ dataDir, env: credentials });
    servers.push(second);
    const after = new OpenTok(apiKey, credentials.PARLOR_API_SECRET, { apiUrl: second.url });
    const deadline = Date.now() + 30_000;
    let recovered = await getArchive(after, archive.id);
    while (recovered.status !== 'available' && Date.now() < deadline) {
      await sleep(250);
      recovered = await getArchive(after, archive.id);
    }
    assert.equal(recovered.status, 'available', `the archive is ${recovered.status}`);
    assert.ok(recovered.url);

    const response = await fetch(recovered.url);
    assert.equal(response.status, 200);
    const zip = join(folder, 'archive.zip');
    writeFileSync(zip, Buffer.from(await response.arrayBuffer()));
    execFileSync('unzip', ['-o', '-q', zip, '-d', join(folder, 'unzipped')]);
    const manifest = JSON.parse(execFileSync('unzip', ['-p', zip, `${archive.id}.json`]).toString()) as {
      files: { filename: string }[];
    };
    assert.equal(manifest.files.length, 1);
    const file = join(folder, 'unzipped', manifest.files[0]?.filename ?? '');
    const probe = JSON.parse(
      execFileSync('ffprobe', [
        '-v',
        'error',
        '-show_streams',
        '-show_format',
        '-of',
        'json',
        file,
      ]).toString(),
    ) as { streams: { codec_name: string }[]; format: { duration: string } };
    assert.deepEqual(probe.streams.map((stream) => stream.codec_name).sort(), ['opus', 'vp8']);
    // At most the last second (and the reordering window) is lost.
    const seconds = Number(probe.format.duration);
    assert.ok(seconds > recordFor / 1000 - 1.5 && seconds <= recordFor / 1000 + 0.5, `${seconds} s recorded`);
    const errors = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }).toString();
    assert.equal(errors, '');
  });
});
