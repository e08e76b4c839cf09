import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReorderBuffer } from './ReorderBuffer.js';

function packet(sequence: number): Buffer {
  const buffer = Buffer.alloc(12);
  buffer[0] = 0x80;
  buffer.writeUInt16BE(sequence & 0xffff, 2);
  return buffer;
}

/** A buffer and the 16-bit sequence numbers it hands on. */
function harness(capacity = 8, maxWaitMs = 100) {
  const buffer = new ReorderBuffer({ capacity, maxWaitMs });
  const out: number[] = [];
  const handler = (p: Uint8Array): void => {
    out.push(p.length >= 4 ? ((p[2] as number) << 8) | (p[3] as number) : -1);
  };
  return {
    buffer,
    out,
    push: (sequence: number, arrivalMs = 0) => {
      buffer.push(packet(sequence), arrivalMs, handler);
    },
    expire: (nowMs: number) => {
      buffer.expire(nowMs, handler);
    },
    drain: () => {
      buffer.drain(handler);
    },
  };
}

describe('ReorderBuffer', () => {
  it('passes packets in order straight through, the caller’s own buffer', () => {
    const buffer = new ReorderBuffer({ capacity: 8, maxWaitMs: 100 });
    const given = packet(7);
    let seen: Uint8Array | undefined;
    buffer.push(given, 0, (p) => (seen = p));
    assert.equal(seen, given);
  });

  it('puts reordered packets back in order, keeping copies of those that wait', () => {
    const buffer = new ReorderBuffer({ capacity: 8, maxWaitMs: 100 });
    const out: [number, number][] = [];
    const early = packet(3);
    const handler = (p: Uint8Array, sequence: number): void => {
      out.push([sequence & 0xffff, (p[3] as number) & 0xff]);
    };
    buffer.push(packet(1), 0, handler);
    buffer.push(early, 1, handler);
    early.fill(0); // the caller reuses its buffer
    buffer.push(packet(2), 2, handler);
    assert.deepEqual(out, [
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
  });

  it('gives up on a gap after the wait, counting the packet lost; a later arrival is late', () => {
    const h = harness();
    h.push(10, 0);
    h.push(12, 10);
    h.push(13, 20);
    assert.deepEqual(h.out, [10]);
    h.expire(109);
    assert.deepEqual(h.out, [10], 'still waiting 99 ms after the gap showed');
    h.expire(110);
    assert.deepEqual(h.out, [10, 12, 13]);
    assert.equal(h.buffer.lost, 1);
    h.push(11, 120);
    assert.equal(h.buffer.late, 1);
    assert.deepEqual(h.out, [10, 12, 13]);
  });

  it('gives up on the gap when a packet comes too far ahead to wait for what is missing', () => {
    const h = harness(4);
    h.push(0);
    for (const sequence of [2, 3, 7]) h.push(sequence);
    assert.deepEqual(h.out, [0, 2, 3, 7]);
    assert.equal(h.buffer.lost, 4);
  });

  it('follows the numbering across 65535 to 0, and drops duplicates', () => {
    const h = harness();
    for (const sequence of [65533, 65535, 65534, 0, 0, 2, 1]) h.push(sequence);
    assert.deepEqual(h.out, [65533, 65534, 65535, 0, 1, 2]);
    assert.equal(h.buffer.late, 1);
    assert.equal(h.buffer.lost, 0);
  });

  it('hands on what waits when drained, and starts afresh when the numbering jumps far back', () => {
    const h = harness();
    h.push(100);
    h.push(102);
    h.drain();
    assert.deepEqual(h.out, [100, 102]);
    h.push(50);
    assert.equal(h.buffer.late, 0);
    h.push(51);
    assert.deepEqual(h.out, [100, 102, 50, 51]);
  });
});
