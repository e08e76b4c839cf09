import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenTok from 'opentok';
import { layoutTiles } from '@parlor/server/archive';
import { OpenTok as ParlorSdk } from '@parlor/server-sdk';
import { fromCallback } from '@parlor/server/testing';
import {
  lightVideo,
  openBrowserPeer,
  startBrowserTestBed,
  type BrowserPeer,
  type BrowserTestBed,
} from './helpers.js';

// Archiving a routed session of three Chromium publishers through the official `opentok`
// package: the Media Router records each stream as it forwards it, and the files are checked
// with ffprobe and by looking at the composed picture.

let bed: BrowserTestBed;
let opentok: OpenTok;
const scratch = mkdtempSync(join(tmpdir(), 'parlor-archiving-'));

before(async () => {
  bed = await startBrowserTestBed();
  opentok = new OpenTok(bed.parlor.apiKey, bed.parlor.apiSecret, { apiUrl: bed.parlor.url });
});
after(async () => {
  await bed.close();
  if (!process.env.KEEP_SCRATCH) rmSync(scratch, { recursive: true, force: true });
});

const getArchive = (id: string): Promise<OpenTok.Archive> =>
  fromCallback((done) => {
    opentok.getArchive(id, done);
  });
const startArchive = (sessionId: string, options: OpenTok.ArchiveOptions): Promise<OpenTok.Archive> =>
  fromCallback((done) => {
    opentok.startArchive(sessionId, options, (error, archive) => {
      done(error, archive as OpenTok.Archive);
    });
  });
const stopArchive = (id: string): Promise<OpenTok.Archive> =>
  fromCallback((done) => {
    opentok.stopArchive(id, done);
  });

// Composing three streams has taken over a minute on a starved CI machine.
async function archiveWhen(id: string, status: string, timeoutMs = 180_000): Promise<OpenTok.Archive> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const archive = await getArchive(id);
    if (archive.status === status) return archive;
    if (Date.now() > deadline) assert.fail(`archive ${id} is ${archive.status}, not ${status}`);
    await sleep(250);
  }
}

async function download(url: string, name: string): Promise<string> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  const file = join(scratch, name);
  writeFileSync(file, Buffer.from(await response.arrayBuffer()));
  return file;
}

interface Probe {
  streams: { codec_name: string; codec_type: string; width?: number; height?: number }[];
  format: { duration: string };
}

function probe(file: string): Probe {
  return JSON.parse(
    execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file]).toString(),
  ) as Probe;
}

/** Decodes the whole file: ffmpeg's errors, empty when it plays cleanly. */
function decodeErrors(file: string): string {
  return execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
}

/** Mean luma of a rectangle of one frame grabbed at `seconds`. */
function meanLuma(file: string, seconds: number, width: number, height: number) {
  const frame = execFileSync('ffmpeg', [
    '-v',
    'error',
    '-ss',
    String(seconds),
    '-i',
    file,
    '-frames:v',
    '1',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'gray',
    '-',
  ]);
  assert.equal(frame.length, width * height);
  return (x: number, y: number, w: number, h: number): number => {
    let sum = 0;
    for (let row = y; row < y + h; row++)
      for (let col = x; col < x + w; col++) sum += frame[row * width + col] ?? 0;
    return sum / (w * h);
  };
}

describe('archiving a routed session', () => {
  it('records three Chromium publishers individually and composed, and tells the clients', async () => {
    const { sessionId } = await new ParlorSdk(bed.parlor.apiKey, bed.parlor.apiSecret, {
      apiUrl: bed.parlor.url,
    }).createSession({ mediaMode: 'routed' });
    const peers: BrowserPeer[] = [];
    for (let index = 0; index < 3; index++) {
      const peer = await openBrowserPeer(bed.browser, bed.app.url, bed.parlor.apiKey, sessionId);
      assert.equal(await peer.connect(opentok.generateToken(sessionId, { data: `peer ${index}` })), null);
      assert.equal(await peer.publish(lightVideo), null);
      peers.push(peer);
    }
    const [first, second] = peers as [BrowserPeer, BrowserPeer, BrowserPeer];
    await first.expectMediaFlowing(await second.streamId());

    const individual = await startArchive(sessionId, {
      name: 'each',
      outputMode: 'individual',
      multiArchiveTag: 'each',
    });
    const composed = await startArchive(sessionId, {
      name: 'all',
      resolution: '640x480',
      multiArchiveTag: 'all',
    });
    assert.deepEqual([individual.status, composed.status], ['started', 'started']);
    await sleep(8000);
    for (const archive of [individual, composed])
      assert.equal((await stopArchive(archive.id)).status, 'stopped');

    // Every client heard of both archives starting and stopping.
    for (const peer of peers) {
      for (const archive of [individual, composed]) {
        await peer.waitForEvent({ type: 'archiveStarted', archiveId: archive.id });
        await peer.waitForEvent({ type: 'archiveStopped', archiveId: archive.id });
      }
    }

    // Individual: one WebM per stream (VP8 + Opus) as long as the manifest says it was recorded.
    const each = await archiveWhen(individual.id, 'available');
    assert.ok(each.url);
    const zip = await download(each.url, 'each.zip');
    const manifest = JSON.parse(execFileSync('unzip', ['-p', zip, `${each.id}.json`]).toString()) as {
      files: { filename: string; streamId: string; startTimeOffset: number; stopTimeOffset: number }[];
    };
    assert.equal(manifest.files.length, 3);
    execFileSync('unzip', ['-o', '-q', zip, '-d', join(scratch, 'each')]);
    for (const file of manifest.files) {
      const path = join(scratch, 'each', file.filename);
      const { streams, format } = probe(path);
      assert.deepEqual(streams.map((stream) => stream.codec_name).sort(), ['opus', 'vp8']);
      const recordedSeconds = (file.stopTimeOffset - file.startTimeOffset) / 1000;
      const duration = Number(format.duration);
      assert.ok(
        Math.abs(duration - recordedSeconds) <= 0.5,
        `${duration} s recorded for ${recordedSeconds} s`,
      );
      assert.ok(duration > 6, `only ${duration} s of ${file.streamId}`);
      assert.equal(decodeErrors(path), '');
    }

    // Composed: one MP4 at the asked resolution, its length, with the three tiles where bestFit puts them.
    const all = await archiveWhen(composed.id, 'available');
    assert.ok(all.url);
    const mp4 = await download(all.url, 'all.mp4');
    const { streams, format } = probe(mp4);
    const video = streams.find((stream) => stream.codec_type === 'video');
    assert.deepEqual([video?.codec_name, video?.width, video?.height], ['h264', 640, 480]);
    assert.ok(streams.some((stream) => stream.codec_name === 'aac'));
    assert.ok(
      Math.abs(Number(format.duration) - all.duration) <= 1,
      `${format.duration} s for ${all.duration} s`,
    );
    const luma = meanLuma(mp4, Number(format.duration) / 2, 640, 480);
    const tiles = layoutTiles('bestFit', 3, 640, 480);
    for (const tile of tiles) {
      assert.ok(luma(tile.x, tile.y, tile.width, tile.height) > 8, `tile ${JSON.stringify(tile)} is black`);
    }
    // bestFit centres the third stream under the first two: black on either side of it.
    assert.deepEqual(tiles[2], { x: 160, y: 240, width: 320, height: 240 });
    assert.ok(
      luma(0, 240, 160, 240) < 2 && luma(480, 240, 160, 240) < 2,
      'the sides of the last row are not black',
    );

    // Listed, then deleted.
    const listed = await fromCallback<OpenTok.Archive[]>((done) => {
      opentok.listArchives({ sessionId }, (error, archives) => {
        done(error, archives);
      });
    });
    assert.deepEqual(listed.map((archive) => archive.id).sort(), [individual.id, composed.id].sort());
    for (const archive of [individual, composed]) {
      await fromCallback((done) => {
        opentok.deleteArchive(archive.id, done);
      });
      assert.equal((await getArchive(archive.id)).status, 'deleted');
    }
    await Promise.all(peers.map((peer) => peer.page.close()));
  });
});
