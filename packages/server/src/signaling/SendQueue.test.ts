import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { SendQueue, type FrameWriter, type OutgoingFrame, type SendQueueLimits } from './SendQueue.js';
import { SendScheduler } from './SendScheduler.js';

/** A socket that keeps what it was handed, in order, and says it was written out when told. */
class FakeSocket implements FrameWriter {
  readonly frames: string[] = [];
  readonly #unwritten: (() => void)[] = [];

  write(frame: OutgoingFrame, written: () => void): void {
    this.frames.push(
      typeof frame === 'string' ? frame : `${frame.head}${frame.body.toString()}${frame.tail}`,
    );
    this.#unwritten.push(written);
  }

  cork(): void {}
  uncork(): void {}

  /** The client read everything handed to the socket so far. */
  drain(): void {
    for (const written of this.#unwritten.splice(0)) written();
  }
}

const roomy: SendQueueLimits = { maxBytes: 1_000_000, maxMessages: 1000, writeWindowBytes: 1_000_000 };

function queues(count: number, limits = roomy, framesPerTurn = 4) {
  const scheduler = new SendScheduler({ framesPerTurn });
  const sockets = Array.from({ length: count }, () => new FakeSocket());
  return { scheduler, sockets, queues: sockets.map((socket) => new SendQueue(socket, scheduler, limits)) };
}

describe('SendQueue and SendScheduler', () => {
  it('write an urgent frame at once, and a broadcast in slices of the turn budget', async () => {
    const {
      sockets,
      queues: [a, ...others],
    } = queues(10);
    assert.ok(a);
    a.push('answer', true);
    assert.deepEqual(sockets[0]?.frames, ['answer']);
    const body = Buffer.from('cast');
    for (const queue of [a, ...others]) queue.push({ head: 'broad', body, tail: '' }, false);
    assert.equal(sockets.filter((socket) => socket.frames.includes('broadcast')).length, 0);
    await nextTurn();
    assert.equal(sockets.filter((socket) => socket.frames.includes('broadcast')).length, 4);
    await nextTurn();
    await nextTurn();
    assert.equal(sockets.filter((socket) => socket.frames.includes('broadcast')).length, 10);
  });

  it('never let a later frame overtake an earlier one, urgent or not, across slices', async () => {
    const { sockets, queues: all } = queues(6, roomy, 3);
    for (let round = 0; round < 5; round++) {
      for (const queue of all) queue.push(`broadcast ${round}`, false);
      // An answer to the last socket while the broadcasts are still waiting for their slice.
      all[5]?.push(`answer ${round}`, true);
      await nextTurn();
    }
    for (let turn = 0; turn < 20; turn++) await nextTurn();
    const expected = [0, 1, 2, 3, 4].map((round) => `broadcast ${round}`);
    for (const socket of sockets.slice(0, 5)) assert.deepEqual(socket.frames, expected);
    assert.deepEqual(
      sockets[5]?.frames,
      [0, 1, 2, 3, 4].flatMap((round) => [`broadcast ${round}`, `answer ${round}`]),
    );
  });

  it('hold frames back past the write window until the socket has written the earlier ones', async () => {
    const {
      sockets,
      queues: [queue],
    } = queues(1, { ...roomy, writeWindowBytes: 10 });
    const [socket] = sockets;
    assert.ok(queue && socket);
    queue.push('12345678', true);
    queue.push('abcdefgh', true);
    queue.push('ABCDEFGH', false);
    await nextTurn();
    assert.deepEqual(socket.frames, ['12345678', 'abcdefgh']);
    assert.equal(queue.bytes, 24);
    socket.drain();
    await nextTurn();
    assert.deepEqual(socket.frames, ['12345678', 'abcdefgh', 'ABCDEFGH']);
    socket.drain();
    assert.equal(queue.bytes, 0);
  });

  it('refuse a frame past the bytes or frames unsent, but always take one into an empty queue', () => {
    const {
      sockets,
      queues: [queue],
    } = queues(1, { maxBytes: 10, maxMessages: 3, writeWindowBytes: 1 });
    assert.ok(queue);
    assert.equal(queue.push('x'.repeat(50), true), true);
    assert.equal(queue.push('y', true), false);
    sockets[0]?.drain();
    assert.deepEqual(
      [queue.push('a', true), queue.push('b', false), queue.push('c', false)],
      [true, true, true],
    );
    assert.equal(queue.push('d', false), false);
    assert.equal(queue.frames, 3);
  });

  it('write what waits before closing when asked, and nothing after', async () => {
    const {
      sockets,
      queues: [queue],
    } = queues(1, { ...roomy, writeWindowBytes: 1 });
    assert.ok(queue);
    queue.push('first', true);
    queue.push('second', false);
    queue.close(true);
    queue.push('third', true);
    await nextTurn();
    assert.deepEqual(sockets[0]?.frames, ['first', 'second']);
  });
});
