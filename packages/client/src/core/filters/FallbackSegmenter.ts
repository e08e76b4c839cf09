import type { Logger } from '../Logger.js';
import type { Segmenter } from './OneFrameSegmenter.js';

export interface FallbackSegmenterOptions {
  /**
   * Starts the worker's segmenter, which calls `failed` if the worker stops working after it
   * started; null where the page cannot run one.
   */
  readonly inWorker: ((failed: (error: Error) => void) => Promise<Segmenter>) | null;
  /** Starts the main thread's segmenter. */
  readonly onMainThread: () => Promise<Segmenter>;
  readonly logger: Pick<Logger, 'warn' | 'error'>;
}

/**
 * The person segmenter a filter uses: the worker's; the main thread's where the page cannot
 * start a worker, where the worker does not load, and once the worker stops working. Between the
 * two there is no mask (the whole frame is background), never the worker's last one, which no
 * longer follows the person.
 */
export class FallbackSegmenter {
  readonly #options: FallbackSegmenterOptions;
  #current: Segmenter | null = null;
  #closed = false;

  private constructor(options: FallbackSegmenterOptions) {
    this.#options = options;
  }

  /** Starts the worker's segmenter, or the main thread's; rejects when neither starts. */
  static async create(options: FallbackSegmenterOptions): Promise<FallbackSegmenter> {
    const segmenter = new FallbackSegmenter(options);
    await segmenter.#start();
    return segmenter;
  }

  /** The latest mask (alpha is the confidence that a pixel is the person), or null while there is none. */
  get mask(): CanvasImageSource | null {
    return this.#current?.hasMask ? this.#current.mask : null;
  }

  /** Whether a frame is under way. */
  get busy(): boolean {
    return this.#current?.busy ?? false;
  }

  /** Starts segmenting `frame` unless a frame is under way or no segmenter is ready. */
  segment(frame: VideoFrame): void {
    this.#current?.segment(frame);
  }

  /** Frees the model, and the one loading. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#current?.close();
    this.#current = null;
  }

  async #start(): Promise<void> {
    const { inWorker, onMainThread, logger } = this.#options;
    if (inWorker) {
      try {
        this.#current = await inWorker((error) => {
          this.#workerFailed(error);
        });
        return;
      } catch (error) {
        logger.warn('segmenting in a worker failed; segmenting on the main thread', error);
      }
    }
    this.#current = await onMainThread();
  }

  #workerFailed(error: Error): void {
    if (this.#closed) return;
    const { onMainThread, logger } = this.#options;
    logger.warn('the segmentation worker stopped; segmenting on the main thread', error);
    this.#current = null;
    onMainThread().then(
      (segmenter) => {
        if (this.#closed) segmenter.close();
        else this.#current = segmenter;
      },
      (reason: unknown) => {
        if (!this.#closed)
          logger.error('segmentation stopped: the whole frame is background from now on', reason);
      },
    );
  }
}
