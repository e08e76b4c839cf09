import { extendSequenceNumber } from './rtpHeader.js';

/**
 * Which packets of one incoming stream to ask the sender to resend (generic NACK, RFC 4585
 * §6.2.1), as a receiver that repairs loss does: each sequence number a gap leaves out is asked
 * for at once, then again each round trip while it stays missing, up to a number of times or an
 * age past which it would come too late to be played.
 */
export interface NackRequesterSettings {
  /** How many times a missing packet is asked for at most. */
  readonly maxRequests: number;
  /** How long after it went missing a packet is still asked for, ms. */
  readonly maxAgeMs: number;
  /** A gap wider than this is a restart of the stream, not loss: nothing is asked for. */
  readonly maxGap: number;
}

export const defaultNackRequesterSettings: NackRequesterSettings = {
  maxRequests: 10,
  maxAgeMs: 1000,
  maxGap: 500,
};

/** Round trip assumed before one was measured, ms. */
const defaultRttMs = 100;
/** Requests of one packet come at least this far apart, whatever the round trip, ms. */
const minRetryMs = 20;

interface MissingPacket {
  readonly sinceMs: number;
  requestedAtMs: number;
  requests: number;
}

export class NackRequester {
  readonly #settings: NackRequesterSettings;
  /** The highest sequence number received, extended past wraps; null before any. */
  #highest: number | null = null;
  /** Missing packets by extended sequence number, oldest first. */
  readonly #missing = new Map<number, MissingPacket>();
  #rttMs: number | null = null;
  #missed = 0;
  #requested = 0;
  #repaired = 0;

  constructor(settings: NackRequesterSettings = defaultNackRequesterSettings) {
    this.#settings = settings;
  }

  /**
   * Packets gaps left out, packets asked for (each request counts), and packets that came after
   * they were asked for.
   */
  get counts(): { readonly missed: number; readonly requested: number; readonly repaired: number } {
    return { missed: this.#missed, requested: this.#requested, repaired: this.#repaired };
  }

  /** The round trip a resend takes, from requests to their answers, ms; null before one came. */
  get rttMs(): number | null {
    return this.#rttMs;
  }

  /** Whether a sequence number is missing and still asked for: a resend of it is welcome. */
  isMissing(sequence: number): boolean {
    return this.#highest !== null && this.#missing.has(extendSequenceNumber(sequence, this.#highest));
  }

  /** Notes a packet that arrived (first sent, or resent); returns the sequence numbers to ask for now. */
  receive(sequence: number, nowMs: number): number[] {
    if (this.#highest === null) {
      this.#highest = extendSequenceNumber(sequence, 0x10000);
      return [];
    }
    const extended = extendSequenceNumber(sequence, this.#highest);
    if (extended <= this.#highest) {
      const missing = this.#missing.get(extended);
      if (missing) {
        this.#missing.delete(extended);
        if (missing.requests > 0) {
          this.#repaired++;
          if (missing.requests === 1) this.#noteRtt(nowMs - missing.requestedAtMs);
        }
      }
      return [];
    }
    const gap = extended - this.#highest - 1;
    this.#highest = extended;
    if (gap > this.#settings.maxGap) {
      this.#missing.clear();
      return [];
    }
    this.#missed += gap;
    for (let missing = extended - gap; missing < extended; missing++)
      this.#missing.set(missing, { sinceMs: nowMs, requestedAtMs: 0, requests: 0 });
    return gap > 0 ? this.due(nowMs) : [];
  }

  /** The sequence numbers to ask for (again) now; forgets those asked for enough or too old. */
  due(nowMs: number): number[] {
    const retryMs = Math.max(minRetryMs, this.#rttMs ?? defaultRttMs);
    const due: number[] = [];
    for (const [extended, missing] of this.#missing) {
      if (
        missing.requests >= this.#settings.maxRequests ||
        nowMs - missing.sinceMs > this.#settings.maxAgeMs
      ) {
        this.#missing.delete(extended);
        continue;
      }
      if (missing.requests > 0 && nowMs - missing.requestedAtMs < retryMs) continue;
      missing.requests++;
      missing.requestedAtMs = nowMs;
      due.push(extended & 0xffff);
    }
    this.#requested += due.length;
    return due;
  }

  /** When `due` may next have something to ask for, ms; null when nothing is missing. */
  nextDueMs(): number | null {
    const retryMs = Math.max(minRetryMs, this.#rttMs ?? defaultRttMs);
    let next: number | null = null;
    for (const missing of this.#missing.values()) {
      const at = missing.requests === 0 ? missing.sinceMs : missing.requestedAtMs + retryMs;
      next = next === null ? at : Math.min(next, at);
    }
    return next;
  }

  #noteRtt(sampleMs: number): void {
    this.#rttMs = this.#rttMs === null ? sampleMs : this.#rttMs + (sampleMs - this.#rttMs) / 8;
  }
}
