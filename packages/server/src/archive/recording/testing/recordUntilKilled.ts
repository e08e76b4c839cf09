// A child process for the crash test: records a VP8 + Opus stream in real time and prints
// `fed MS` after each video frame, until the test kills it. Arguments: work folder, output path.
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamRecorder } from '../StreamRecorder.js';
import type { RecordingTrack } from '../TrackRecorder.js';
import { makeOpusClip, makeVideoClip } from './mediaFiles.js';
import { audioPayloadType, scheduleStream, videoPayloadType } from './streamSchedule.js';

const [folder = '', path = ''] = process.argv.slice(2);
const video = await makeVideoClip(folder, 'vp8', { seconds: 10 });
const audio = await makeOpusClip(folder, 10);
const tracks: Record<'audio' | 'video', RecordingTrack> = {
  video: { kind: 'video', codec: 'vp8', payloadType: videoPayloadType, clockRate: 90_000 },
  audio: { kind: 'audio', codec: 'opus', payloadType: audioPayloadType, clockRate: 48_000 },
};
const recorder = new StreamRecorder({ path, tracks: [tracks.video, tracks.audio] });
const startedAt = performance.now();
for (const { kind, packet, arrivalMs, mediaMs } of scheduleStream({ video, audio, startMs: 0 })) {
  const ahead = arrivalMs - (performance.now() - startedAt);
  if (ahead > 2) await sleep(ahead);
  recorder.push(tracks[kind], packet, arrivalMs);
  if (kind === 'video' && (packet[1] as number) & 0x80) process.stdout.write(`fed ${mediaMs}\n`);
}
