import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { recoverRecording } from './recoverRecording.js';
import { StreamRecorder, type RecordingResult } from './StreamRecorder.js';
import type { RecordingTrack } from './TrackRecorder.js';
import { decodeErrors, probe } from './testing/ffprobe.js';
import { makeOpusClip, makeVideoClip } from './testing/mediaFiles.js';
import { audioPayloadType, scheduleStream, videoPayloadType } from './testing/streamSchedule.js';

const childScript = fileURLToPath(new URL('./testing/recordUntilKilled.ts', import.meta.url));
let folder: string;
let clean: RecordingResult;

before(async () => {
  folder = mkdtempSync(join(tmpdir(), 'parlor-recovery-'));
  const [video, audio] = await Promise.all([
    makeVideoClip(folder, 'vp8', { seconds: 3 }),
    makeOpusClip(folder, 3),
  ]);
  const tracks: Record<'audio' | 'video', RecordingTrack> = {
    video: { kind: 'video', codec: 'vp8', payloadType: videoPayloadType, clockRate: 90_000 },
    audio: { kind: 'audio', codec: 'opus', payloadType: audioPayloadType, clockRate: 48_000 },
  };
  const recorder = new StreamRecorder({ path: join(folder, 'clean'), tracks: [tracks.video, tracks.audio] });
  for (const { kind, packet, arrivalMs } of scheduleStream({ video, audio }))
    recorder.push(tracks[kind], packet, arrivalMs);
  clean = await recorder.close();
});

after(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe('recoverRecording', () => {
  it('leaves a cleanly closed recording as it is and returns its duration', async () => {
    const before = readFileSync(clean.path);
    assert.equal(await recoverRecording(clean.path), clean.durationMs);
    assert.ok(before.equals(readFileSync(clean.path)));
  });

  it('makes a file cut anywhere after its header whole again, and ffmpeg reads it before and after', async () => {
    const size = statSync(clean.path).size;
    for (const fraction of [0.45, 0.6, 0.77, 0.999]) {
      const cut = join(folder, `cut-${fraction}.webm`);
      copyFileSync(clean.path, cut);
      truncateSync(cut, Math.floor(size * fraction));
      const asCut = await probe(cut);
      assert.equal(asCut.streams.length, 2, `${fraction}: ffprobe reads the cut file`);

      const durationMs = await recoverRecording(cut);
      assert.ok(durationMs > 0 && durationMs <= clean.durationMs, `${fraction}: ${durationMs} ms`);
      const recovered = await probe(cut);
      assert.ok(Math.abs(recovered.duration * 1000 - durationMs) < 1, `${fraction}: Duration written`);
      assert.ok(Number(recovered.streams[0]?.nb_read_frames) > 0);
      assert.equal(await decodeErrors(cut), '', `${fraction}: decodes cleanly`);

      const once = readFileSync(cut);
      assert.equal(await recoverRecording(cut), durationMs, 'a second recovery finds it complete');
      assert.ok(once.equals(readFileSync(cut)));
    }
  });

  it('keeps only the header of a file cut inside its first cluster', async () => {
    const cut = join(folder, 'cut-first-cluster.webm');
    copyFileSync(clean.path, cut);
    truncateSync(cut, 2000);
    assert.equal(await recoverRecording(cut), 0);
    assert.ok(statSync(cut).size < 1000);
    assert.equal(await recoverRecording(cut), 0);
  });

  it('refuses a file that is not a recording', async () => {
    const path = join(folder, 'not-a-recording.webm');
    writeFileSync(path, 'hello');
    await assert.rejects(recoverRecording(path), { name: 'CorruptRecordingError' });
  });

  it('recovers a recording whose process was killed mid-way, losing at most about a second', async () => {
    const path = join(folder, 'killed');
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', childScript, folder, path],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = once(child, 'exit');
    let fedMs = 0;
    for await (const line of createInterface({ input: child.stdout })) {
      fedMs = Number(line.split(' ')[1]);
      if (fedMs >= 3000) {
        child.kill('SIGKILL');
        break;
      }
    }
    await exited;
    assert.ok(fedMs >= 3000, 'the child recorded until killed');
    const asKilled = await probe(`${path}.webm`);
    // The cluster completed as the kill came may or may not have reached the disk: at least the
    // frames of all but the last second and a half are there.
    const framesAsKilled = Number(asKilled.streams[0]?.nb_read_frames);
    assert.ok(framesAsKilled >= 45, `ffmpeg reads ${framesAsKilled} frames of the file as the kill left it`);

    const durationMs = await recoverRecording(`${path}.webm`);
    // Lost: the cluster being filled (up to 1 s), the reordering window (150 ms), and writes still queued.
    assert.ok(
      durationMs > fedMs - 1500 && durationMs < fedMs + 200,
      `recovered ${durationMs} ms of ${fedMs} fed`,
    );
    const probed = await probe(`${path}.webm`);
    assert.ok(Math.abs(probed.duration * 1000 - durationMs) < 1);
    assert.equal(await decodeErrors(`${path}.webm`), '');
  });
});
