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
/**
 * Video leaves at most this many times the clip's average bitrate, as WebRTC's pacer lets it:
 * a keyframe (over 100 packets in this clip) is spread over a few hundred ms rather than sent
 * in one burst, which no browser does. Audio is not paced.
 */
const pacingFactor = 2.5;

interface TrackCursor {
  readonly track: ClipTrack;
  readonly sink: RtpSink;
  /** Index of the next packet in the loop, and how many loops were sent before it. */
  next: number;
  loop: number;
  sequence: number;
  readonly timestampBase: number;
  readonly loopTicks: number;
  /** Bytes per ms the track may send; Infinity for unpaced audio. */
  readonly pacingBytesPerMs: number;
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
  #lastTickAt = 0;
  /** Bytes the paced track may still send now. */
  #pacingBudget = 0;
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
              pacingBytesPerMs:
                track.kind === 'video' ? (pacingFactor * options.clip.bitsPerSecond) / 8 / 1000 : Infinity,
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
    this.#lastTickAt = this.#startedAt;
    this.#timer = setInterval(() => {
      this.#sendDue();
    }, tickMs);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #sendDue(): void {
    const now = performance.now();
    const elapsedMs = now - this.#startedAt;
    const tickElapsedMs = now - this.#lastTickAt;
    this.#lastTickAt = now;
    for (const cursor of this.#cursors) {
      const { packets } = cursor.track;
      // What the pacer allows since the last tick, plus what the last tick left (at most one tick's worth).
      const allowance = cursor.pacingBytesPerMs * tickElapsedMs;
      let budget = Math.min(this.#pacingBudget, allowance) + allowance;
      for (;;) {
        const item = packets[cursor.next];
        if (!item || cursor.loop * this.#clip.durationMs + item.atMs > elapsedMs || budget <= 0) break;
        const { packet } = item;
        budget -= packet.length;
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
      if (Number.isFinite(budget)) this.#pacingBudget = Math.max(0, budget);
    }
  }
}
