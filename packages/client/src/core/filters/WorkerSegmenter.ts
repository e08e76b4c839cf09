import { OneFrameSegmenter } from './OneFrameSegmenter.js';
import {
  maskHeight,
  maskWidth,
  workerAssets,
  type SegmentationReply,
  type SegmentationRequest,
} from './segmentationMessages.js';

export interface WorkerSegmenterOptions {
  /** How long the worker may take to load the model (13 MB of WebAssembly, then the graph), ms. Default: 30,000. */
  readonly loadTimeoutMs?: number;
  /**
   * How long a frame may stay with the worker before it is taken for stopped, ms (a mask takes
   * well under a second, even on a loaded machine's software WebGL). Default: 10,000.
   */
  readonly answerTimeoutMs?: number;
  /**
   * Called once if the worker stops working after it started: it failed, stopped answering, or
   * could segment none of `maxSkippedInARow` frames in a row. The segmenter is closed by then,
   * its last mask gone. Default: none.
   */
  readonly onFailed?: (error: Error) => void;
}

const defaults = { loadTimeoutMs: 30_000, answerTimeoutMs: 10_000 } as const;

/** Frames in a row the worker may skip (it answered, but with no mask) before it is taken for broken: 1 s at 15 masks a second. */
export const maxSkippedInARow = 15;

/** Whether the page can segment off its main thread: module workers, OffscreenCanvas, VideoFrame. */
export function hasWorkerSegmentation(): boolean {
  return (
    typeof Worker === 'function' &&
    typeof OffscreenCanvas === 'function' &&
    typeof VideoFrame === 'function' &&
    typeof URL.createObjectURL === 'function'
  );
}

/**
 * Person segmentation in a dedicated worker (MediaPipe Tasks' ImageSegmenter, GPU delegate where
 * it starts, else CPU): frames go over as transferred `VideoFrame`s, masks come back as
 * `ImageBitmap`s. A worker that stops working after it started closes the segmenter and says so
 * (`onFailed`), rather than leaving its last mask in place.
 */
export class WorkerSegmenter extends OneFrameSegmenter {
  readonly mask = new OffscreenCanvas(maskWidth, maskHeight);
  readonly delegate: 'GPU' | 'CPU';
  readonly #worker: Worker;
  readonly #answerTimeoutMs: number;
  readonly #onFailed: ((error: Error) => void) | undefined;
  #answerTimer: ReturnType<typeof setTimeout> | undefined;
  #skippedInARow = 0;

  private constructor(worker: Worker, delegate: 'GPU' | 'CPU', options: WorkerSegmenterOptions) {
    super();
    this.#worker = worker;
    this.delegate = delegate;
    this.#answerTimeoutMs = options.answerTimeoutMs ?? defaults.answerTimeoutMs;
    this.#onFailed = options.onFailed;
    worker.onmessage = ({ data }: MessageEvent<SegmentationReply>) => {
      if (data.type === 'mask') this.#received(data.mask);
      else if (data.type === 'skipped') this.#skipped(data.message);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      this.#fail(`the segmentation worker failed: ${event.message || 'it stopped'}`);
    };
  }

  /**
   * Starts the worker from Parlor's `assetsUrl` (`/v2/js/filters`, loaded across origins by a
   * module import, which the server's CORS allows) and waits until the model is ready.
   */
  static async create(assetsUrl: string, options: WorkerSegmenterOptions = {}): Promise<WorkerSegmenter> {
    const loadTimeoutMs = options.loadTimeoutMs ?? defaults.loadTimeoutMs;
    const source = `import ${JSON.stringify(`${assetsUrl}/${workerAssets.script}`)};`;
    const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
    const worker = new Worker(url, { type: 'module', name: 'parlor-segmentation' });
    URL.revokeObjectURL(url);
    try {
      const delegate = await new Promise<'GPU' | 'CPU'>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`the segmentation worker was not ready in ${loadTimeoutMs} ms`));
        }, loadTimeoutMs);
        worker.onmessage = ({ data }: MessageEvent<SegmentationReply>) => {
          clearTimeout(timer);
          if (data.type === 'ready') resolve(data.delegate);
          else reject(new Error(data.type === 'failed' ? data.message : `unexpected ${data.type}`));
        };
        worker.onerror = (event) => {
          clearTimeout(timer);
          event.preventDefault();
          reject(new Error(`the segmentation worker failed: ${event.message || 'it did not load'}`));
        };
        const load: SegmentationRequest = { type: 'load', assetsUrl };
        worker.postMessage(load);
      });
      return new WorkerSegmenter(worker, delegate, options);
    } catch (error) {
      worker.terminate();
      throw error;
    }
  }

  /** Sends a copy of `frame` to the worker. */
  protected start(frame: VideoFrame): boolean {
    const copy = frame.clone();
    const request: SegmentationRequest = { type: 'segment', frame: copy };
    this.#worker.postMessage(request, [copy]);
    this.#answerTimer = setTimeout(() => {
      this.#fail(`the segmentation worker did not answer in ${this.#answerTimeoutMs} ms`);
    }, this.#answerTimeoutMs);
    return true;
  }

  /** Ends the worker and its model. */
  protected free(): void {
    clearTimeout(this.#answerTimer);
    this.#worker.terminate();
  }

  #received(mask: ImageBitmap): void {
    clearTimeout(this.#answerTimer);
    const context = this.mask.getContext('2d');
    if (context && !this.closed) {
      context.globalCompositeOperation = 'copy';
      context.drawImage(mask, 0, 0);
      this.maskDrawn();
    }
    mask.close();
    this.#skippedInARow = 0;
    this.finished();
  }

  #skipped(message: string): void {
    clearTimeout(this.#answerTimer);
    this.finished();
    if (++this.#skippedInARow >= maxSkippedInARow)
      this.#fail(`the segmentation worker segmented none of ${maxSkippedInARow} frames in a row: ${message}`);
  }

  #fail(message: string): void {
    if (this.closed) return;
    this.close();
    this.#onFailed?.(new Error(message));
  }
}
