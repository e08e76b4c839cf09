import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FfmpegTestRecorder, startTestServer, type TestServer } from '@parlor/server/testing';
import OpenTok, { ArchiveError, ArgumentError, NotFoundError, type Archive } from '@parlor/server-sdk';

// Archives through the server SDK, against a Parlor recording with its test recorder.

let parlor: TestServer;
let opentok: OpenTok;

before(async () => {
  parlor = await startTestServer({ parts: { recordStream: new FfmpegTestRecorder().record } });
  opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
});
after(() => parlor.dispose());

async function archiveWhen(id: string, status: string): Promise<Archive> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const archive = await opentok.getArchive(id);
    if (archive.status === status) return archive;
    if (Date.now() > deadline) throw new Error(`archive ${id} is ${archive.status}`);
    await sleep(100);
  }
}

describe('the server SDK’s archives', () => {
  it('starts, lists, stops, downloads and deletes an archive, with promises and callbacks', async () => {
    const { sessionId, alice, bob } = await parlor.liveSession({ mediaMode: 'routed' });
    const archive = await opentok.startArchive(sessionId, { name: 'SDK', resolution: '1280x720' });
    assert.deepEqual([archive.status, archive.name, archive.resolution], ['started', 'SDK', '1280x720']);
    const { archives, totalCount } = await opentok.listArchives({ sessionId });
    assert.deepEqual([archives.map((a) => a.id), totalCount], [[archive.id], 1]);
    const listed = await new Promise<[Archive[] | undefined, number | undefined]>((resolve, reject) => {
      opentok.listArchives({ sessionId, count: 1 }, (error, items, total) => {
        if (error) reject(error);
        else resolve([items, total]);
      });
    });
    assert.deepEqual([listed[0]?.length, listed[1]], [1, 1]);
    await sleep(1000);
    const stopped = await new Promise<Archive | undefined>((resolve, reject) => {
      opentok.stopArchive(archive.id, (error, result) => {
        if (error) reject(error);
        else resolve(result);
      });
    });
    assert.equal(stopped?.status, 'stopped');
    await assert.rejects(opentok.stopArchive(archive.id), ArchiveError);
    const available = await archiveWhen(archive.id, 'available');
    const file = await fetch(available.url ?? '');
    assert.equal(file.headers.get('content-type'), 'video/mp4');
    await opentok.deleteArchive(archive.id);
    assert.equal((await opentok.getArchive(archive.id)).status, 'deleted');
    await assert.rejects(opentok.deleteArchive(archive.id), ArchiveError);
    await assert.rejects(opentok.getArchive('00000000-0000-4000-8000-000000000000'), NotFoundError);
    await assert.rejects(
      opentok.startArchive(sessionId, { hasAudio: false, hasVideo: false }),
      ArgumentError,
    );
    await Promise.all([alice.close(), bob.close()]);
  });

  it('adds and removes streams of a manual archive and sets a layout', async () => {
    const { sessionId, alice, bob, streamId } = await parlor.liveSession({ mediaMode: 'routed' });
    const archive = await opentok.startArchive(sessionId, { streamMode: 'manual' });
    await opentok.addArchiveStream(archive.id, streamId, { hasVideo: false });
    assert.deepEqual((await opentok.getArchive(archive.id)).streams, [
      { streamId, hasAudio: true, hasVideo: false },
    ]);
    await opentok.setArchiveLayout(archive.id, { type: 'bestFit', screenshareType: 'pip' });
    await opentok.removeArchiveStream(archive.id, streamId);
    assert.deepEqual((await opentok.getArchive(archive.id)).streams, []);
    await assert.rejects(opentok.removeArchiveStream(archive.id, streamId), NotFoundError);
    const auto = await opentok.startArchive(sessionId, { multiArchiveTag: 'auto' });
    await assert.rejects(opentok.addArchiveStream(auto.id, streamId), ArchiveError);
    await opentok.stopArchive(archive.id);
    await opentok.stopArchive(auto.id);
    await Promise.all([alice.close(), bob.close()]);
  });
});
