import {
  maskHeight,
  maskWidth,
  workerAssets,
  type SegmentationReply,
  type SegmentationRequest,
} from './segmentationMessages.js';

/** How long the worker may take to load the model (13 MB of WebAssembly, then the graph). Default of `create`. */
const defaultLoadTimeoutMs = 30_000;

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
 * `ImageBitmap`s. At most one frame is in flight; `segment` while one is does nothing (the frame
 * is dropped, never queued). `mask` holds the latest result: alpha is the confidence that a pixel
 * is the person.
 */
export class WorkerSegmenter {
  /** The latest mask, at the model's size. */
  readonly mask = new OffscreenCanvas(maskWidth, maskHeight);
  readonly delegate: 'GPU' | 'CPU';
  readonly #worker: Worker;
  #hasMask = false;
  #busy = false;
  #closed = false;

  private constructor(worker: Worker, delegate: 'GPU' | 'CPU') {
    this.#worker = worker;
    this.delegate = delegate;
    worker.onmessage = ({ data }: MessageEvent<SegmentationReply>) => {
      if (data.type === 'mask') this.#received(data.mask);
      if (data.type === 'mask' || data.type === 'skipped') this.#busy = false;
    };
  }

  /**
   * Starts the worker from Parlor's `assetsUrl` (`/v2/js/filters`, loaded across origins by a
   * module import, which the server's CORS allows) and waits until the model is ready.
   */
  static async create(assetsUrl: string, loadTimeoutMs = defaultLoadTimeoutMs): Promise<WorkerSegmenter> {
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
      worker.onerror = null;
      return new WorkerSegmenter(worker, delegate);
    } catch (error) {
      worker.terminate();
      throw error;
    }
  }

  /** Whether a mask is there yet. */
  get hasMask(): boolean {
    return this.#hasMask;
  }

  /** Whether a frame is with the worker. */
  get busy(): boolean {
    return this.#busy;
  }

  /** Sends a copy of `frame` to the worker unless one is there already. */
  segment(frame: VideoFrame): void {
    if (this.#busy || this.#closed) return;
    this.#busy = true;
    const copy = frame.clone();
    const request: SegmentationRequest = { type: 'segment', frame: copy };
    this.#worker.postMessage(request, [copy]);
  }

  /** Ends the worker and its model. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker.terminate();
  }

  #received(mask: ImageBitmap): void {
    const context = this.mask.getContext('2d');
    if (context && !this.#closed) {
      context.globalCompositeOperation = 'copy';
      context.drawImage(mask, 0, 0);
      this.#hasMask = true;
    }
    mask.close();
  }
}
