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
const audioTrack: RecordingTrack = {
  kind: 'audio',
  codec: 'opus',
  payloadType: audioPayloadType,
  clockRate: 48_000,
  channels: 2,
};

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

function frameCount(probed: Awaited<ReturnType<typeof probe>>, type: 'audio' | 'video'): number {
  return Number(probed.streams.find((stream) => stream.codec_type === type)?.nb_read_frames);
}

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
    assert.equal(Math.round(result.durationMs), Math.round(probed.duration * 1000));
    const [v, a] = probed.streams;
    assert.equal(v?.codec_name, 'vp8');
    assert.equal(v.width, 320);
    assert.equal(v.height, 240);
    assert.equal(Number(v.nb_read_frames), video.frames.length);
    assert.equal(a?.codec_name, 'opus');
    assert.equal(Number(a.nb_read_frames), opus.length);
    assert.equal(await decodeErrors(result.path), '');
    assert.deepEqual(keyframeRequests, []);
    assert.deepEqual(
      result.tracks.map(({ frames, lostPackets, droppedFrames, width }) => ({
        frames,
        lostPackets,
        droppedFrames,
        width,
      })),
      [
        { frames: video.frames.length, lostPackets: 0, droppedFrames: 0, width: 320 },
        { frames: opus.length, lostPackets: 0, droppedFrames: 0, width: undefined },
      ],
    );
  });

  for (const vp9Flexible of [false, true]) {
    it(`records VP9 in ${vp9Flexible ? 'flexible' : 'non-flexible'} mode into a WebM`, async () => {
      const video = clips.get('vp9') as VideoClip;
      const result = await record(
        `vp9-${vp9Flexible ? 'flexible' : 'non-flexible'}`,
        { video: videoTrack('vp9') },
        scheduleStream({ video, vp9Flexible }),
      );
      const probed = await probe(result.path);
      assert.equal(probed.streams[0]?.codec_name, 'vp9');
      assert.equal(probed.streams[0].width, 320);
      assert.equal(probed.streams[0].height, 240);
      assert.equal(frameCount(probed, 'video'), video.frames.length);
      assert.ok(Math.abs(probed.duration - seconds) < 0.1, `duration ${probed.duration}`);
      assert.equal(await decodeErrors(result.path), '');
    });
  }

  it('records H.264 (single NAL units, STAP-A, FU-A) and Opus into a Matroska file with its avcC', async () => {
    const video = clips.get('h264') as VideoClip;
    const result = await record(
      'h264-opus',
      { video: videoTrack('h264'), audio: audioTrack },
      scheduleStream({ video, audio: opus }),
    );
    assert.match(result.path, /h264-opus\.mkv$/);
    const probed = await probe(result.path);
    assert.equal(probed.formatName, 'matroska,webm');
    assert.equal(probed.streams[0]?.codec_name, 'h264');
    assert.equal(probed.streams[0].width, 320);
    assert.equal(probed.streams[0].height, 240);
    assert.equal(frameCount(probed, 'video'), video.frames.length);
    assert.equal(frameCount(probed, 'audio'), opus.length);
    assert.ok(Math.abs(probed.duration - seconds) < 0.1, `duration ${probed.duration}`);
    assert.equal(await decodeErrors(result.path), '');
  });

  it('puts reordered and late-repaired packets back in order and loses nothing', async () => {
    const video = clips.get('vp8') as VideoClip;
    const packets = scheduleStream({ video, audio: opus }).map((scheduled, i) => {
      // Every 7th packet 15 ms late, every 50th 120 ms late as if a NACK had repaired it.
      const lateBy = i % 50 === 25 ? 120 : i % 7 === 3 ? 15 : 0;
      return { ...scheduled, arrivalMs: scheduled.arrivalMs + lateBy };
    });
    packets.sort((a, b) => a.arrivalMs - b.arrivalMs);
    const result = await record('reordered', { video: videoTrack('vp8'), audio: audioTrack }, packets);
    assert.deepEqual(
      result.tracks.map((track) => [track.lostPackets, track.latePackets, track.droppedFrames]),
      [
        [0, 0, 0],
        [0, 0, 0],
      ],
    );
    const probed = await probe(result.path);
    assert.equal(frameCount(probed, 'video'), video.frames.length);
    assert.equal(frameCount(probed, 'audio'), opus.length);
    assert.equal(await decodeErrors(result.path), '');
  });

  it('drops video from a lost packet to the next keyframe and asks for one; audio keeps a gap', async () => {
    const video = clips.get('vp8') as VideoClip;
    const all = scheduleStream({ video, audio: opus });
    const lostVideo = all.find((p) => p.kind === 'video' && p.mediaMs === (20 * 1000) / 30);
    const lostAudio = all.filter((p) => p.kind === 'audio' && p.mediaMs >= 1000 && p.mediaMs < 1060);
    const packets = all.filter((p) => p !== lostVideo && !lostAudio.includes(p));
    const requests: RecordingTrack[] = [];
    const result = await record(
      'lossy',
      { video: videoTrack('vp8'), audio: audioTrack },
      packets,
      (recorder) => recorder.on('keyframeNeeded', (track) => requests.push(track)),
    );
    // At the loss, and once more a second later while the keyframe is still to come.
    assert.deepEqual(requests, [result.tracks[0]?.track, result.tracks[0]?.track]);
    const [videoStats, audioStats] = result.tracks;
    assert.equal(videoStats?.lostPackets, 1);
    // Frames 20 to 59 are dropped: the keyframes are at 0 and 60.
    assert.equal(videoStats.droppedFrames, 40);
    assert.equal(audioStats?.lostPackets, 3);
    const probed = await probe(result.path);
    assert.equal(frameCount(probed, 'video'), video.frames.length - 40);
    assert.equal(frameCount(probed, 'audio'), opus.length - 3);
    assert.ok(Math.abs(probed.duration - seconds) < 0.1, `duration ${probed.duration}`);
    assert.equal(await decodeErrors(result.path), '');
  });

  it('starts video at the first keyframe, asking for one at once', async () => {
    const video = clips.get('vp8') as VideoClip;
    const packets = scheduleStream({ video, audio: opus }).filter(
      (p) => p.kind === 'audio' || p.mediaMs >= 400,
    );
    let requests = 0;
    const result = await record(
      'late-start',
      { video: videoTrack('vp8'), audio: audioTrack },
      packets,
      (recorder) => recorder.on('keyframeNeeded', () => requests++),
    );
    assert.ok(requests >= 1);
    const probed = await probe(result.path);
    assert.equal(frameCount(probed, 'video'), video.frames.length - 60);
    assert.equal(frameCount(probed, 'audio'), opus.length);
    assert.equal(await decodeErrors(result.path), '');
  });

  it('follows sequence numbers and timestamps across their wrap-arounds', async () => {
    const video = clips.get('h264') as VideoClip;
    const packets = scheduleStream({
      video,
      audio: opus,
      videoSequence: 65_400,
      videoTimestamp: 2 ** 32 - 90_000,
      audioSequence: 65_500,
      audioTimestamp: 2 ** 32 - 48_000,
    });
    const result = await record('wrap', { video: videoTrack('h264'), audio: audioTrack }, packets);
    assert.deepEqual(
      result.tracks.map((track) => [track.lostPackets, track.droppedFrames]),
      [
        [0, 0],
        [0, 0],
      ],
    );
    const probed = await probe(result.path);
    assert.equal(frameCount(probed, 'video'), video.frames.length);
    assert.equal(frameCount(probed, 'audio'), opus.length);
    assert.ok(Math.abs(probed.duration - seconds) < 0.1, `duration ${probed.duration}`);
    assert.equal(await decodeErrors(result.path), '');
  });

  it('counts and drops malformed packets without throwing', async () => {
    const recorder = new StreamRecorder({ path: join(folder, 'malformed'), tracks: [videoTrack('vp8')] });
    const [track] = recorder.tracks as [RecordingTrack];
    const good = scheduleStream({ video: clips.get('vp8') }).slice(0, 5);
    for (const bad of [Buffer.alloc(0), Buffer.alloc(11), Buffer.from('40000000000000000000000000', 'hex')])
      recorder.push(track, bad, 0);
    const truncatedExtension = Buffer.from((good[0] as ScheduledPacket).packet);
    truncatedExtension[0] = 0x90;
    recorder.push(track, truncatedExtension.subarray(0, 14), 0);
    const result = await recorder.close();
    assert.equal(result.tracks[0]?.malformedPackets, 4);
    assert.throws(
      () => {
        recorder.push(track, Buffer.alloc(20), 0);
      },
      { name: 'InvalidStateError' },
    );
  });

  it('rejects track descriptions that do not match, naming the field', () => {
    assert.throws(
      () => new StreamRecorder({ path: join(folder, 'bad'), tracks: [{ ...audioTrack, codec: 'vp8' }] }),
      { name: 'TypeError', message: /tracks\[0\]\.kind/ },
    );
  });
});
