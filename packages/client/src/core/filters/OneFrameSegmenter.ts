/**
 * What the worker's and the main thread's person segmenters share: at most one frame is under
 * way, and `segment` while one is does nothing (the frame is dropped, never queued). `mask` holds
 * the latest result: alpha is the confidence that a pixel is the person.
 */
export abstract class OneFrameSegmenter {
  /** The latest mask, at the model's size. */
  abstract readonly mask: CanvasImageSource;
  #hasMask = false;
  #busy = false;
  #closed = false;

  /** Whether a mask is there: one came, and the segmenter is not closed. */
  get hasMask(): boolean {
    return this.#hasMask;
  }

  /** Whether a frame is under way. */
  get busy(): boolean {
    return this.#busy;
  }

  protected get closed(): boolean {
    return this.#closed;
  }

  /** Starts segmenting `frame` unless a frame is under way; `mask` changes once it is done. */
  segment(frame: VideoFrame): void {
    if (this.#busy || this.#closed) return;
    this.#busy = true;
    if (!this.start(frame)) this.#busy = false;
  }

  /** Frees the model; the mask is gone with it. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#hasMask = false;
    this.free();
  }

  /** Starts segmenting `frame` (the caller keeps and closes it); whether it started. */
  protected abstract start(frame: VideoFrame): boolean;

  /** Frees the model; called once, by `close`. */
  protected abstract free(): void;

  /** A new mask was drawn into `mask`. */
  protected maskDrawn(): void {
    if (!this.#closed) this.#hasMask = true;
  }

  /** The frame under way is done, with a mask or without. */
  protected finished(): void {
    this.#busy = false;
  }
}

/** A person segmenter as a filter uses it. */
export type Segmenter = Pick<OneFrameSegmenter, 'mask' | 'hasMask' | 'busy' | 'segment' | 'close'>;
