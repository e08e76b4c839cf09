import type { Logger } from '../Logger.js';
import type { MediaProcessorConnector } from '../PublisherTracks.js';
import { FallbackSegmenter } from './FallbackSegmenter.js';
import { SelfieSegmenter } from './SelfieSegmenter.js';
import type { VideoFilter } from './videoFilter.js';
import { hasWorkerSegmentation, WorkerSegmenter } from './WorkerSegmenter.js';

/** The worker's segmenter; the main thread's where the page cannot start it, or it fails. */
function createSegmenter(assetsUrl: string, logger: Logger): Promise<FallbackSegmenter> {
  return FallbackSegmenter.create({
    inWorker: hasWorkerSegmentation()
      ? (failed) => WorkerSegmenter.create(assetsUrl, { onFailed: failed })
      : null,
    onMainThread: () => SelfieSegmenter.create(assetsUrl),
    logger,
  });
}

/** Insertable Streams' breakout box, as Chromium exposes it to pages. */
interface BreakoutBox {
  MediaStreamTrackProcessor: new (init: { track: MediaStreamTrack }) => {
    readable: ReadableStream<VideoFrame>;
  };
  MediaStreamTrackGenerator: new (init: { kind: 'video' }) => MediaStreamTrack & {
    writable: WritableStream<VideoFrame>;
  };
}

export interface BackgroundFilterOptions {
  readonly filter: VideoFilter;
  /** Where Parlor serves the segmentation model: `<server>/v2/js/filters`. */
  readonly assetsUrl: string;
  /** The most masks computed a second; frames in between reuse the latest. Default: 15. */
  readonly maxMaskRate?: number;
  readonly logger: Logger;
}

/** The background image could not be fetched or decoded: the filter's fault, not the browser's. */
export class BackgroundImageError extends Error {}

/**
 * Whether the page can run the filters: the breakout box, VideoFrame and OffscreenCanvas for the
 * frames, WebAssembly and WebGL 2 for the model.
 */
export function hasBackgroundFilterSupport(): boolean {
  if (typeof OffscreenCanvas !== 'function' || typeof VideoFrame !== 'function') return false;
  if (typeof WebAssembly !== 'object' || typeof document === 'undefined') return false;
  const box = globalThis as Partial<Record<keyof BreakoutBox, unknown>>;
  if (
    typeof box.MediaStreamTrackProcessor !== 'function' ||
    typeof box.MediaStreamTrackGenerator !== 'function'
  )
    return false;
  webGl2 ??= document.createElement('canvas').getContext('webgl2') !== null;
  return webGl2;
}
let webGl2: boolean | undefined;

/** Blur radius as a share of the frame's height: 10 px (low) and 24 px (high) at 480 lines. */
const blurShare = { low: 1 / 48, high: 1 / 20 } as const;

/**
 * Background blur or replacement as a media processor connector: each camera frame is drawn
 * with the person (from the latest segmentation mask) sharp over a blurred copy of the frame or
 * over the background image. Until the first mask, the whole frame is background, so nothing of
 * the room is sent unfiltered.
 */
export class BackgroundFilter implements MediaProcessorConnector {
  readonly #options: BackgroundFilterOptions;
  readonly #segmenter: FallbackSegmenter;
  readonly #background: ImageBitmap | undefined;
  readonly #canvas = new OffscreenCanvas(1, 1);
  readonly #minMaskInterval: number;
  #lastMaskAt = -Infinity;
  /** Ends the current pipeline: a new track, or destroy. */
  #abort: AbortController | undefined;
  #output: MediaStreamTrack | undefined;
  #destroyed = false;

  private constructor(
    options: BackgroundFilterOptions,
    segmenter: FallbackSegmenter,
    background?: ImageBitmap,
  ) {
    this.#options = options;
    this.#segmenter = segmenter;
    this.#background = background;
    this.#minMaskInterval = 1000 / (options.maxMaskRate ?? 15);
  }

  /** Loads the model (and the background image); rejects when either cannot be had. */
  static async create(options: BackgroundFilterOptions): Promise<BackgroundFilter> {
    const { filter } = options;
    const background =
      filter.type === 'backgroundReplacement' ? await loadImage(filter.backgroundImgUrl) : undefined;
    try {
      const segmenter = await createSegmenter(options.assetsUrl, options.logger);
      return new BackgroundFilter(options, segmenter, background);
    } catch (error) {
      background?.close();
      throw error;
    }
  }

  get filter(): VideoFilter {
    return this.#options.filter;
  }

  setTrack(track: MediaStreamTrack): Promise<MediaStreamTrack> {
    if (this.#destroyed) return Promise.reject(new Error('the filter was destroyed'));
    this.#stop();
    const box = globalThis as unknown as BreakoutBox;
    const processor = new box.MediaStreamTrackProcessor({ track });
    const generator = new box.MediaStreamTrackGenerator({ kind: 'video' });
    const abort = new AbortController();
    this.#abort = abort;
    this.#output = generator;
    const transform = new TransformStream<VideoFrame, VideoFrame>({
      transform: (frame, controller) => {
        try {
          controller.enqueue(this.#filter(frame));
        } finally {
          frame.close();
        }
      },
    });
    processor.readable
      .pipeThrough(transform, { signal: abort.signal })
      .pipeTo(generator.writable, { signal: abort.signal })
      .catch((error: unknown) => {
        if (!abort.signal.aborted) this.#options.logger.warn('the video filter stopped', error);
      });
    return Promise.resolve(generator);
  }

  /** Stops the pipeline and frees the model and image. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#stop();
    this.#segmenter.close();
    this.#background?.close();
  }

  #stop(): void {
    this.#abort?.abort();
    this.#output?.stop();
    this.#abort = undefined;
    this.#output = undefined;
  }

  #filter(frame: VideoFrame): VideoFrame {
    const now = performance.now();
    if (!this.#segmenter.busy && now - this.#lastMaskAt >= this.#minMaskInterval) {
      this.#lastMaskAt = now;
      this.#segmenter.segment(frame);
    }
    const width = frame.displayWidth;
    const height = frame.displayHeight;
    const canvas = this.#canvas;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const context = canvas.getContext('2d');
    if (!context) return frame.clone();
    context.globalCompositeOperation = 'copy';
    const mask = this.#segmenter.mask;
    if (mask) {
      context.drawImage(mask, 0, 0, width, height);
      context.globalCompositeOperation = 'source-in';
      context.drawImage(frame, 0, 0, width, height);
      context.globalCompositeOperation = 'destination-over';
    }
    this.#drawBackground(context, frame, width, height);
    context.globalCompositeOperation = 'source-over';
    return new VideoFrame(canvas, { timestamp: frame.timestamp });
  }

  #drawBackground(
    context: OffscreenCanvasRenderingContext2D,
    frame: VideoFrame,
    width: number,
    height: number,
  ) {
    const { filter } = this.#options;
    if (filter.type === 'backgroundBlur') {
      const radius = Math.max(2, Math.round(height * blurShare[filter.blurStrength ?? 'low']));
      // Drawn larger by the radius on each side: the blur's fade at the image's edges falls outside.
      context.filter = `blur(${radius}px)`;
      context.drawImage(frame, -radius, -radius, width + 2 * radius, height + 2 * radius);
      context.filter = 'none';
      return;
    }
    const image = this.#background;
    if (!image) return;
    // Cover: the image fills the frame, centred, its excess cut off.
    const scale = Math.max(width / image.width, height / image.height);
    const drawnWidth = image.width * scale;
    const drawnHeight = image.height * scale;
    context.drawImage(image, (width - drawnWidth) / 2, (height - drawnHeight) / 2, drawnWidth, drawnHeight);
  }
}

/** Fetches and decodes the background image (same origin, or served with CORS). */
async function loadImage(url: string): Promise<ImageBitmap> {
  try {
    const response = await fetch(url, { mode: 'cors', credentials: 'same-origin' });
    if (!response.ok) throw new Error(`it answered ${response.status}`);
    return await createImageBitmap(await response.blob());
  } catch (error) {
    throw new BackgroundImageError(`videoFilter.backgroundImgUrl could not be loaded: ${String(error)}`);
  }
}
