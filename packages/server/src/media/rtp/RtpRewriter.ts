import {
  readSequenceNumber,
  readTimestamp,
  writePayloadType,
  writeSequenceNumber,
  writeSsrc,
  writeTimestamp,
} from './rtpHeader.js';

/**
 * Turns the packets of one or successive source streams (a publisher's layers, a publisher that
 * restarted) into one continuous outgoing stream for one subscriber: its own SSRC, sequence
 * numbers without gaps or repeats across switches, and timestamps that keep advancing with
 * wall-clock time across them.
 */
export class RtpRewriter {
  readonly ssrc: number;
  readonly #clockRate: number;
  /** Added (mod 2^16) to source sequence numbers of the current segment. */
  #sequenceOffset = 0;
  /** Added (mod 2^32) to source timestamps of the current segment. */
  #timestampOffset = 0;
  /** First and highest source sequence numbers of the current segment, extended past wraps. */
  #segmentStart = 0;
  #highestSource = -1;
  #lastOutSequence = -1;
  #lastOutTimestamp = 0;
  #lastOutAtMs = 0;
  #newSegment = true;

  /**
   * @param ssrc the subscriber-facing SSRC.
   * @param clockRate RTP clock rate of the stream's codec (90000 video, 48000 Opus).
   */
  constructor(ssrc: number, clockRate: number) {
    this.ssrc = ssrc >>> 0;
    this.#clockRate = clockRate;
  }

  /** The next packet starts a new segment: a layer switch or a restarted publisher. */
  switchSource(): void {
    this.#newSegment = true;
  }

  /**
   * Rewrites SSRC, sequence number, timestamp and payload type in a packet's fixed header, in a
   * buffer the caller owns (a copy of the header per subscriber is enough). Returns false when
   * the packet must be dropped: a late packet from before the current segment started.
   */
  rewrite(packet: Buffer, payloadType: number, nowMs: number): boolean {
    const sourceSequence = readSequenceNumber(packet);
    const sourceTimestamp = readTimestamp(packet);
    if (this.#newSegment) {
      this.#startSegment(sourceSequence, sourceTimestamp, nowMs);
    } else {
      const extended = extend(sourceSequence, this.#highestSource);
      if (extended < this.#segmentStart) return false;
      if (extended > this.#highestSource) this.#highestSource = extended;
    }
    const outSequence = (sourceSequence + this.#sequenceOffset) & 0xffff;
    const outTimestamp = (sourceTimestamp + this.#timestampOffset) >>> 0;
    writeSsrc(packet, this.ssrc);
    writeSequenceNumber(packet, outSequence);
    writeTimestamp(packet, outTimestamp);
    writePayloadType(packet, payloadType);
    if (isNewer(outSequence, this.#lastOutSequence)) {
      this.#lastOutSequence = outSequence;
      this.#lastOutTimestamp = outTimestamp;
      this.#lastOutAtMs = nowMs;
    }
    return true;
  }

  /** A source timestamp of the current segment as the subscriber sees it (for sender reports). */
  outgoingTimestamp(sourceTimestamp: number): number {
    return (sourceTimestamp + this.#timestampOffset) >>> 0;
  }

  /** The source sequence number an outgoing one came from, in the current segment (for NACKs). */
  sourceSequenceOf(outSequence: number): number {
    return (outSequence - this.#sequenceOffset) & 0xffff;
  }

  #startSegment(sourceSequence: number, sourceTimestamp: number, nowMs: number): void {
    this.#newSegment = false;
    this.#segmentStart = sourceSequence;
    this.#highestSource = sourceSequence;
    if (this.#lastOutSequence < 0) {
      // The first packet ever: keep the source's numbering.
      this.#sequenceOffset = 0;
      this.#timestampOffset = 0;
      return;
    }
    this.#sequenceOffset = (this.#lastOutSequence + 1 - sourceSequence) & 0xffff;
    // Advance the timestamp by the wall-clock time since the last packet sent, at least one tick.
    const elapsedTicks = Math.max(1, Math.round(((nowMs - this.#lastOutAtMs) * this.#clockRate) / 1000));
    this.#timestampOffset = (this.#lastOutTimestamp + elapsedTicks - sourceTimestamp) >>> 0;
  }
}

/** Extends a 16-bit sequence number to the cycle nearest a reference extended one. */
function extend(sequence: number, reference: number): number {
  const base = reference - (reference & 0xffff);
  let candidate = base + sequence;
  if (candidate - reference > 0x8000) candidate -= 0x10000;
  else if (reference - candidate > 0x8000) candidate += 0x10000;
  return candidate;
}

/** Whether sequence number `a` is after `b` (mod 2^16); anything is newer than -1. */
function isNewer(a: number, b: number): boolean {
  if (b < 0) return true;
  const diff = (a - b) & 0xffff;
  return diff !== 0 && diff < 0x8000;
}
