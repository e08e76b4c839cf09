import {
  isMarked,
  readPayloadType,
  readSsrc,
  readTimestamp,
  rtpHeaderLength,
} from '../../media/rtp/rtpHeader.js';
import type { Depacketizer } from './depacketizers/Depacketizer.js';
import { FrameBuffer } from './depacketizers/FrameBuffer.js';
import { H264Depacketizer } from './depacketizers/H264Depacketizer.js';
import { OpusDepacketizer } from './depacketizers/OpusDepacketizer.js';
import { Vp8Depacketizer } from './depacketizers/Vp8Depacketizer.js';
import { Vp9Depacketizer } from './depacketizers/Vp9Depacketizer.js';
import type { VideoFormat } from './matroska/matroskaLayout.js';
import { ReorderBuffer } from './ReorderBuffer.js';
import { TrackClock } from './TrackClock.js';

export const recordingCodecs = ['opus', 'vp8', 'vp9', 'h264'] as const;
export type RecordingCodec = (typeof recordingCodecs)[number];

/** One track of the stream to record, as negotiated. */
export interface RecordingTrack {
  readonly kind: 'audio' | 'video';
  /** `opus` for audio; `vp8`, `vp9` or `h264` for video. */
  readonly codec: RecordingCodec;
  /** Packets of any other payload type are ignored. */
  readonly payloadType: number;
  /** RTP clock rate: 48000 for Opus, 90000 for video. */
  readonly clockRate: number;
  /** Opus channels, 1 or 2. Default: 2 (what WebRTC negotiates). */
  readonly channels?: number;
}

/** What one track's recording went through. */
export interface TrackRecordingStats {
  /** Packets pushed, and their bytes. */
  packets: number;
  bytes: number;
  /** Packets never received, given up on after the reorder window. */
  lostPackets: number;
  /** Packets that came after they had been given up on, or twice. */
  latePackets: number;
  /** Packets that are not well-formed RTP or whose payload does not parse. */
  malformedPackets: number;
  /** Packets of another payload type, and padding-only packets. */
  ignoredPackets: number;
  /** Frames written to the file. */
  frames: number;
  /** Frames not written: incomplete, or video waiting for a keyframe. */
  droppedFrames: number;
  /** keyframeNeeded events emitted. */
  keyframeRequests: number;
}

/** Where a track's frames go. */
export interface TrackSink {
  /** A whole frame; `timeMs` is on the arrival clock. `data` is reused after the call. */
  frame(timeMs: number, keyframe: boolean, data: Buffer, length: number, durationMs: number): void;
  /** The video format of the track's first recorded keyframe. */
  format(format: VideoFormat): void;
  keyframeNeeded(): void;
}

export interface TrackRecorderOptions {
  readonly reorderWindowMs: number;
  readonly keyframeRequestIntervalMs: number;
}

/**
 * One track's way from RTP packets to frames: back in order, assembled by timestamp and marker
 * bit, depacketized, timed. A video track writes from a keyframe on, and after any loss waits
 * for the next keyframe, asking for one; an audio track just leaves the gap.
 */
export class TrackRecorder {
  readonly track: RecordingTrack;
  readonly stats: TrackRecordingStats = {
    packets: 0,
    bytes: 0,
    lostPackets: 0,
    latePackets: 0,
    malformedPackets: 0,
    ignoredPackets: 0,
    frames: 0,
    droppedFrames: 0,
    keyframeRequests: 0,
  };
  readonly #sink: TrackSink;
  readonly #isVideo: boolean;
  readonly #keyframeRequestIntervalMs: number;
  readonly #reorder: ReorderBuffer;
  readonly #clock: TrackClock;
  readonly #depacketizer: Depacketizer;
  readonly #frame: FrameBuffer;
  readonly #onPacket = (packet: Uint8Array, sequence: number, arrivalMs: number): void => {
    this.#handle(packet, sequence, arrivalMs);
  };
  #ssrc = -1;
  #lastSequence = -1;
  #frameOpen = false;
  #frameBroken = false;
  #frameTimestamp = 0;
  #frameTimeMs = 0;
  #waitingForKeyframe: boolean;
  #formatSent = false;
  #lastKeyframeRequestMs = -Infinity;

  constructor(track: RecordingTrack, options: TrackRecorderOptions, sink: TrackSink) {
    this.track = track;
    this.#sink = sink;
    this.#isVideo = track.kind === 'video';
    this.#waitingForKeyframe = this.#isVideo;
    this.#keyframeRequestIntervalMs = options.keyframeRequestIntervalMs;
    this.#reorder = new ReorderBuffer({
      capacity: this.#isVideo ? 512 : 64,
      maxWaitMs: options.reorderWindowMs,
    });
    this.#clock = new TrackClock(track.clockRate);
    this.#depacketizer = createDepacketizer(track.codec);
    this.#frame = new FrameBuffer(this.#isVideo ? 64 * 1024 : 2048);
  }

  /** Takes one plaintext RTP packet; never keeps it past the call without copying it. */
  push(packet: Uint8Array, arrivalMs: number): void {
    this.stats.packets++;
    this.stats.bytes += packet.length;
    if (rtpHeaderLength(packet) < 0) {
      this.stats.malformedPackets++;
      return;
    }
    const ssrc = readSsrc(packet);
    if (ssrc !== this.#ssrc) {
      if (this.#ssrc !== -1) this.#restart(arrivalMs);
      this.#ssrc = ssrc;
    }
    this.#reorder.push(packet, arrivalMs, this.#onPacket);
    this.#syncReorderStats();
  }

  /** Lets a gap that has waited long enough count as lost, though no packet of this track came. */
  expire(nowMs: number): void {
    this.#reorder.expire(nowMs, this.#onPacket);
    this.#syncReorderStats();
  }

  /** Hands on every packet still waiting; a frame left without its end is dropped. */
  drain(): void {
    this.#reorder.drain(this.#onPacket);
    this.#syncReorderStats();
    if (this.#frameOpen) {
      this.#frameOpen = false;
      this.stats.droppedFrames++;
    }
  }

  #syncReorderStats(): void {
    this.stats.lostPackets = this.#reorder.lost;
    this.stats.latePackets = this.#reorder.late;
  }

  /** The sender started a new stream (a new SSRC): numbering and timing start afresh. */
  #restart(arrivalMs: number): void {
    this.#reorder.drain(this.#onPacket);
    this.#reorder.reset();
    this.#clock.reset();
    this.#lastSequence = -1;
    if (this.#frameOpen) this.#finishFrame(false, arrivalMs);
    if (this.#isVideo) this.#waitingForKeyframe = true;
  }

  #handle(packet: Uint8Array, sequence: number, arrivalMs: number): void {
    const contiguous = sequence === this.#lastSequence + 1;
    if (!contiguous && this.#lastSequence >= 0) this.#onLoss();
    this.#lastSequence = sequence;

    const headerLength = rtpHeaderLength(packet);
    let end = packet.length;
    if ((packet[0] as number) & 0x20) {
      // RFC 3550 §5.1: the last byte counts the padding bytes, itself included.
      const padding = packet[end - 1] as number;
      if (padding === 0 || headerLength + padding > end) {
        this.stats.malformedPackets++;
        this.#onLoss();
        return;
      }
      end -= padding;
    }
    if (readPayloadType(packet) !== this.track.payloadType || end === headerLength) {
      this.stats.ignoredPackets++;
      return;
    }
    const timestamp = readTimestamp(packet);
    if (this.#frameOpen && timestamp !== this.#frameTimestamp) this.#finishFrame(contiguous, arrivalMs);
    if (!this.#frameOpen) this.#beginFrame(timestamp, arrivalMs);
    if (!this.#frameBroken && !this.#depacketizer.append(packet, headerLength, end, this.#frame)) {
      this.stats.malformedPackets++;
      this.#frameBroken = true;
    }
    if (!this.#isVideo || isMarked(packet)) this.#finishFrame(true, arrivalMs);
  }

  #onLoss(): void {
    if (this.#frameOpen) this.#frameBroken = true;
    if (this.#isVideo) this.#waitingForKeyframe = true;
  }

  #beginFrame(timestamp: number, arrivalMs: number): void {
    this.#frameOpen = true;
    this.#frameBroken = false;
    this.#frameTimestamp = timestamp;
    this.#frameTimeMs = this.#clock.toMs(timestamp, arrivalMs);
    this.#frame.clear();
    this.#depacketizer.begin();
  }

  /** `ended`: the frame's last packet came (its marker, or the next frame following on without a gap). */
  #finishFrame(ended: boolean, arrivalMs: number): void {
    this.#frameOpen = false;
    const depacketizer = this.#depacketizer;
    const whole = ended && !this.#frameBroken && depacketizer.end(this.#frame);
    if (!whole || (this.#waitingForKeyframe && !depacketizer.keyframe)) {
      this.stats.droppedFrames++;
      if (this.#isVideo) {
        this.#waitingForKeyframe = true;
        this.#requestKeyframe(arrivalMs);
      }
      return;
    }
    if (this.#isVideo) {
      this.#waitingForKeyframe = false;
      if (!this.#formatSent && depacketizer.format) {
        this.#formatSent = true;
        this.#sink.format(depacketizer.format);
      }
    }
    this.stats.frames++;
    this.#sink.frame(
      this.#frameTimeMs,
      depacketizer.keyframe,
      this.#frame.data,
      this.#frame.length,
      depacketizer.durationMs,
    );
  }

  #requestKeyframe(nowMs: number): void {
    if (nowMs - this.#lastKeyframeRequestMs < this.#keyframeRequestIntervalMs) return;
    this.#lastKeyframeRequestMs = nowMs;
    this.stats.keyframeRequests++;
    this.#sink.keyframeNeeded();
  }
}

function createDepacketizer(codec: RecordingCodec): Depacketizer {
  switch (codec) {
    case 'opus':
      return new OpusDepacketizer();
    case 'vp8':
      return new Vp8Depacketizer();
    case 'vp9':
      return new Vp9Depacketizer();
    case 'h264':
      return new H264Depacketizer();
  }
}
