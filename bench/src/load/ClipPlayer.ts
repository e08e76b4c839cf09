import type { RTCRtpSender } from 'werift';
import type { BenchClip, ClipTrack } from './benchClip.js';
import { stampSendTime } from './sendTime.js';

/** Where a track's packets go: a werift sender, which encrypts and sends them. */
export type RtpSink = Pick<RTCRtpSender, 'sendRtp'>;

export interface ClipPlayerOptions {
  readonly clip: BenchClip;
  /** Sender of the video track; null to publish audio only. */
  readonly video: RtpSink | null;
  readonly audio: RtpSink | null;
}

/** How often the player wakes up to send what is due, ms (a browser paces at about 5 ms too). */
const tickMs = 5;

interface TrackCursor {
  readonly track: ClipTrack;
  readonly sink: RtpSink;
  /** Index of the next packet in the loop, and how many loops were sent before it. */
  next: number;
  loop: number;
  sequence: number;
  readonly timestampBase: number;
  readonly loopTicks: number;
}

/**
 * Plays a clip in a loop in real time, as a camera and microphone would: each frame's packets
 * leave at its capture time, with sequence numbers and timestamps that keep counting across
 * loops, each stamped with its send time.
 */
export class ClipPlayer {
  readonly #clip: BenchClip;
  readonly #cursors: TrackCursor[];
  #timer: NodeJS.Timeout | null = null;
  #startedAt = 0;
  #packetsSent = 0;

  constructor(options: ClipPlayerOptions) {
    this.#clip = options.clip;
    const tracks: [ClipTrack, RtpSink | null][] = [
      [options.clip.video, options.video],
      [options.clip.audio, options.audio],
    ];
    this.#cursors = tracks.flatMap(([track, sink]) =>
      sink
        ? [
            {
              track,
              sink,
              next: 0,
              loop: 0,
              sequence: Math.floor(Math.random() * 0x10000),
              timestampBase: Math.floor(Math.random() * 0x100000000),
              loopTicks: (this.#clip.durationMs * track.clockRate) / 1000,
            },
          ]
        : [],
    );
  }

  get packetsSent(): number {
    return this.#packetsSent;
  }

  start(): void {
    if (this.#timer) return;
    this.#startedAt = performance.now();
    this.#timer = setInterval(() => {
      this.#sendDue();
    }, tickMs);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #sendDue(): void {
    const elapsedMs = performance.now() - this.#startedAt;
    for (const cursor of this.#cursors) {
      const { packets } = cursor.track;
      for (;;) {
        const item = packets[cursor.next];
        if (!item || cursor.loop * this.#clip.durationMs + item.atMs > elapsedMs) break;
        const { packet } = item;
        packet.writeUInt16BE(cursor.sequence, 2);
        packet.writeUInt32BE((cursor.timestampBase + cursor.loop * cursor.loopTicks + item.ticks) >>> 0, 4);
        stampSendTime(packet, performance.now());
        // werift encrypts before its first await: the packet can be rewritten for the next send.
        void cursor.sink.sendRtp(packet);
        this.#packetsSent++;
        cursor.sequence = (cursor.sequence + 1) & 0xffff;
        cursor.next++;
        if (cursor.next === packets.length) {
          cursor.next = 0;
          cursor.loop++;
        }
      }
    }
  }
}
