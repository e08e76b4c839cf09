import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamRecorder, type RecordingTrack } from '@parlor/server/archive/recording';
import {
  audioPayloadType,
  makeOpusClip,
  makeVideoClip,
  scheduleStream,
  videoPayloadType,
  type ScheduledPacket,
} from '@parlor/server/archive/recording/testing';
import { deriveSrtpSessionKeys, RtpRewriter, SrtpContext } from '@parlor/server/media';

export interface RecordFigures {
  /** The recorded stream: VP8 640x480 30 fps and Opus, as RTP. */
  readonly streamMbps: number;
  readonly packetsPerSecond: number;
  /** Process CPU (event loop and file writes) per recorded packet, µs. */
  readonly microsPerPacket: number;
  /** Share of one core that recording one such stream in real time takes, scaled to 1 Mbit/s. */
  readonly corePercentPerMbps: number;
  /** The peer: forwarding one packet to one subscriber (copy, rewrite, SRTP AES-GCM), µs. */
  readonly forwardMicrosPerPacket: number;
}

const clipSeconds = 10;
/** The clip is looped into one stream this many times, numbering and timing continuing. */
const loops = 6;
const passes = 4;

/**
 * CPU cost of recording: a 1 Mbit/s VP8 + Opus stream made by ffmpeg, packetized into a minute
 * of RTP, pushed into a StreamRecorder as fast as it takes them (each pass a new file, after a
 * warm-up pass), measured with the process's CPU time, so the file writes on libuv's threads
 * count too.
 */
export async function runRecordBench(): Promise<RecordFigures> {
  const folder = mkdtempSync(join(tmpdir(), 'parlor-record-bench-'));
  try {
    const [video, audio] = await Promise.all([
      makeVideoClip(folder, 'vp8', { seconds: clipSeconds, width: 640, height: 480, bitrate: '950k' }),
      makeOpusClip(folder, clipSeconds),
    ]);
    const packets: ScheduledPacket[] = [];
    for (let loop = 0; loop < loops; loop++) {
      const videoPackets = packets.filter((p) => p.kind === 'video').length;
      packets.push(
        ...scheduleStream({
          video,
          audio,
          startMs: 1_000_000 + loop * clipSeconds * 1000,
          videoSequence: (1000 + videoPackets) & 0xffff,
          audioSequence: (1000 + loop * audio.length) & 0xffff,
          videoTimestamp: (loop * clipSeconds * 90_000) >>> 0,
          audioTimestamp: (loop * audio.length * 960) >>> 0,
        }),
      );
    }
    const bytes = packets.reduce((sum, p) => sum + p.packet.length, 0);
    const tracks: Record<'audio' | 'video', RecordingTrack> = {
      video: { kind: 'video', codec: 'vp8', payloadType: videoPayloadType, clockRate: 90_000 },
      audio: { kind: 'audio', codec: 'opus', payloadType: audioPayloadType, clockRate: 48_000 },
    };
    const record = async (pass: number): Promise<void> => {
      const recorder = new StreamRecorder({
        path: join(folder, `pass-${pass}`),
        tracks: [tracks.video, tracks.audio],
      });
      for (const { kind, packet, arrivalMs } of packets) recorder.push(tracks[kind], packet, arrivalMs);
      await recorder.close();
    };
    await record(-1);
    const start = process.cpuUsage();
    for (let pass = 0; pass < passes; pass++) await record(pass);
    const used = process.cpuUsage(start);
    const microsPerPacket = (used.user + used.system) / (passes * packets.length);
    const streamMbps = (bytes * 8) / (loops * clipSeconds) / 1e6;
    const packetsPerSecond = packets.length / (loops * clipSeconds);
    return {
      streamMbps,
      packetsPerSecond,
      microsPerPacket,
      corePercentPerMbps: (microsPerPacket * packetsPerSecond) / 1e4 / streamMbps,
      forwardMicrosPerPacket: forwardCost(packets.map((p) => p.packet)),
    };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** What the router spends per packet and subscriber on the same packets, beside recording. */
function forwardCost(packets: readonly Buffer[]): number {
  const keys = deriveSrtpSessionKeys({
    profile: 'AEAD_AES_128_GCM',
    masterKey: randomBytes(16),
    masterSalt: randomBytes(12),
  });
  const srtp = new SrtpContext(keys);
  const rewriter = new RtpRewriter(0x1000, 90_000);
  const rounds = 2;
  const run = (): void => {
    for (const packet of packets) {
      const copy = Buffer.from(packet);
      rewriter.rewrite(copy, 96, 0);
      srtp.protectRtp(copy);
    }
  };
  run();
  const start = process.cpuUsage();
  for (let i = 0; i < rounds; i++) run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / (rounds * packets.length);
}
