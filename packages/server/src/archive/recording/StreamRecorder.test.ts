import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StreamRecorder, type RecordingResult } from './StreamRecorder.js';
import type { RecordingTrack } from './TrackRecorder.js';
import { decodeErrors, probe } from './testing/ffprobe.js';
import { makeOpusClip, makeVideoClip, type VideoClip, type VideoCodec } from './testing/mediaFiles.js';
import {
  audioPayloadType,
  scheduleStream,
  videoPayloadType,
  type ScheduledPacket,
} from './testing/streamSchedule.js';

const seconds = 4;
let folder: string;
const clips = new Map<VideoCodec, VideoClip>();
let opus: Buffer[];

function videoTrack(codec: VideoCodec): RecordingTrack {
  return { kind: 'video', codec, payloadType: videoPayloadType, clockRate: 90_000 };
}
const audioTrack: RecordingTrack = { kind: 'audio', codec: 'opus', payloadType: audioPayloadType, clockRate: 48_000, channels: 2 };

/** Feeds the packets as the router would (a reused buffer), and closes. */
async function record(
  name: string,
  tracks: { video?: RecordingTrack; audio?: RecordingTrack },
  packets: readonly ScheduledPacket[],
  onRecorder?: (recorder: StreamRecorder) => void,
): Promise<RecordingResult> {
  const recorder = new StreamRecorder({
    path: join(folder, name),
    tracks: [tracks.video, tracks.audio].filter((track) => track !== undefined),
  });
  onRecorder?.(recorder);
  const reused = Buffer.alloc(2000);
  for (const { kind, packet, arrivalMs } of packets) {
    const track = kind === 'video' ? tracks.video : tracks.audio;
    if (!track) continue;
    packet.copy(reused);
    recorder.push(track, reused.subarray(0, packet.length), arrivalMs);
    reused.fill(0xee);
  }
  return recorder.close();
}

before(async () => {
  folder = mkdtempSync(join(tmpdir(), 'parlor-recorder-'));
  const [vp8, vp9, h264, audio] = await Promise.all([
    makeVideoClip(folder, 'vp8', { seconds }),
    makeVideoClip(folder, 'vp9', { seconds }),
    makeVideoClip(folder, 'h264', { seconds }),
    makeOpusClip(folder, seconds),
  ]);
  clips.set('vp8', vp8).set('vp9', vp9).set('h264', h264);
  opus = audio;
});

after(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe('StreamRecorder', () => {
  it('records VP8 and Opus into a WebM that ffmpeg decodes without an error', async () => {
    const video = clips.get('vp8') as VideoClip;
    const keyframeRequests: RecordingTrack[] = [];
    const result = await record(
      'vp8-opus',
      { video: videoTrack('vp8'), audio: audioTrack },
      scheduleStream({ video, audio: opus }),
      (recorder) => recorder.on('keyframeNeeded', (track) => keyframeRequests.push(track)),
    );
    assert.match(result.path, /vp8-opus\.webm$/);
    const probed = await probe(result.path);
    assert.equal(probed.formatName, 'matroska,webm');
    assert.ok(Math.abs(probed.duration - seconds) < 0.1, `duration ${probed.duration}`);
    const [v, a] = probed.streams;
    assert.equal(v?.codec_name, 'vp8');
    assert.equal(v.width, 320);
    assert.equal(v.height, 240);
    assert.equal(Number(v.nb_read_frames), video.frames.length);
    assert.equal(a?.codec_name, 'opus');
    assert.equal(Number(a.nb_read_frames), opus.length);
    assert.equal(await decodeErrors(result.path), '');
    assert.deepEqual(keyframeRequests, []);
    assert.equal(result.tracks[0]?.frames, video.frames.length);
  });
});
