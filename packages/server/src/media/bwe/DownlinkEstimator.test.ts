import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DownlinkEstimator } from './DownlinkEstimator.js';

/**
 * A bottleneck link: a FIFO drained at `bitsPerSecond`, holding at most `queueMs` of it (tail
 * drop), with a fixed propagation delay and, optionally, random jitter on each arrival.
 */
class SimulatedLink {
  bitsPerSecond: number;
  readonly #queueMs: number;
  #busyUntilMs = 0;
  readonly #jitterMs: number;
  #seed = 7;

  constructor(bitsPerSecond: number, queueMs: number, jitterMs = 0) {
    this.bitsPerSecond = bitsPerSecond;
    this.#queueMs = queueMs;
    this.#jitterMs = jitterMs;
  }

  /** When a packet sent now arrives; null when the queue drops it. */
  carry(bytes: number, nowMs: number): number | null {
    const start = Math.max(nowMs, this.#busyUntilMs);
    if (start - nowMs > this.#queueMs) return null;
    this.#busyUntilMs = start + (bytes * 8 * 1000) / this.bitsPerSecond;
    return this.#busyUntilMs + 20 + this.#random() * this.#jitterMs;
  }

  #random(): number {
    this.#seed = (this.#seed * 16807) % 2147483647;
    return this.#seed / 2147483647;
  }
}

/**
 * A subscriber's traffic: audio (50 packets/s of 120 bytes) and video frames (`fps`, each
 * `frameBytes` in packets of up to 1200 bytes sent at once), over the link, with feedback every
 * 100 ms telling the arrivals (rounded to 0.25 ms, as on the wire) since the last one.
 */
class Traffic {
  readonly estimator = new DownlinkEstimator();
  readonly link: SimulatedLink;
  frameBytes: number;
  readonly #fps: number;
  #nowMs = 0;
  #pending: { sequence: number; arrivalMs: number | null }[] = [];
  readonly signals: { atMs: number; signal: string; bitrate: number | null }[] = [];

  constructor(link: SimulatedLink, frameBytes: number, fps = 30) {
    this.link = link;
    this.frameBytes = frameBytes;
    this.#fps = fps;
  }

  get nowMs(): number {
    return this.#nowMs;
  }

  run(untilMs: number): void {
    for (; this.#nowMs < untilMs; this.#nowMs++) {
      const now = this.#nowMs;
      if (now % 20 === 0) this.#send(120, now);
      if (now % Math.round(1000 / this.#fps) === 0) {
        for (let left = this.frameBytes; left > 0; left -= 1200) this.#send(Math.min(left, 1200), now);
      }
      if (now % 100 === 0 && this.#pending.length > 0) this.#feedBack(now);
    }
  }

  #send(bytes: number, nowMs: number): void {
    const sequence = this.estimator.nextSequence;
    this.estimator.onSend(bytes, nowMs);
    this.#pending.push({ sequence, arrivalMs: this.link.carry(bytes, nowMs) });
  }

  /** Tells of the packets sent up to what has arrived by now (later ones are still in flight). */
  #feedBack(nowMs: number): void {
    let count = 0;
    while (count < this.#pending.length) {
      const arrival = (this.#pending[count] as { arrivalMs: number | null }).arrivalMs;
      if (arrival !== null && arrival > nowMs) break;
      count++;
    }
    if (count === 0) return;
    const told = this.#pending.splice(0, count);
    const bitrate = this.estimator.onFeedback(
      {
        baseSequence: (told[0] as { sequence: number }).sequence,
        arrivals: told.map(({ arrivalMs }) => (arrivalMs === null ? null : Math.round(arrivalMs * 4) / 4)),
      },
      50,
      nowMs,
    );
    this.signals.push({ atMs: nowMs, signal: this.estimator.signal, bitrate });
  }
}

describe('downlink estimate from transport-wide feedback', () => {
  it('knows nothing of a link that never pushed back, whatever it delivered', () => {
    const traffic = new Traffic(new SimulatedLink(5_000_000, 500, 2), 1000);
    traffic.run(12_000);
    assert.ok(
      traffic.signals.every(({ signal }) => signal !== 'overusing'),
      'jitter is no overuse',
    );
    assert.equal(traffic.estimator.bitrate, null);
  });

  it('tells of a narrowed link within half a second, near what the link then carries', () => {
    const link = new SimulatedLink(2_000_000, 400, 1);
    const traffic = new Traffic(link, 1000);
    traffic.run(10_000);
    link.bitsPerSecond = 60_000;
    traffic.run(10_500);
    const overuse = traffic.signals.find(({ atMs, signal }) => atMs > 10_000 && signal === 'overusing');
    assert.ok(overuse && overuse.atMs <= 10_400, `overuse at ${overuse?.atMs}`);
    traffic.run(11_000);
    const bitrate = traffic.estimator.bitrate as number;
    assert.ok(bitrate < 100_000, `estimate ${bitrate} a second after the link narrowed to 60 kbit/s`);
  });

  it('climbs back when the link widens again', () => {
    const link = new SimulatedLink(150_000, 400, 1);
    const traffic = new Traffic(link, 1000);
    traffic.run(2000);
    const overuse = traffic.signals.find(({ signal }) => signal === 'overusing');
    assert.ok(
      overuse?.bitrate && overuse.bitrate < 150_000,
      `estimate ${overuse?.bitrate} on a 150 kbit/s link`,
    );
    // The router steps down to what fits; the queue drains; then the link widens and a trial
    // sends more again.
    traffic.frameBytes = 100;
    traffic.run(5000);
    link.bitsPerSecond = 5_000_000;
    traffic.frameBytes = 1000;
    traffic.run(15_000);
    assert.ok((traffic.estimator.bitrate as number) > 280_000, `estimate ${traffic.estimator.bitrate}`);
  });

  it('counts each packet once, a late one no longer lost, and ignores what it never sent', () => {
    const estimator = new DownlinkEstimator();
    for (let ms = 0; ms < 10; ms++) estimator.onSend(100, ms);
    estimator.onFeedback({ baseSequence: 0, arrivals: [20, null, 22, null] }, null, 30);
    // 3 told lost again, 1 late after all, 4 and 5 arrived; then 9, and 10 and 11 never sent.
    estimator.onFeedback({ baseSequence: 1, arrivals: [23, 22, null, 24, 25] }, null, 40);
    estimator.onFeedback({ baseSequence: 9, arrivals: [30, 31, 32] }, null, 50);
    assert.deepEqual(estimator.feedbackCounts, { reported: 7, lost: 1 });
  });

  it('unwraps the 16-bit sequence numbers', () => {
    const estimator = new DownlinkEstimator();
    for (let i = 0; i < 70_000; i++) estimator.onSend(100, i);
    assert.equal(estimator.nextSequence, 70_000 & 0xffff);
    estimator.onFeedback(
      { baseSequence: 69_990 & 0xffff, arrivals: new Array(10).fill(70_010) },
      null,
      70_020,
    );
    assert.deepEqual(estimator.feedbackCounts, { reported: 10, lost: 0 });
  });
});
