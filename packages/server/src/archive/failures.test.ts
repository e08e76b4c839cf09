import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import jwt from 'jsonwebtoken';
import {
  FfmpegTestRecorder,
  spawnParlor,
  startTestServer,
  type TestServer,
  type TestServerOptions,
} from '@parlor/server/testing';
import { main } from '../cli.js';
import { waitFor } from '../waitFor.js';

// Archives that lied or stuck (issue 17, items 9–11): missing ffmpeg or ffprobe, a full disk.

interface Archive {
  id: string;
  status: string;
  reason: string;
  duration: number;
  url: string | null;
}

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/**
 * A folder holding links to the system's ffmpeg and ffprobe, to take away, to put a fake ffmpeg
 * in place of (a shell script run for anything but `-version`), and to put back.
 */
function toolsDir(): {
  ffmpeg: string;
  ffprobe: string;
  remove(tool: 'ffmpeg' | 'ffprobe'): void;
  fakeFfmpeg(script: string): void;
  restore(): void;
} {
  const dir = tempDir('parlor-tools-');
  const paths = { ffmpeg: join(dir, 'ffmpeg'), ffprobe: join(dir, 'ffprobe') };
  const restore = (): void => {
    for (const tool of ['ffmpeg', 'ffprobe'] as const)
      if (!existsSync(paths[tool])) symlinkSync(`/usr/bin/${tool}`, paths[tool]);
  };
  restore();
  return {
    ...paths,
    remove: (tool) => {
      unlinkSync(paths[tool]);
    },
    fakeFfmpeg: (script) => {
      unlinkSync(paths.ffmpeg);
      writeFileSync(
        paths.ffmpeg,
        `#!/bin/sh\n[ "$1" = -version ] && exec /usr/bin/ffmpeg -version\n${script}\n`,
        { mode: 0o755 },
      );
    },
    restore,
  };
}

async function archiving(options: TestServerOptions & { dataDir?: string }): Promise<TestServer> {
  const server = await startTestServer({
    ...options,
    env: { PARLOR_ARCHIVE_IDLE_TIMEOUT: '0.5', ...options.env },
    parts: {
      recordStream: new FfmpegTestRecorder().record,
      archiveRescanIntervalMs: 200,
      webhookRetry: { retryBaseMs: 100, retryMaxMs: 400 },
      ...options.parts,
    },
  });
  cleanups.push(() => server.close());
  return server;
}

async function json<T>(response: Promise<Response>): Promise<T> {
  const answer = await response;
  assert.ok(answer.ok, `HTTP ${answer.status}: ${await answer.clone().text()}`);
  return (await answer.json()) as T;
}

async function archiveWhen(
  parlor: TestServer,
  id: string,
  status: string | readonly string[],
  timeoutMs = 20_000,
): Promise<Archive> {
  const wanted = typeof status === 'string' ? [status] : status;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const archive = await json<Archive>(parlor.rest('GET', `/archive/${id}`));
    if (wanted.includes(archive.status)) return archive;
    if (Date.now() > deadline)
      throw new Error(`archive ${id} is ${archive.status} (${archive.reason}), not ${wanted.join(' or ')}`);
    await sleep(100);
  }
}

/** Records a routed session's one stream for `ms`; returns the archive's ID and the session's clients. */
async function record(parlor: TestServer, ms: number): Promise<{ id: string; close: () => Promise<void> }> {
  const { sessionId, alice, bob } = await parlor.liveSession({ mediaMode: 'routed' });
  const { id } = await json<Archive>(parlor.rest('POST', '/archive', { sessionId }));
  await sleep(ms);
  return {
    id,
    close: async () => {
      await Promise.all([alice.close(), bob.close()]);
    },
  };
}

/** The duration of a downloaded archive, as ffprobe reads it, in seconds. */
async function probedDuration(parlor: TestServer, archive: Archive): Promise<number> {
  const file = join(parlor.dataDir, `downloaded-${archive.id}.mp4`);
  writeFileSync(file, Buffer.from(await (await fetch(archive.url ?? '')).arrayBuffer()));
  const out = execFileSync('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=duration',
    '-of',
    'csv=p=0',
    file,
  ]);
  return Number(out.toString().trim());
}

/** The recordings kept in the data directory for an archive. */
function keptRecordings(parlor: TestServer, id: string): string[] {
  const folder = join(parlor.dataDir, 'recordings', id);
  return existsSync(folder) ? readdirSync(folder).filter((name) => /\.(webm|mkv)$/.test(name)) : [];
}

/**
 * Waits until the archive's recordings hold some media (a cluster past the header): a loaded
 * machine may take seconds to start a recorder.
 */
async function recordingWritten(parlor: TestServer, id: string, timeoutMs = 30_000): Promise<void> {
  const folder = join(parlor.dataDir, 'recordings', id);
  const deadline = Date.now() + timeoutMs;
  while (!keptRecordings(parlor, id).some((name) => statSync(join(folder, name)).size > 8 * 1024)) {
    if (Date.now() > deadline) throw new Error(`no media of archive ${id} reached the disk`);
    await sleep(100);
  }
}

/** `parlor archive retry ID` on the data directory; resolves to its exit code and output. */
async function retryCommand(
  dataDir: string,
  id: string,
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(
    ['archive', 'retry', id, '--data-dir', dataDir],
    { PARLOR_TURN: 'off' },
    {
      out: (text) => (out += text),
      err: (text) => (err += text),
    },
  );
  return { code, out, err };
}

/** A local receiver of archive callbacks. */
async function callbackReceiver(): Promise<{ url: string; statuses: string[]; reasons: string[] }> {
  const statuses: string[] = [];
  const reasons: string[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const archive = JSON.parse(Buffer.concat(chunks).toString()) as Archive;
      statuses.push(archive.status);
      reasons.push(archive.reason);
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, statuses, reasons };
}

/** Mounts a tmpfs of `size` on `dir`, unmounted at the end; false when mounting is not permitted. */
function mountTmpfs(dir: string, size: string): boolean {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch {
    return false;
  }
  cleanups.push(() => {
    execFileSync('umount', ['-l', dir]);
  });
  return true;
}

/** Fills the file system of `dir` with one file, `leave` bytes short of full. */
function fill(dir: string, leave = 0): string {
  const file = join(dir, 'filler');
  const free = Number(execFileSync('df', ['--output=avail', '-B1', dir]).toString().trim().split('\n')[1]);
  try {
    writeFileSync(file, Buffer.alloc(Math.max(0, free - leave)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  }
  return file;
}

const canMount = (() => {
  const probe = mkdtempSync(join(tmpdir(), 'parlor-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe]);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
})();
const noMount = canMount ? false : 'mounting a tmpfs is not permitted here (run the tests as root)';

describe('archive tools', () => {
  it('a server given --ffmpeg without ffprobe beside it refuses to start, naming ffprobe', async () => {
    const tools = toolsDir();
    tools.remove('ffprobe');
    await assert.rejects(
      startTestServer({ env: { PARLOR_FFMPEG: tools.ffmpeg }, dataDir: tempDir('parlor-noprobe-') }),
      (error: Error) =>
        error.message.includes(`--ffmpeg ${tools.ffmpeg}`) && error.message.includes(tools.ffprobe),
    );
  });

  it('with no ffmpeg on the PATH archiving is off with one warning, and an archive start answers 503 saying why', async () => {
    const dataDir = tempDir('parlor-noffmpeg-');
    const emptyPath = tempDir('parlor-empty-path-');
    const parlor = await spawnParlor({ dataDir, env: { PATH: emptyPath } });
    cleanups.push(async () => {
      await parlor.stop('SIGTERM');
    });
    const apiKey = /API key\s+(\S+)/.exec(parlor.banner)?.[1] ?? '';
    const apiSecret = /API secret\s+(\S+)/.exec(parlor.banner)?.[1] ?? '';
    const now = Math.floor(Date.now() / 1000);
    const auth = jwt.sign({ iss: apiKey, ist: 'project', iat: now, exp: now + 300 }, apiSecret);
    const headers = { 'X-OPENTOK-AUTH': auth, Accept: 'application/json' };
    const created = await fetch(`${parlor.url}/session/create`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'p2p.preference=disabled&archiveMode=manual',
    });
    const [{ session_id: sessionId }] = (await created.json()) as [{ session_id: string }];
    const started = await fetch(`${parlor.url}/v2/project/${apiKey}/archive`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({ sessionId }),
    });
    assert.equal(started.status, 503);
    const { message } = (await started.json()) as { message: string };
    assert.match(message, /cannot record archives: ffmpeg could not run/);
    await sleep(100);
    const logged = parlor.log();
    assert.equal(logged.split('archiving is off').length - 1, 1, logged);
  });

  it('an archive whose recording ffprobe cannot read is failed, not available, and parlor archive retry makes it once ffprobe is back', async () => {
    const tools = toolsDir();
    const parlor = await archiving({ env: { PARLOR_FFMPEG: tools.ffmpeg } });
    const receiver = await callbackReceiver();
    await parlor.server.callbacks.setArchiveCallbackUrl(parlor.apiKey, receiver.url);
    const { id, close } = await record(parlor, 1500);
    tools.remove('ffprobe');
    await parlor.rest('POST', `/archive/${id}/stop`);
    const failed = await archiveWhen(parlor, id, 'failed');
    assert.match(
      failed.reason,
      /^system failure: the recording of stream \S+ cannot be read: \S*ffprobe could not run: spawn \S+ ENOENT$/,
    );
    assert.equal(failed.url, null);
    assert.equal(keptRecordings(parlor, id).length, 1);

    const early = await retryCommand(parlor.dataDir, 'not-an-archive');
    assert.equal(early.code, 2);
    tools.restore();
    const retried = await retryCommand(parlor.dataDir, id);
    assert.equal(retried.code, 0, retried.err);
    const available = await archiveWhen(parlor, id, 'available');
    const duration = await probedDuration(parlor, available);
    assert.ok(duration > 1 && duration < 4, `duration ${duration}`);
    await waitFor(() => receiver.statuses.length >= 4, 'the callback of its retry', 10_000);
    await sleep(300);
    assert.deepEqual(receiver.statuses, ['started', 'stopped', 'failed', 'available']);
    assert.equal((await retryCommand(parlor.dataDir, id)).code, 2, 'an available archive is not retried');
    await close();
  });

  it('ffmpeg missing at composition fails the archive with its recordings kept; a restart with ffmpeg back makes it available, and it plays', async () => {
    const tools = toolsDir();
    const parlor = await archiving({ env: { PARLOR_FFMPEG: tools.ffmpeg } });
    const { id, close } = await record(parlor, 1500);
    tools.remove('ffmpeg');
    await parlor.rest('POST', `/archive/${id}/stop`);
    const failed = await archiveWhen(parlor, id, 'failed');
    assert.match(failed.reason, /^system failure: \S*ffmpeg could not run: spawn \S+ ENOENT$/);
    assert.equal(keptRecordings(parlor, id).length, 1);
    await close();
    tools.restore();
    const restarted = await parlor.restart();
    cleanups.push(() => restarted.close());
    const available = await archiveWhen(restarted, id, 'available');
    const duration = await probedDuration(restarted, available);
    assert.ok(duration > 1 && duration < 4, `duration ${duration}`);
    assert.deepEqual(keptRecordings(restarted, id), [], 'the recordings go once the archive is made');
  });
});

describe('composition that fails or never ends', () => {
  it('an ffmpeg that never ends is killed at the bound the archive duration gives, the archive fails saying so, with its recordings kept', async () => {
    const tools = toolsDir();
    const pidFile = join(tempDir('parlor-stuck-'), 'pid');
    const parlor = await archiving({
      env: { PARLOR_FFMPEG: tools.ffmpeg },
      parts: { archiveCompositionBound: { floorMs: 1000, perRecordedMs: 1 } },
    });
    const receiver = await callbackReceiver();
    await parlor.server.callbacks.setArchiveCallbackUrl(parlor.apiKey, receiver.url);
    const { id, close } = await record(parlor, 1500);
    tools.fakeFfmpeg(`echo $$ > ${pidFile}; exec sleep 600`);
    await parlor.rest('POST', `/archive/${id}/stop`);
    const failed = await archiveWhen(parlor, id, 'failed');
    assert.match(
      failed.reason,
      /^system failure: composition took longer than \d+\.\d s, its bound for an archive of \d+\.\d s: ffmpeg was killed$/,
    );
    assert.equal(keptRecordings(parlor, id).length, 1);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // Killed, it is gone once reaped, which may come just after the archive's failure is stored.
    const gone = (): boolean => {
      try {
        process.kill(pid, 0);
        return false;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'ESRCH';
      }
    };
    await waitFor(gone, 'the stuck ffmpeg to be gone', 5000);
    // Its callback follows through the callbacks' queue, once: none comes after it.
    await waitFor(() => receiver.statuses.length >= 3, 'the callback of its failure', 10_000);
    await sleep(300);
    assert.deepEqual(receiver.statuses, ['started', 'stopped', 'failed']);
    await close();
  });

  it('ffmpeg exiting non-zero at composition fails the archive with the end of what it printed', async () => {
    const tools = toolsDir();
    const parlor = await archiving({ env: { PARLOR_FFMPEG: tools.ffmpeg } });
    const { id, close } = await record(parlor, 1000);
    tools.fakeFfmpeg('echo "Error while filtering: Cannot allocate memory" >&2; exit 187');
    await parlor.rest('POST', `/archive/${id}/stop`);
    const failed = await archiveWhen(parlor, id, 'failed');
    assert.equal(
      failed.reason,
      'system failure: ffmpeg exited with 187: Error while filtering: Cannot allocate memory',
    );
    assert.equal(keptRecordings(parlor, id).length, 1);
    await close();
  });
});

describe('a full disk', () => {
  it(
    'the recorder failing to write ends the archive with the reason: made from what reached the disk, or failed with its recordings kept until parlor archive retry makes it once space is freed',
    { skip: noMount },
    async () => {
      const dataDir = tempDir('parlor-full-');
      const recordings = join(dataDir, 'recordings');
      assert.ok(mountTmpfs(recordings, '1m'));
      // Room for about 4 s of recording: usually less than the composed MP4 then needs.
      const filler = fill(recordings, 160 * 1024);
      const parlor = await archiving({ dataDir });
      const receiver = await callbackReceiver();
      await parlor.server.callbacks.setArchiveCallbackUrl(parlor.apiKey, receiver.url);
      const { sessionId, alice, bob } = await parlor.liveSession({ mediaMode: 'routed' });
      const { id } = await json<Archive>(parlor.rest('POST', '/archive', { sessionId }));
      // Stopped at the write failure; then made, or failed when there was no room left for the
      // output (which of the two depends on how much was recorded before the disk filled).
      const ended = await archiveWhen(parlor, id, ['failed', 'available']);
      // Failed: its output could not be written whole (ffmpeg may even end well with an MP4
      // that has no index: the probe of the output catches it).
      assert.match(ended.reason, /^system failure: /);
      // The callback of the end follows the stored status through the callbacks' queue.
      await waitFor(() => receiver.statuses.length >= 3, 'the callback of its end', 10_000);
      assert.deepEqual(receiver.statuses.slice(0, 3), ['started', 'stopped', ended.status]);
      assert.match(
        receiver.reasons[1] ?? '',
        /^system failure: writing the recording of stream \S+ failed: .*No space left on device/,
      );
      // It records no more: stop answers OpenTok's 409, with the status it has.
      const stop = await parlor.rest('POST', `/archive/${id}/stop`);
      assert.equal(stop.status, 409);
      assert.match(((await stop.json()) as { message: string }).message, /its status is (failed|available)/);
      if (ended.status === 'failed') {
        assert.equal(keptRecordings(parlor, id).length, 1);
        unlinkSync(filler);
        assert.equal((await retryCommand(parlor.dataDir, id)).code, 0);
      }
      const available = await archiveWhen(parlor, id, 'available');
      assert.ok((await probedDuration(parlor, available)) > 0.5);
      await Promise.all([alice.close(), bob.close()]);
    },
  );

  it(
    'a store that cannot be written does not leave an archive started: stop answers 200 stopped, and it is made once space is freed',
    { skip: noMount },
    async () => {
      const dataDir = tempDir('parlor-full-store-');
      assert.ok(mountTmpfs(dataDir, '4m'));
      const parlor = await archiving({ dataDir });
      const { id, close } = await record(parlor, 1000);
      await recordingWritten(parlor, id);
      const filler = fill(dataDir);
      const stop = await parlor.rest('POST', `/archive/${id}/stop`);
      assert.equal(stop.status, 200);
      assert.equal(((await stop.json()) as Archive).status, 'stopped');
      await sleep(500);
      unlinkSync(filler);
      const available = await archiveWhen(parlor, id, 'available');
      assert.ok((await probedDuration(parlor, available)) > 0.3);
      const again = await parlor.rest('POST', `/archive/${id}/stop`);
      assert.equal(again.status, 409);
      await close();
    },
  );
});

describe('a publisher offering Opus at a clock rate other than 48000', () => {
  const chromiumOffer = readFileSync(
    new URL('../media/sdp/fixtures/chromium-publisher-offer.sdp', import.meta.url),
    'utf8',
  );

  it('is refused by the router with a negotiation error when Opus is all it offers, and its audio is not negotiated beside video', async () => {
    const parlor = await archiving({});
    const { alice, bob, streamId } = await parlor.liveSession({ mediaMode: 'routed' });
    const upstream = await alice.nextEvent('subscriptionCreated', (data) => data.streamId === streamId);
    const [audioOnly] = chromiumOffer.replace('opus/48000/2', 'opus/0/2').split(/(?=^m=video)/m);
    await assert.rejects(
      alice.request('offer', { subscriptionId: upstream.subscriptionId, sdp: audioOnly ?? '' }),
      (error: Error) =>
        /the router cannot take this offer: the offer has no track the router can forward/.test(
          error.message,
        ),
    );

    const { streamId: second } = (
      await alice.request('publish', { name: 'Second', hasAudio: true, hasVideo: true })
    ).stream;
    const next = await alice.nextEvent('subscriptionCreated', (data) => data.streamId === second);
    await alice.request('offer', {
      subscriptionId: next.subscriptionId,
      sdp: chromiumOffer.replace('opus/48000/2', 'opus/0/2'),
    });
    const { sdp } = await alice.nextEvent('answer', (data) => data.streamId === second);
    assert.match(sdp, /^m=audio 0 /m);
    assert.match(sdp, /^m=video [1-9]\d* /m);
    await Promise.all([alice.close(), bob.close()]);
  });
});
