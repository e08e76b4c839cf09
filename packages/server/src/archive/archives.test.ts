import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenTok from 'opentok';
import { FfmpegTestRecorder, fromCallback, startTestServer, type TestServer } from '@parlor/server/testing';

// Archiving through the official `opentok` package against a Parlor whose recorder is an ffmpeg
// writing a test pattern per stream (FfmpegTestRecorder).

let parlor: TestServer;
let opentok: OpenTok;
const scratch = mkdtempSync(join(tmpdir(), 'parlor-archives-'));

before(async () => {
  parlor = await startTestServer({
    env: { PARLOR_ARCHIVE_IDLE_TIMEOUT: '0.5' },
    parts: { recordStream: new FfmpegTestRecorder().record },
  });
  opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
});
after(async () => {
  await parlor.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

const startArchive = (sessionId: string, options: OpenTok.ArchiveOptions = {}): Promise<OpenTok.Archive> =>
  fromCallback((done) => {
    opentok.startArchive(sessionId, options, (error, archive) => {
      done(error, archive as OpenTok.Archive);
    });
  });
const stopArchive = (id: string): Promise<OpenTok.Archive> =>
  fromCallback((done) => {
    opentok.stopArchive(id, done);
  });
const getArchive = (id: string): Promise<OpenTok.Archive> =>
  fromCallback((done) => {
    opentok.getArchive(id, done);
  });

/** Polls the archive until it reaches the status. */
async function archiveWhen(id: string, status: string, timeoutMs = 30_000): Promise<OpenTok.Archive> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const archive = await getArchive(id);
    if (archive.status === status) return archive;
    if (Date.now() > deadline) throw new Error(`archive ${id} is ${archive.status}, not ${status}`);
    await sleep(100);
  }
}

async function download(url: string, file: string): Promise<Response> {
  const response = await fetch(url);
  writeFileSync(file, Buffer.from(await response.arrayBuffer()));
  return response;
}

function probe(file: string): {
  streams: { codec_type: string; codec_name: string; width?: number; height?: number }[];
  format: { duration: string };
} {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file]);
  return JSON.parse(out.toString()) as ReturnType<typeof probe>;
}

async function errorOf(response: Response): Promise<{ status: number; message: string }> {
  const body = (await response.json()) as { code: number; message: string };
  assert.equal(body.code, response.status);
  return { status: response.status, message: body.message };
}

describe('archiving with the official opentok SDK', () => {
  it('starts, gets, lists and stops a composed archive of a routed session, which becomes available as an MP4', async () => {
    const { sessionId, alice, bob } = await parlor.liveSession({ mediaMode: 'routed' });
    const started = await startArchive(sessionId, { name: 'Weekly' });
    assert.equal(started.status, 'started');
    assert.match(started.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(started.name, 'Weekly');
    assert.equal(started.reason, '');
    assert.equal(started.sessionId, sessionId);
    assert.equal(started.partnerId, Number(parlor.apiKey));
    assert.equal(started.projectId, Number(parlor.apiKey));
    assert.equal(started.outputMode, 'composed');
    assert.equal(started.resolution, '640x480');
    assert.equal(started.streamMode, 'auto');
    assert.deepEqual(started.streams, []);
    assert.equal(started.url, null);
    assert.equal(started.event, 'archive');
    for (const field of ['createdAt', 'updatedAt', 'duration', 'size'] as const) {
      assert.ok(Number.isInteger(started[field]), field);
    }
    assert.deepEqual(await alice.nextEvent('archiveStarted'), { id: started.id, name: 'Weekly' });
    assert.deepEqual(await bob.nextEvent('archiveStarted'), { id: started.id, name: 'Weekly' });

    // A client that connects while it records is told in its connect result.
    const carol = await parlor.connectClient(sessionId);
    assert.deepEqual(carol.session?.archives, [{ id: started.id, name: 'Weekly' }]);

    assert.equal((await getArchive(started.id)).status, 'started');
    const [listed, count] = await new Promise<[OpenTok.Archive[], number]>((resolve, reject) => {
      opentok.listArchives({ sessionId }, (error, archives, total) => {
        if (error) reject(error);
        else resolve([archives ?? [], total ?? -1]);
      });
    });
    assert.equal(count, 1);
    assert.equal(listed[0]?.id, started.id);

    await sleep(2500);
    const stopped = await stopArchive(started.id);
    assert.equal(stopped.status, 'stopped');
    assert.equal(stopped.reason, 'user initiated');
    assert.ok(stopped.duration >= 2 && stopped.duration <= 4, `duration ${stopped.duration}`);
    assert.deepEqual(await alice.nextEvent('archiveStopped'), { id: started.id });

    const available = await archiveWhen(started.id, 'available');
    assert.ok(available.size > 10_000, `size ${available.size}`);
    assert.ok(available.url?.startsWith(`${parlor.server.publicUrl}/`));
    const file = join(scratch, 'composed.mp4');
    const response = await download(available.url ?? '', file);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'video/mp4');
    assert.equal(Number(response.headers.get('content-length')), available.size);
    const probed = probe(file);
    const video = probed.streams.find((s) => s.codec_type === 'video');
    assert.equal(video?.codec_name, 'h264');
    assert.deepEqual([video.width, video.height], [640, 480]);
    assert.equal(probed.streams.find((s) => s.codec_type === 'audio')?.codec_name, 'aac');
    assert.ok(Math.abs(Number(probed.format.duration) - stopped.duration) <= 1, probed.format.duration);
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });

  it('refuses a relayed session with 409, an unknown or empty session with 404', async () => {
    const relayed = await parlor.liveSession();
    const refused = await parlor.rest('POST', '/archive', { sessionId: relayed.sessionId });
    assert.equal((await errorOf(refused)).status, 409);
    await assert.rejects(startArchive(relayed.sessionId), /Unexpected response|409/);

    await assert.rejects(startArchive('1_nosuchsession'), /Session not found/);
    // OpenTok archives only sessions with clients connected.
    const empty = await parlor.createSession({ mediaMode: 'routed' });
    const answer = await errorOf(await parlor.rest('POST', '/archive', { sessionId: empty }));
    assert.equal(answer.status, 404);
    assert.match(answer.message, /no clients are connected/);
    await Promise.all([relayed.alice.close(), relayed.bob.close()]);
  });

  it('refuses a second archive of a session with 409 unless each has its own multiArchiveTag; stopping twice is 409', async () => {
    const { sessionId, alice, bob } = await parlor.liveSession({ mediaMode: 'routed' });
    const first = await startArchive(sessionId);
    const second = await parlor.rest('POST', '/archive', { sessionId });
    assert.equal(second.status, 409);
    assert.match((await errorOf(second)).message, /already being archived/);
    const tagged = await startArchive(sessionId, { multiArchiveTag: 'a' });
    const sameTag = await parlor.rest('POST', '/archive', { sessionId, multiArchiveTag: 'a' });
    assert.equal(sameTag.status, 409);
    const otherTag = await startArchive(sessionId, { multiArchiveTag: 'b', outputMode: 'individual' });
    assert.equal(otherTag.status, 'started');
    assert.ok(!('multiArchiveTag' in tagged));

    await stopArchive(first.id);
    const again = await parlor.rest('POST', `/archive/${first.id}/stop`);
    assert.equal(again.status, 409);
    await assert.rejects(stopArchive(first.id), /not being recorded/);
    await stopArchive(tagged.id);
    await stopArchive(otherTag.id);
    await assert.rejects(stopArchive('00000000-0000-4000-8000-000000000000'), /Archive not found/);
    await assert.rejects(getArchive('00000000-0000-4000-8000-000000000000'), /Archive not found/);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('answers invalid start requests with 400 and starts nothing', async () => {
    const { sessionId, alice, bob } = await parlor.liveSession({ mediaMode: 'routed' });
    const cases: [object, RegExp][] = [
      [{}, /sessionId/],
      [{ sessionId, hasAudio: false, hasVideo: false }, /cannot both be false/],
      [{ sessionId, hasAudio: 'yes' }, /hasAudio must be true or false/],
      [{ sessionId, outputMode: 'mixed' }, /outputMode must be one of composed, individual/],
      [{ sessionId, outputMode: 'individual', resolution: '640x480' }, /resolution is only for composed/],
      [{ sessionId, resolution: '800x600' }, /resolution must be one of/],
      [{ sessionId, layout: { type: 'grid' } }, /layout.type must be one of/],
      [{ sessionId, layout: { type: 'custom' } }, /stylesheet is required/],
      [{ sessionId, layout: { type: 'pip', stylesheet: 'x' } }, /stylesheet is only for the custom/],
      [
        { sessionId, layout: { type: 'pip', screenshareType: 'pip' } },
        /screenshareType is only for the bestFit/,
      ],
      [{ sessionId, streamMode: 'sometimes' }, /streamMode must be one of auto, manual/],
      [{ sessionId, name: 'x'.repeat(81) }, /name must be at most 80/],
      [{ sessionId, maxBitrate: 50 }, /maxBitrate must be a whole number/],
      [{ sessionId, maxBitrate: 200_000, quantizationParameter: 20 }, /exclude each other/],
      [{ sessionId, multiArchiveTag: '' }, /multiArchiveTag must not be empty/],
    ];
    for (const [body, message] of cases) {
      const answer = await errorOf(await parlor.rest('POST', '/archive', body));
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.match(answer.message, message, JSON.stringify(body));
    }
    const listed = (await (await parlor.rest('GET', `/archive?sessionId=${sessionId}`)).json()) as {
      count: number;
    };
    assert.equal(listed.count, 0);
    for (const query of ['count=1001', 'count=0', 'offset=-1', 'count=ten']) {
      assert.equal((await parlor.rest('GET', `/archive?${query}`)).status, 400, query);
    }
    await Promise.all([alice.close(), bob.close()]);
  });

  it('deletes only available archives, with 204, and the deleted archive leaves the list', async () => {
    const { sessionId, alice, bob } = await parlor.liveSession({ mediaMode: 'routed' });
    const archive = await startArchive(sessionId, { outputMode: 'individual' });
    assert.equal((await parlor.rest('DELETE', `/archive/${archive.id}`)).status, 409);
    await sleep(1000);
    await stopArchive(archive.id);
    const available = await archiveWhen(archive.id, 'available');
    const response = await parlor.rest('DELETE', `/archive/${archive.id}`);
    assert.equal(response.status, 204);
    assert.equal((await getArchive(archive.id)).status, 'deleted');
    const listed = (await (await parlor.rest('GET', `/archive?sessionId=${sessionId}`)).json()) as {
      count: number;
    };
    assert.equal(listed.count, 0);
    assert.equal((await fetch(available.url ?? '')).status, 404);
    await assert.rejects(
      fromCallback((done) => {
        opentok.deleteArchive(archive.id, done);
      }),
      /Unexpected response|409/,
    );
    await Promise.all([alice.close(), bob.close()]);
  });

  it('records only the streams added in manual stream mode, into an individual ZIP with OpenTok’s manifest', async () => {
    const { sessionId, alice, bob, streamId } = await parlor.liveSession({ mediaMode: 'routed' });
    const { stream: other } = await bob.request('publish', { name: 'Bob', hasAudio: true, hasVideo: true });
    const archive = await startArchive(sessionId, { outputMode: 'individual', streamMode: 'manual' });
    assert.equal(archive.streamMode, 'manual');
    assert.deepEqual(archive.streams, []);
    await fromCallback((done) => {
      opentok.addArchiveStream(archive.id, streamId, { hasAudio: true, hasVideo: false }, done);
    });
    assert.deepEqual((await getArchive(archive.id)).streams, [{ streamId, hasAudio: true, hasVideo: false }]);
    await sleep(600);
    await fromCallback((done) => {
      opentok.addArchiveStream(archive.id, streamId, { hasAudio: true, hasVideo: true }, done);
    });
    assert.deepEqual((await getArchive(archive.id)).streams, [{ streamId, hasAudio: true, hasVideo: true }]);
    const unknown = await parlor.rest('PATCH', `/archive/${archive.id}/streams`, { addStream: 'nope' });
    assert.equal(unknown.status, 404);
    const both = await parlor.rest('PATCH', `/archive/${archive.id}/streams`, {
      addStream: streamId,
      removeStream: streamId,
    });
    assert.equal(both.status, 400);
    await sleep(1500);
    await fromCallback((done) => {
      opentok.removeArchiveStream(archive.id, streamId, done);
    });
    assert.deepEqual((await getArchive(archive.id)).streams, []);
    await stopArchive(archive.id);
    const available = await archiveWhen(archive.id, 'available');

    const zip = join(scratch, 'individual.zip');
    const response = await download(available.url ?? '', zip);
    assert.equal(response.headers.get('content-type'), 'application/zip');
    const names = execFileSync('unzip', ['-Z1', zip]).toString().trim().split('\n').sort();
    // The stream was recorded twice (audio only, then with video): two files, none of Bob's.
    assert.deepEqual(names, [`${archive.id}.json`, `${streamId}-2.webm`, `${streamId}.webm`].sort());
    assert.ok(!names.some((name) => name.includes(other.streamId)));
    const manifest = JSON.parse(execFileSync('unzip', ['-p', zip, `${archive.id}.json`]).toString()) as {
      id: string;
      sessionId: string;
      name: string | null;
      createdAt: number;
      files: {
        filename: string;
        streamId: string;
        connectionData: string;
        size: number;
        startTimeOffset: number;
        stopTimeOffset: number;
      }[];
    };
    assert.equal(manifest.id, archive.id);
    assert.equal(manifest.sessionId, sessionId);
    assert.equal(manifest.name, null);
    assert.equal(manifest.createdAt, archive.createdAt);
    assert.equal(manifest.files.length, 2);
    const [audioOnly, withVideo] = manifest.files;
    assert.ok(audioOnly && withVideo);
    assert.equal(audioOnly.streamId, streamId);
    assert.ok(audioOnly.size > 0);
    assert.ok(audioOnly.stopTimeOffset <= withVideo.startTimeOffset + 200);
    assert.ok(withVideo.stopTimeOffset - withVideo.startTimeOffset >= 1000);
    execFileSync('unzip', ['-o', '-q', zip, '-d', join(scratch, 'unzipped')]);
    const first = probe(join(scratch, 'unzipped', audioOnly.filename));
    assert.deepEqual(
      first.streams.map((s) => s.codec_name),
      ['opus'],
    );
    const second = probe(join(scratch, 'unzipped', withVideo.filename));
    assert.deepEqual(second.streams.map((s) => s.codec_name).sort(), ['opus', 'vp8']);

    // An archive in auto stream mode has no streams to change.
    const auto = await startArchive(sessionId);
    await assert.rejects(
      fromCallback((done) => {
        opentok.addArchiveStream(auto.id, streamId, {}, done);
      }),
      /Unsupported Stream Mode/,
    );
    assert.equal(
      (await parlor.rest('PATCH', `/archive/${auto.id}/streams`, { removeStream: streamId })).status,
      405,
    );
    await stopArchive(auto.id);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('changes the layout of a recording composed archive, and refuses it for an individual or stopped one', async () => {
    const { sessionId, alice, bob } = await parlor.liveSession({ mediaMode: 'routed' });
    const composed = await startArchive(sessionId, { layout: { type: 'bestFit' } });
    const individual = await startArchive(sessionId, { outputMode: 'individual', multiArchiveTag: 'i' });
    await fromCallback((done) => {
      opentok.setArchiveLayout(composed.id, 'pip', null, done);
    });
    const put = await parlor.rest('PUT', `/archive/${composed.id}/layout`, { type: 'verticalPresentation' });
    assert.equal(put.status, 200);
    assert.equal((await parlor.rest('PUT', `/archive/${composed.id}/layout`, { type: 'nope' })).status, 400);
    assert.equal((await parlor.rest('PUT', `/archive/${individual.id}/layout`, { type: 'pip' })).status, 400);
    // Some media to compose: ffmpeg, the test's recorder, can be slow to start on a busy machine.
    await sleep(1500);
    await stopArchive(composed.id);
    await stopArchive(individual.id);
    assert.equal((await parlor.rest('PUT', `/archive/${composed.id}/layout`, { type: 'pip' })).status, 409);
    assert.equal(
      (await parlor.rest('PUT', '/archive/00000000-0000-4000-8000-000000000000/layout', { type: 'pip' }))
        .status,
      404,
    );
    await archiveWhen(composed.id, 'available');
    await Promise.all([alice.close(), bob.close()]);
  });

  it('archives a session in archive mode always when a stream is published, and stops once nobody is left', async () => {
    const sessionId = await parlor.createSession({
      mediaMode: 'routed',
      archiveMode: 'always',
      archiveName: 'Auto',
      archiveResolution: '1280x720',
    });
    const alice = await parlor.connectClient(sessionId);
    const none = (await (await parlor.rest('GET', `/archive?sessionId=${sessionId}`)).json()) as {
      count: number;
    };
    assert.equal(none.count, 0);
    await alice.request('publish', { name: 'Camera', hasAudio: true, hasVideo: true });
    const { id, name } = await alice.nextEvent('archiveStarted');
    assert.equal(name, 'Auto');
    const archive = await getArchive(id);
    assert.deepEqual([archive.status, archive.resolution, archive.name], ['started', '1280x720', 'Auto']);
    // A manual start without its own tag collides with the automatic archive.
    assert.equal((await parlor.rest('POST', '/archive', { sessionId })).status, 409);
    await sleep(1500);
    await alice.close();
    const stopped = await archiveWhen(id, 'stopped', 5000).catch(() => getArchive(id));
    assert.equal(stopped.reason, 'session ended');
    const available = await archiveWhen(id, 'available');
    assert.ok(available.duration >= 1);
  });
});

describe('archive download links', () => {
  it('serve byte ranges, and refuse a forged or tampered link with 403', async () => {
    const { sessionId, alice, bob } = await parlor.liveSession({ mediaMode: 'routed' });
    const archive = await startArchive(sessionId);
    await sleep(1000);
    await stopArchive(archive.id);
    const { url, size } = await archiveWhen(archive.id, 'available');
    assert.ok(url);
    const ranged = await fetch(url, { headers: { Range: 'bytes=0-99' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 0-99/${size}`);
    assert.equal((await ranged.arrayBuffer()).byteLength, 100);
    const tail = await fetch(url, { headers: { Range: 'bytes=-10' } });
    assert.equal((await tail.arrayBuffer()).byteLength, 10);

    const signed = new URL(url);
    const forged = new URL(url);
    forged.searchParams.set('signature', 'A'.repeat(43));
    assert.equal((await fetch(forged)).status, 403);
    const extended = new URL(url);
    extended.searchParams.set('expires', String(Number(signed.searchParams.get('expires')) + 3600));
    assert.equal((await fetch(extended)).status, 403);
    const unsigned = new URL(url);
    unsigned.search = '';
    assert.equal((await fetch(unsigned)).status, 403);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('expire after the configured lifetime', async () => {
    const shortLived = await startTestServer({
      env: { PARLOR_ARCHIVE_LINK_LIFETIME: '1' },
      parts: { recordStream: new FfmpegTestRecorder().record },
    });
    try {
      const { sessionId, alice, bob } = await shortLived.liveSession({ mediaMode: 'routed' });
      const started = (await (await shortLived.rest('POST', '/archive', { sessionId })).json()) as {
        id: string;
      };
      await sleep(500);
      await shortLived.rest('POST', `/archive/${started.id}/stop`);
      await Promise.all([alice.close(), bob.close()]);
      const deadline = Date.now() + 30_000;
      let archive: { status: string; url: string | null };
      do {
        await sleep(100);
        archive = (await (await shortLived.rest('GET', `/archive/${started.id}`)).json()) as typeof archive;
        if (archive.status === 'failed' || Date.now() > deadline)
          assert.fail(`archive ${started.id} is ${archive.status}, with no download link`);
      } while (archive.url === null);
      const url = archive.url;
      assert.equal((await fetch(url)).status, 200);
      await sleep(2100);
      const expired = await fetch(url);
      assert.equal(expired.status, 403);
      assert.match(((await expired.json()) as { message: string }).message, /expired/);
    } finally {
      await shortLived.dispose();
    }
  });
});
