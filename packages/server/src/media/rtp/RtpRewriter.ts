import {
  extendSequenceNumber,
  readSequenceNumber,
  readTimestamp,
  writePayloadType,
  writeSequenceNumber,
  writeSsrc,
  writeTimestamp,
} from './rtpHeader.js';

/** From this source sequence number (extended) on, `offset` is added to map it outward. */
interface OffsetChange {
  readonly source: number;
  readonly offset: number;
}

/** Offset changes kept for mapping reordered packets and NACKs: far more than a NACK reaches back. */
const maxOffsetChanges = 64;

/**
 * Turns the packets of one or successive source streams (a publisher's layers, a publisher that
 * restarted) into one continuous outgoing stream for one subscriber: its own SSRC, sequence
 * numbers without gaps or repeats across switches and dropped packets, and timestamps that keep
 * advancing with wall-clock time across switches.
 */
export class RtpRewriter {
  readonly ssrc: number;
  readonly #clockRate: number;
  /** Sequence offsets of the current segment, oldest first; each drop adds one. */
  #changes: OffsetChange[] = [];
  /** Added (mod 2^32) to source timestamps of the current segment. */
  #timestampOffset = 0;
  /** First and highest source sequence numbers of the current segment, extended past wraps. */
  #segmentStart = 0;
  #highestSource = -1;
  /** The newest outgoing sequence number, -1 before any. */
  #lastOutSequence = -1;
  /** The same, extended within the current segment (source extended + offset); -1 before any. */
  #lastOutExtended = -1;
  /** Outgoing sequence numbers never sent (see `skipped`). */
  #skipped = 0;
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
    return this.#rewrite(packet, payloadType, nowMs, true);
  }

  /** Rewrites a packet sent before, to send it again (a NACK's answer), as it went the first time. */
  rewriteAgain(packet: Buffer, payloadType: number, nowMs: number): boolean {
    return this.#rewrite(packet, payloadType, nowMs, false);
  }

  #rewrite(packet: Buffer, payloadType: number, nowMs: number, firstTime: boolean): boolean {
    const sourceSequence = readSequenceNumber(packet);
    const sourceTimestamp = readTimestamp(packet);
    let extended: number;
    if (this.#newSegment) {
      this.#startSegment(sourceSequence, sourceTimestamp, nowMs);
      extended = this.#segmentStart;
    } else {
      extended = extendSequenceNumber(sourceSequence, this.#highestSource);
      if (extended < this.#segmentStart) return false;
      if (extended > this.#highestSource) this.#highestSource = extended;
    }
    const outExtended = extended + this.#offsetAt(extended);
    const outSequence = outExtended & 0xffff;
    const outTimestamp = (sourceTimestamp + this.#timestampOffset) >>> 0;
    writeSsrc(packet, this.ssrc);
    writeSequenceNumber(packet, outSequence);
    writeTimestamp(packet, outTimestamp);
    writePayloadType(packet, payloadType);
    if (firstTime && this.#lastOutExtended >= 0) {
      if (outExtended > this.#lastOutExtended + 1) this.#skipped += outExtended - this.#lastOutExtended - 1;
      else if (outExtended < this.#lastOutExtended && this.#skipped > 0) this.#skipped--;
    }
    if (outExtended > this.#lastOutExtended) {
      this.#lastOutExtended = outExtended;
      this.#lastOutSequence = outSequence;
      this.#lastOutTimestamp = outTimestamp;
      this.#lastOutAtMs = nowMs;
    }
    return true;
  }

  /**
   * Leaves a packet out of the outgoing stream (a frame of a temporal layer the subscriber does
   * not get): the packets after it are numbered as if it never existed. A dropped packet that
   * arrives after later ones leaves a gap.
   */
  drop(packet: Buffer): void {
    if (this.#newSegment) return;
    const extended = extendSequenceNumber(readSequenceNumber(packet), this.#highestSource);
    if (extended <= this.#highestSource) return;
    this.#highestSource = extended;
    const last = this.#changes.at(-1) as OffsetChange;
    if (last.source === extended) {
      this.#changes[this.#changes.length - 1] = { source: extended + 1, offset: last.offset - 1 };
      return;
    }
    this.#changes.push({ source: extended + 1, offset: last.offset - 1 });
    if (this.#changes.length > maxOffsetChanges) this.#changes.shift();
  }

  /**
   * Outgoing sequence numbers left out so far: packets lost before they reached the router (or
   * dropped after later ones went), less those that came late and filled their gap. A
   * subscriber's receiver reports count them as lost, though its own link lost none of them.
   */
  get skipped(): number {
    return this.#skipped;
  }

  /** A source timestamp of the current segment as the subscriber sees it (for sender reports). */
  outgoingTimestamp(sourceTimestamp: number): number {
    return (sourceTimestamp + this.#timestampOffset) >>> 0;
  }

  /**
   * The source sequence number an outgoing one came from (for NACKs), or null when it was sent
   * before the current segment or the rewriter no longer knows.
   */
  sourceSequenceOf(outSequence: number): number | null {
    if (this.#lastOutExtended < 0) return null;
    const behind = (this.#lastOutExtended - outSequence) & 0xffff;
    if (behind >= 0x8000) return null;
    const out = this.#lastOutExtended - behind;
    for (let i = this.#changes.length - 1; i >= 0; i--) {
      const change = this.#changes[i] as OffsetChange;
      if (change.source + change.offset > out) continue;
      const source = out - change.offset;
      return source >= this.#segmentStart ? source & 0xffff : null;
    }
    return null;
  }

  #offsetAt(extended: number): number {
    for (let i = this.#changes.length - 1; i >= 0; i--) {
      const change = this.#changes[i] as OffsetChange;
      if (change.source <= extended) return change.offset;
    }
    return (this.#changes[0] as OffsetChange).offset;
  }

  #startSegment(sourceSequence: number, sourceTimestamp: number, nowMs: number): void {
    this.#newSegment = false;
    this.#lastOutExtended = -1;
    // Extended numbers start high enough that a segment never reaches below zero.
    this.#segmentStart = 0x10000 + sourceSequence;
    this.#highestSource = this.#segmentStart;
    if (this.#lastOutSequence < 0) {
      // The first packet ever: keep the source's numbering.
      this.#changes = [{ source: this.#segmentStart, offset: -0x10000 }];
      this.#timestampOffset = 0;
      return;
    }
    const offset = ((this.#lastOutSequence + 1 - sourceSequence) & 0xffff) - 0x10000;
    this.#changes = [{ source: this.#segmentStart, offset }];
    // Advance the timestamp by the wall-clock time since the last packet sent, at least one tick.
    const elapsedTicks = Math.max(1, Math.round(((nowMs - this.#lastOutAtMs) * this.#clockRate) / 1000));
    this.#timestampOffset = (this.#lastOutTimestamp + elapsedTicks - sourceTimestamp) >>> 0;
  }
}
