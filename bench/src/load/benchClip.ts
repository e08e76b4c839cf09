import { mkdirSync } from 'node:fs';
import {
  makeOpusClip,
  makeVideoClip,
  RtpPacketizer,
  type VideoClip,
} from '@parlor/server/archive/recording/testing';
import { sendTimeStampLength } from './sendTime.js';

/** One RTP packet of the clip, and when in the loop it leaves. */
export interface ClipPacket {
  /** Milliseconds from the start of the loop. */
  readonly atMs: number;
  /** Position of the packet's frame in the loop, in RTP ticks of its track's clock. */
  readonly ticks: number;
  /**
   * The RTP packet, with room for the send-time stamp at the end of its payload. Sequence
   * number and timestamp are written anew at each send.
   */
  readonly packet: Buffer;
}

/** The packets of one track of the clip, in sending order. */
export interface ClipTrack {
  readonly kind: 'audio' | 'video';
  readonly clockRate: number;
  readonly packets: readonly ClipPacket[];
}

/** A short pre-encoded VP8 + Opus clip, packetized once, that publishers send in a loop. */
export interface BenchClip {
  readonly durationMs: number;
  readonly video: ClipTrack;
  readonly audio: ClipTrack;
  /** Both tracks, RTP headers included, in bits per second. */
  readonly bitsPerSecond: number;
  readonly packetsPerSecond: { readonly audio: number; readonly video: number };
}

export interface BenchClipOptions {
  /** Folder where ffmpeg's output is kept between runs. */
  readonly cacheFolder: string;
  /** Default: 10. */
  readonly seconds?: number;
}

const width = 640;
const height = 480;
const fps = 30;
const videoClockRate = 90_000;
const audioClockRate = 48_000;
const opusFrameMs = 20;

/**
 * VP8 640x480 at 30 fps and ~1 Mbit/s (a test pattern under noise that changes every frame, so
 * the encoder really spends that), one keyframe per 5 s, and 20 ms Opus frames: encoded by
 * ffmpeg on first use into the cache folder, then packetized into RTP as a WebRTC sender would.
 */
export async function loadBenchClip(options: BenchClipOptions): Promise<BenchClip> {
  const seconds = options.seconds ?? 10;
  mkdirSync(options.cacheFolder, { recursive: true });
  const [video, opus] = await Promise.all([
    makeVideoClip(options.cacheFolder, 'vp8', {
      seconds,
      width,
      height,
      fps,
      bitrate: '1000k',
      keyframeInterval: 5 * fps,
      noise: 12,
    }),
    makeOpusClip(options.cacheFolder, seconds),
  ]);
  const videoTrack = packetizeVideo(video);
  const audioTrack = packetizeAudio(opus);
  const durationMs = seconds * 1000;
  const bytes = [...videoTrack.packets, ...audioTrack.packets].reduce((sum, p) => sum + p.packet.length, 0);
  return {
    durationMs,
    video: videoTrack,
    audio: audioTrack,
    bitsPerSecond: (bytes * 8) / seconds,
    packetsPerSecond: {
      audio: audioTrack.packets.length / seconds,
      video: videoTrack.packets.length / seconds,
    },
  };
}

function packetizeVideo(clip: VideoClip): ClipTrack {
  const packetizer = new RtpPacketizer({ payloadType: 96, ssrc: 1, sequence: 0 });
  const packets: ClipPacket[] = [];
  for (const frame of clip.frames) {
    const atMs = (frame.index * 1000) / clip.fps;
    const ticks = Math.round((frame.index * videoClockRate) / clip.fps);
    for (const packet of packetizer.video('vp8', frame, ticks, clip.width, clip.height)) {
      packets.push({ atMs, ticks, packet: withStampRoom(packet) });
    }
  }
  return { kind: 'video', clockRate: videoClockRate, packets };
}

function packetizeAudio(frames: readonly Buffer[]): ClipTrack {
  const packetizer = new RtpPacketizer({ payloadType: 111, ssrc: 2, sequence: 0 });
  const ticksPerFrame = (audioClockRate * opusFrameMs) / 1000;
  const packets = frames.flatMap((frame, index) =>
    packetizer.opus(frame, index * ticksPerFrame).map((packet) => ({
      atMs: index * opusFrameMs,
      ticks: index * ticksPerFrame,
      packet: withStampRoom(packet),
    })),
  );
  return { kind: 'audio', clockRate: audioClockRate, packets };
}

/** The packet with zeroed bytes appended to its payload for the send-time stamp. */
function withStampRoom(packet: Buffer): Buffer {
  return Buffer.concat([packet, Buffer.alloc(sendTimeStampLength)]);
}
