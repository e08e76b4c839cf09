import { readSendTime } from './sendTime.js';

/** What the subscribers of a load process received over a measuring window. */
export interface WindowCounts {
  /** Subscribed tracks that were counted (a stream with audio and video has two). */
  readonly tracks: number;
  readonly packets: number;
  readonly bytes: number;
  /** Packets missing from the sequence numbers the tracks received (never below 0 per track). */
  readonly lost: number;
  /** Latency from the publisher's send to the subscriber's receive, ms, every packet's. */
  readonly latenciesMs: readonly number[];
}

interface TrackSnapshot {
  readonly packets: number;
  readonly bytes: number;
  readonly highest: number;
  readonly atMs: number;
}

/** One subscribed track: packets and bytes received, the sequence numbers seen. */
export class TrackMeter {
  packets = 0;
  bytes = 0;
  /** First and highest sequence numbers received, extended past wrap-arounds; -1 before the first. */
  first = -1;
  highest = -1;
  /** The rate its publisher sends at, to count a track that received nothing at all as lost. */
  readonly sentPerSecond: number;
  readonly #meter: ReceiveMeter;

  constructor(meter: ReceiveMeter, sentPerSecond: number) {
    this.#meter = meter;
    this.sentPerSecond = sentPerSecond;
  }

  /** Counts an RTP packet: its sequence number, size on the wire, and the payload's stamp if decrypted. */
  receive(sequence: number, bytes: number, payload: Buffer | null): void {
    this.packets++;
    this.bytes += bytes;
    if (this.highest < 0) {
      this.first = sequence;
      this.highest = sequence;
    } else {
      const delta = ((sequence - (this.highest & 0xffff) + 0x8000) & 0xffff) - 0x8000;
      if (delta > 0) this.highest += delta;
    }
    if (payload) this.#meter.recordLatency(performance.now() - readSendTime(payload));
  }
}

/**
 * The counters of every track the subscribers of a load process receive, and the latencies
 * of the packets received while a window is open.
 */
export class ReceiveMeter {
  readonly #tracks: TrackMeter[] = [];
  #latencies: number[] | null = null;
  #start = new Map<TrackMeter, TrackSnapshot>();

  /** A new track, whose publisher sends `sentPerSecond` packets per second. */
  track(sentPerSecond: number): TrackMeter {
    const meter = new TrackMeter(this, sentPerSecond);
    this.#tracks.push(meter);
    return meter;
  }

  recordLatency(latencyMs: number): void {
    if (this.#latencies && Number.isFinite(latencyMs)) this.#latencies.push(latencyMs);
  }

  /** Opens a measuring window: what the tracks received so far is left out. */
  startWindow(): void {
    this.#latencies = [];
    this.#start = new Map(
      this.#tracks.map((t) => [
        t,
        { packets: t.packets, bytes: t.bytes, highest: t.highest, atMs: performance.now() },
      ]),
    );
  }

  /** Closes the window and tells what the tracks that were there at its start received in it. */
  endWindow(): WindowCounts {
    let packets = 0;
    let bytes = 0;
    let lost = 0;
    for (const [track, start] of this.#start) {
      const received = track.packets - start.packets;
      packets += received;
      bytes += track.bytes - start.bytes;
      if (received === 0) {
        // A stalled track: all it should have received is lost.
        lost += Math.round((track.sentPerSecond * (performance.now() - start.atMs)) / 1000);
        continue;
      }
      // A track that had received nothing before the window counts from its first packet.
      const from = start.highest < 0 ? track.first - 1 : start.highest;
      lost += Math.max(0, track.highest - from - received);
    }
    const latenciesMs = this.#latencies ?? [];
    this.#latencies = null;
    return { tracks: this.#start.size, packets, bytes, lost, latenciesMs };
  }
}
