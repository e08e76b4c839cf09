import type { VideoClip } from './mediaFiles.js';
import { RtpPacketizer } from './RtpPacketizer.js';

/** A publisher's packets with the times they reach the router, for feeding a recorder. */

export interface ScheduledPacket {
  readonly kind: 'audio' | 'video';
  readonly packet: Buffer;
  readonly arrivalMs: number;
  /** Media time of the packet's frame from the stream's start, ms. */
  readonly mediaMs: number;
}

export interface StreamScheduleOptions {
  readonly video?: VideoClip;
  readonly audio?: readonly Buffer[];
  /** First sequence numbers and RTP timestamps (to cross the wrap-arounds). Default: 1000 and 0. */
  readonly videoSequence?: number;
  readonly videoTimestamp?: number;
  readonly audioSequence?: number;
  readonly audioTimestamp?: number;
  readonly vp9Flexible?: boolean;
  /** Arrival time of the first frames. Default: 1,000,000. */
  readonly startMs?: number;
}

export const videoPayloadType = 96;
export const audioPayloadType = 111;

/**
 * Packetizes a clip as a sender in real time would: each frame's packets leave at its capture
 * time and arrive with a few ms of varying network delay, audio every 20 ms; both merged in
 * arrival order.
 */
export function scheduleStream(options: StreamScheduleOptions): ScheduledPacket[] {
  const startMs = options.startMs ?? 1_000_000;
  const packets: ScheduledPacket[] = [];
  const { video, audio } = options;
  if (video) {
    const packetizer = new RtpPacketizer({
      payloadType: videoPayloadType,
      ssrc: 0x1234,
      sequence: options.videoSequence ?? 1000,
      ...(options.vp9Flexible !== undefined ? { vp9Flexible: options.vp9Flexible } : {}),
    });
    const ticksPerFrame = 90_000 / video.fps;
    for (const frame of video.frames) {
      const mediaMs = (frame.index * 1000) / video.fps;
      const timestamp = ((options.videoTimestamp ?? 0) + Math.round(frame.index * ticksPerFrame)) >>> 0;
      packetizer.video(video.codec, frame, timestamp, video.width, video.height).forEach((packet, i) => {
        packets.push({
          kind: 'video',
          packet,
          arrivalMs: startMs + mediaMs + delay(frame.index) + i * 0.1,
          mediaMs,
        });
      });
    }
  }
  if (audio) {
    const packetizer = new RtpPacketizer({
      payloadType: audioPayloadType,
      ssrc: 0x5678,
      sequence: options.audioSequence ?? 1000,
    });
    audio.forEach((payload, i) => {
      const timestamp = ((options.audioTimestamp ?? 0) + i * 960) >>> 0;
      const [packet] = packetizer.opus(payload, timestamp);
      if (packet)
        packets.push({ kind: 'audio', packet, arrivalMs: startMs + i * 20 + delay(i + 7), mediaMs: i * 20 });
    });
  }
  return packets.sort((a, b) => a.arrivalMs - b.arrivalMs);
}

/** 2 to 6 ms of network delay, varying from packet to packet but the same from run to run. */
function delay(i: number): number {
  return 2 + ((i * 7919) % 5);
}
