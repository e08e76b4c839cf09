import { serializeRtcp } from '@parlor/server/media';
import type { ClipTrack } from './benchClip.js';
import { rtpStreamHeader, type ExtensionElement } from './rtpStreamHeader.js';
import { stampSendTime } from './sendTime.js';

/** Where the player's packets go: encrypted and sent on the publisher's transport. */
export interface RtpSink {
  /** Sends the payload of `packet` under `header`. */
  sendRtp(packet: Buffer, header: Buffer): void;
  sendRtcp(compound: Buffer): void;
}

/** One RTP stream the player sends: a track of the clip on an SSRC of its own. */
export interface PlayedStream {
  readonly track: ClipTrack;
  readonly ssrc: number;
  /** Header extension elements every packet carries (a simulcast layer's MID and RID). */
  readonly extensions: readonly ExtensionElement[];
}

export interface ClipPlayerOptions {
  /** Length of the clip's loop, ms. */
  readonly durationMs: number;
  readonly streams: readonly PlayedStream[];
}

/** How often the player wakes up to send what is due, ms (a browser paces at about 5 ms too). */
const tickMs = 5;
/**
 * Video leaves at most this many times the publisher's average bitrate, as WebRTC's pacer lets
 * it: a keyframe (over 100 packets in the top layer) is spread over a few hundred ms rather
 * than sent in one burst, which no browser does. The layers share the pacer; audio is not paced.
 */
const pacingFactor = 2.5;
/** Sender reports go once a second per stream, as a browser's do. */
const senderReportIntervalMs = 1000;
/** The clip's packets have a bare 12-byte header (RtpPacketizer): the payload follows it. */
const clipHeaderLength = 12;
/** Seconds from the NTP epoch (1900) to the Unix epoch. */
const ntpEpochOffsetSeconds = 2_208_988_800;

interface StreamCursor {
  readonly track: ClipTrack;
  readonly ssrc: number;
  /** The stream's header, rewritten for each packet, under which the clip's payload is sent. */
  readonly header: Buffer;
  /** Index of the next packet in the loop, and how many loops were sent before it. */
  next: number;
  loop: number;
  sequence: number;
  readonly timestampBase: number;
  readonly loopTicks: number;
  /** For sender reports (RFC 3550 §6.4.1). */
  packetCount: number;
  octetCount: number;
}

/**
 * Plays a clip in a loop in real time, as a camera and microphone would: each frame's packets
 * leave at its capture time, on each stream with sequence numbers and timestamps that keep
 * counting across loops, each stamped with its send time; and a sender report per stream
 * every second.
 */
export class ClipPlayer {
  readonly #durationMs: number;
  readonly #paced: StreamCursor[];
  readonly #unpaced: StreamCursor[];
  readonly #pacingBytesPerMs: number;
  #timers: NodeJS.Timeout[] = [];
  #startedAt = 0;
  #lastTickAt = 0;
  /** Bytes the paced streams may still send now. */
  #pacingBudget = 0;

  constructor(options: ClipPlayerOptions) {
    this.#durationMs = options.durationMs;
    const cursors = options.streams.map((stream): StreamCursor => ({
      track: stream.track,
      ssrc: stream.ssrc,
      header: rtpStreamHeader(stream.ssrc, stream.extensions),
      next: 0,
      loop: 0,
      sequence: Math.floor(Math.random() * 0x10000),
      timestampBase: Math.floor(Math.random() * 0x100000000),
      loopTicks: (options.durationMs * stream.track.clockRate) / 1000,
      packetCount: 0,
      octetCount: 0,
    }));
    this.#paced = cursors.filter((cursor) => cursor.track.kind === 'video');
    this.#unpaced = cursors.filter((cursor) => cursor.track.kind !== 'video');
    const bitsPerSecond = options.streams.reduce((sum, stream) => sum + stream.track.bitsPerSecond, 0);
    this.#pacingBytesPerMs = (pacingFactor * bitsPerSecond) / 8 / 1000;
  }

  /** Starts sending into the sink, from the start of the clip. */
  start(sink: RtpSink): void {
    if (this.#timers.length > 0) return;
    this.#startedAt = performance.now();
    this.#lastTickAt = this.#startedAt;
    this.#timers = [
      setInterval(() => {
        this.#sendDue(sink);
      }, tickMs),
      setInterval(() => {
        this.#sendReports(sink);
      }, senderReportIntervalMs),
    ];
  }

  stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
  }

  #sendDue(sink: RtpSink): void {
    const now = performance.now();
    const elapsedMs = now - this.#startedAt;
    const tickElapsedMs = now - this.#lastTickAt;
    this.#lastTickAt = now;
    for (const cursor of this.#unpaced) {
      while (this.#dueAtMs(cursor) <= elapsedMs) this.#send(cursor, sink);
    }
    // What the pacer allows since the last tick, plus what the last tick left (at most one tick's worth).
    const allowance = this.#pacingBytesPerMs * tickElapsedMs;
    let budget = Math.min(this.#pacingBudget, allowance) + allowance;
    while (budget > 0) {
      // First in, first out across the layers: the earliest frame's packets, the lowest layer's first.
      let next: StreamCursor | null = null;
      let nextDueMs = Infinity;
      for (const cursor of this.#paced) {
        const dueMs = this.#dueAtMs(cursor);
        if (dueMs < nextDueMs) {
          next = cursor;
          nextDueMs = dueMs;
        }
      }
      if (!next || nextDueMs > elapsedMs) break;
      budget -= this.#send(next, sink);
    }
    this.#pacingBudget = Math.max(0, budget);
  }

  /** When the cursor's next packet is due, ms from the start. */
  #dueAtMs(cursor: StreamCursor): number {
    const item = cursor.track.packets[cursor.next];
    return item ? cursor.loop * this.#durationMs + item.atMs : Infinity;
  }

  /** Sends the cursor's next packet and moves it on; returns the bytes sent. */
  #send(cursor: StreamCursor, sink: RtpSink): number {
    const item = cursor.track.packets[cursor.next];
    if (!item) return 0;
    const { packet } = item;
    const { header } = cursor;
    header[1] = packet[1] as number; // marker and payload type
    header.writeUInt16BE(cursor.sequence, 2);
    header.writeUInt32BE((cursor.timestampBase + cursor.loop * cursor.loopTicks + item.ticks) >>> 0, 4);
    stampSendTime(packet, performance.now());
    sink.sendRtp(packet, header);
    const payloadLength = packet.length - clipHeaderLength;
    cursor.packetCount++;
    cursor.octetCount += payloadLength;
    cursor.sequence = (cursor.sequence + 1) & 0xffff;
    cursor.next++;
    if (cursor.next === cursor.track.packets.length) {
      cursor.next = 0;
      cursor.loop++;
    }
    return header.length + payloadLength;
  }

  /** One compound packet: a sender report per stream that sent anything, its RTP time that of now. */
  #sendReports(sink: RtpSink): void {
    const nowMs = Date.now();
    const elapsedMs = performance.now() - this.#startedAt;
    const reports = [...this.#unpaced, ...this.#paced]
      .filter((cursor) => cursor.packetCount > 0)
      .map((cursor) =>
        serializeRtcp({
          type: 'sr',
          ssrc: cursor.ssrc,
          ntpSeconds: Math.floor(nowMs / 1000) + ntpEpochOffsetSeconds,
          ntpFraction: Math.floor(((nowMs % 1000) / 1000) * 0x100000000),
          rtpTimestamp:
            (cursor.timestampBase + Math.round((elapsedMs * cursor.track.clockRate) / 1000)) >>> 0,
          packetCount: cursor.packetCount,
          octetCount: cursor.octetCount >>> 0,
          reports: [],
        }),
      );
    if (reports.length > 0) sink.sendRtcp(Buffer.concat(reports));
  }
}
