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
   * The RTP packet, with room for the send-time stamp at the end of its payload. Of its header
   * only marker and payload type count: the player sends the payload under a header of its own.
   */
  readonly packet: Buffer;
}

/** The packets of one track of the clip, in sending order. */
export interface ClipTrack {
  readonly kind: 'audio' | 'video';
  readonly clockRate: number;
  readonly packets: readonly ClipPacket[];
  /** RTP headers included. */
  readonly bitsPerSecond: number;
  readonly packetsPerSecond: number;
}

/** One simulcast encoding of the clip's video. */
export interface VideoLayer extends ClipTrack {
  /** Its RTP stream ID in the publisher's offer (RFC 8851), as Chromium names them. */
  readonly rid: string;
  readonly width: number;
  readonly height: number;
}

/** A short pre-encoded VP8 + Opus clip, packetized once, that publishers send in a loop. */
export interface BenchClip {
  readonly durationMs: number;
  /** The video's simulcast layers, lowest resolution first. */
  readonly videoLayers: readonly VideoLayer[];
  readonly audio: ClipTrack;
}

export interface BenchClipOptions {
  /** Folder where ffmpeg's output is kept between runs. */
  readonly cacheFolder: string;
  /** Default: 10. */
  readonly seconds?: number;
}

/** Chromium's three simulcast layers of a 640x480 camera (a quarter, half and full size). */
const layerSpecs = [
  { rid: 'q', width: 160, height: 120, bitrate: '150k' },
  { rid: 'h', width: 320, height: 240, bitrate: '400k' },
  { rid: 'f', width: 640, height: 480, bitrate: '1000k' },
] as const;
const fps = 30;
const videoClockRate = 90_000;
const audioClockRate = 48_000;
const opusFrameMs = 20;

/**
 * VP8 in three simulcast layers — 160x120 at ~150 kbit/s, 320x240 at ~400 kbit/s, 640x480 at
 * ~1 Mbit/s — at 30 fps (a test pattern under noise that changes every frame, so the encoder
 * really spends that), each with a keyframe every 5 s at the same frames, and 20 ms Opus
 * frames: encoded by ffmpeg on first use into the cache folder, then packetized into RTP as a
 * WebRTC sender would.
 */
export async function loadBenchClip(options: BenchClipOptions): Promise<BenchClip> {
  const seconds = options.seconds ?? 10;
  mkdirSync(options.cacheFolder, { recursive: true });
  const [opus, videoLayers] = await Promise.all([
    makeOpusClip(options.cacheFolder, seconds),
    Promise.all(
      layerSpecs.map(async ({ rid, width, height, bitrate }): Promise<VideoLayer> => {
        const video = await makeVideoClip(options.cacheFolder, 'vp8', {
          seconds,
          width,
          height,
          fps,
          bitrate,
          keyframeInterval: 5 * fps,
          noise: 12,
        });
        return { ...packetizeVideo(video, seconds), rid, width, height };
      }),
    ),
  ]);
  return { durationMs: seconds * 1000, videoLayers, audio: packetizeAudio(opus, seconds) };
}

/** The layer a viewer gets when nothing holds it back: the highest. */
export function topLayer(clip: BenchClip): VideoLayer {
  const top = clip.videoLayers.at(-1);
  if (!top) throw new Error('the clip has no video layer');
  return top;
}

/** What a camera publisher sends: every video layer and the audio. */
export function sentRate(clip: BenchClip): { bitsPerSecond: number; packetsPerSecond: number } {
  const tracks = [clip.audio, ...clip.videoLayers];
  return {
    bitsPerSecond: tracks.reduce((sum, track) => sum + track.bitsPerSecond, 0),
    packetsPerSecond: tracks.reduce((sum, track) => sum + track.packetsPerSecond, 0),
  };
}

function packetizeVideo(clip: VideoClip, seconds: number): ClipTrack {
  const packetizer = new RtpPacketizer({ payloadType: 96, ssrc: 1, sequence: 0 });
  const packets: ClipPacket[] = [];
  for (const frame of clip.frames) {
    const atMs = (frame.index * 1000) / clip.fps;
    const ticks = Math.round((frame.index * videoClockRate) / clip.fps);
    for (const packet of packetizer.video('vp8', frame, ticks, clip.width, clip.height)) {
      packets.push({ atMs, ticks, packet: withStampRoom(packet) });
    }
  }
  return withRates({ kind: 'video', clockRate: videoClockRate, packets }, seconds);
}

function packetizeAudio(frames: readonly Buffer[], seconds: number): ClipTrack {
  const packetizer = new RtpPacketizer({ payloadType: 111, ssrc: 2, sequence: 0 });
  const ticksPerFrame = (audioClockRate * opusFrameMs) / 1000;
  const packets = frames.flatMap((frame, index) =>
    packetizer.opus(frame, index * ticksPerFrame).map((packet) => ({
      atMs: index * opusFrameMs,
      ticks: index * ticksPerFrame,
      packet: withStampRoom(packet),
    })),
  );
  return withRates({ kind: 'audio', clockRate: audioClockRate, packets }, seconds);
}

function withRates(track: Omit<ClipTrack, 'bitsPerSecond' | 'packetsPerSecond'>, seconds: number): ClipTrack {
  const bytes = track.packets.reduce((sum, p) => sum + p.packet.length, 0);
  return { ...track, bitsPerSecond: (bytes * 8) / seconds, packetsPerSecond: track.packets.length / seconds };
}

/** The packet with zeroed bytes appended to its payload for the send-time stamp. */
function withStampRoom(packet: Buffer): Buffer {
  return Buffer.concat([packet, Buffer.alloc(sendTimeStampLength)]);
}
