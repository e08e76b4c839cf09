import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FallbackSegmenter } from '../src/core/filters/FallbackSegmenter.js';
import type { Segmenter } from '../src/core/filters/OneFrameSegmenter.js';
import type { SegmentationReply, SegmentationRequest } from '../src/core/filters/segmentationMessages.js';
import { maxSkippedInARow, WorkerSegmenter } from '../src/core/filters/WorkerSegmenter.js';

/** The segmentation worker as the page sees it: it answers `load` with `ready`; the test does the rest. */
class FakeWorker {
  static last: FakeWorker | undefined;
  onmessage: ((event: { data: SegmentationReply }) => void) | null = null;
  onerror: ((event: { message: string; preventDefault(): void }) => void) | null = null;
  readonly segmented: SegmentationRequest[] = [];
  terminated = false;

  constructor() {
    FakeWorker.last = this;
  }

  postMessage(request: SegmentationRequest): void {
    if (request.type === 'load')
      queueMicrotask(() => {
        this.reply({ type: 'ready', delegate: 'CPU' });
      });
    else this.segmented.push(request);
  }

  reply(data: SegmentationReply): void {
    this.onmessage?.({ data });
  }

  crash(message: string): void {
    this.onerror?.({ message, preventDefault: () => undefined });
  }

  terminate(): void {
    this.terminated = true;
  }
}

class FakeCanvas {
  constructor(
    readonly width: number,
    readonly height: number,
  ) {}

  getContext(): unknown {
    return { globalCompositeOperation: '', drawImage: () => undefined };
  }
}

const frame = { clone: () => frame, close: () => undefined } as unknown as VideoFrame;
const mask = (): ImageBitmap => ({ close: () => undefined }) as unknown as ImageBitmap;

describe('the segmentation worker stopping after it started', () => {
  const globals = globalThis as Record<string, unknown>;
  const saved = { Worker: globals.Worker, OffscreenCanvas: globals.OffscreenCanvas };
  beforeEach(() => {
    Object.assign(globals, { Worker: FakeWorker, OffscreenCanvas: FakeCanvas });
  });
  afterEach(() => {
    Object.assign(globals, saved);
  });

  /** A started worker segmenter with a mask, and the errors it reported. */
  async function started(): Promise<{ segmenter: WorkerSegmenter; worker: FakeWorker; failures: Error[] }> {
    const failures: Error[] = [];
    const segmenter = await WorkerSegmenter.create('https://parlor.test/v2/js/filters', {
      onFailed: (error) => failures.push(error),
    });
    const worker = FakeWorker.last;
    assert.ok(worker);
    segmenter.segment(frame);
    worker.reply({ type: 'mask', mask: mask() });
    assert.equal(segmenter.hasMask, true);
    return { segmenter, worker, failures };
  }

  it('a crash closes the segmenter, its last mask gone, and is reported once', async () => {
    const { segmenter, worker, failures } = await started();
    segmenter.segment(frame);
    worker.crash('out of memory');
    worker.crash('again');
    assert.deepEqual(
      failures.map((error) => error.message),
      ['the segmentation worker failed: out of memory'],
    );
    assert.equal(segmenter.hasMask, false);
    assert.equal(worker.terminated, true);
    segmenter.segment(frame);
    assert.equal(worker.segmented.length, 2, 'nothing more is sent');
  });

  it('a frame left unanswered past the answer timeout is taken for a stopped worker', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { segmenter, worker, failures } = await started();
    segmenter.segment(frame);
    t.mock.timers.tick(9999);
    assert.equal(failures.length, 0);
    t.mock.timers.tick(1);
    assert.deepEqual(
      failures.map((error) => error.message),
      ['the segmentation worker did not answer in 10000 ms'],
    );
    assert.equal(segmenter.hasMask, false);
    assert.equal(worker.terminated, true);
  });

  it('so many frames in a row answered without a mask is a broken worker; one mask between resets the count', async () => {
    const { segmenter, worker, failures } = await started();
    const skip = (times: number): void => {
      for (let i = 0; i < times; i++) {
        segmenter.segment(frame);
        worker.reply({ type: 'skipped', message: 'the model is not loaded' });
      }
    };
    skip(maxSkippedInARow - 1);
    segmenter.segment(frame);
    worker.reply({ type: 'mask', mask: mask() });
    skip(maxSkippedInARow - 1);
    assert.equal(failures.length, 0);
    assert.equal(segmenter.hasMask, true, 'a skipped frame keeps the mask of the one before');
    skip(1);
    assert.equal(failures.length, 1);
    assert.match(failures[0]?.message ?? '', /none of 15 frames in a row: the model is not loaded/);
    assert.equal(segmenter.hasMask, false);
  });
});

/** A segmenter that masks each frame at once, as the test tells. */
class FakeSegmenter implements Segmenter {
  readonly mask: CanvasImageSource;
  hasMask = false;
  readonly busy = false;
  closed = false;

  constructor(readonly name: string) {
    this.mask = { name } as unknown as CanvasImageSource;
  }

  segment(): void {
    if (!this.closed) this.hasMask = true;
  }

  close(): void {
    this.closed = true;
    this.hasMask = false;
  }
}

describe('FallbackSegmenter', () => {
  /** A logger that keeps what it was told. */
  const logger = () => {
    const lines: string[] = [];
    return {
      lines,
      warn: (message: unknown) => lines.push(`warn: ${String(message)}`),
      error: (message: unknown) => lines.push(`error: ${String(message)}`),
    };
  };

  it('segments on the main thread once the worker stops, with no mask in between', async () => {
    const worker = new FakeSegmenter('worker');
    let failWorker: (error: Error) => void = () => undefined;
    let mainThreadReady: (segmenter: Segmenter) => void = () => undefined;
    const log = logger();
    const segmenter = await FallbackSegmenter.create({
      inWorker: (failed) => {
        failWorker = failed;
        return Promise.resolve(worker);
      },
      onMainThread: () => new Promise((resolve) => (mainThreadReady = resolve)),
      logger: log,
    });
    segmenter.segment(frame);
    assert.equal(segmenter.mask, worker.mask);
    worker.close();
    failWorker(new Error('the segmentation worker failed: out of memory'));
    assert.equal(segmenter.mask, null, "the worker's last mask is not reused");
    segmenter.segment(frame);
    assert.equal(segmenter.mask, null);
    const mainThread = new FakeSegmenter('main thread');
    mainThreadReady(mainThread);
    await Promise.resolve();
    segmenter.segment(frame);
    assert.equal(segmenter.mask, mainThread.mask);
    assert.deepEqual(log.lines, ['warn: the segmentation worker stopped; segmenting on the main thread']);
    segmenter.close();
    segmenter.close();
    assert.equal(mainThread.closed, true);
  });

  it("starts on the main thread when the worker does not load, and closes a main thread's segmenter that comes after close", async () => {
    const log = logger();
    const first = await FallbackSegmenter.create({
      inWorker: () => Promise.reject(new Error('no WebGL')),
      onMainThread: () => Promise.resolve(new FakeSegmenter('main thread')),
      logger: log,
    });
    first.segment(frame);
    assert.notEqual(first.mask, null);
    assert.deepEqual(log.lines, ['warn: segmenting in a worker failed; segmenting on the main thread']);

    let failWorker: (error: Error) => void = () => undefined;
    let mainThreadReady: (segmenter: Segmenter) => void = () => undefined;
    const second = await FallbackSegmenter.create({
      inWorker: (failed) => {
        failWorker = failed;
        return Promise.resolve(new FakeSegmenter('worker'));
      },
      onMainThread: () => new Promise((resolve) => (mainThreadReady = resolve)),
      logger: log,
    });
    failWorker(new Error('stopped'));
    second.close();
    const late = new FakeSegmenter('late');
    mainThreadReady(late);
    await Promise.resolve();
    assert.equal(late.closed, true);
    assert.equal(second.mask, null);
  });

  it('logs an error and keeps no mask when the main thread cannot segment either', async () => {
    const log = logger();
    let failWorker: (error: Error) => void = () => undefined;
    let calls = 0;
    const segmenter = await FallbackSegmenter.create({
      inWorker: (failed) => {
        failWorker = failed;
        return Promise.resolve(new FakeSegmenter('worker'));
      },
      onMainThread: () => {
        calls++;
        return Promise.reject(new Error('no WebGL'));
      },
      logger: log,
    });
    failWorker(new Error('stopped'));
    await new Promise((resolve) => setImmediate(resolve));
    segmenter.segment(frame);
    assert.equal(segmenter.mask, null);
    assert.equal(calls, 1);
    assert.deepEqual(log.lines, [
      'warn: the segmentation worker stopped; segmenting on the main thread',
      'error: segmentation stopped: the whole frame is background from now on',
    ]);
    segmenter.close();
  });
});
