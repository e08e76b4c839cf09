import { maskHeight, maskWidth } from './segmentationMessages.js';

/** The part of `@mediapipe/selfie_segmentation`'s script (the global `SelfieSegmentation`) used here. */
interface SelfieSegmentationSolution {
  setOptions(options: { modelSelection?: 0 | 1; selfieMode?: boolean }): void;
  onResults(listener: (results: { segmentationMask: CanvasImageSource }) => void): void;
  initialize(): Promise<void>;
  send(inputs: { image: HTMLCanvasElement }): Promise<void>;
  close(): Promise<void>;
}
type SelfieSegmentationClass = new (config: {
  locateFile: (file: string) => string;
}) => SelfieSegmentationSolution;

const scripts = new Map<string, Promise<SelfieSegmentationClass>>();

/** Loads the solution's script from `assetsUrl` once per page. */
function loadSolution(assetsUrl: string): Promise<SelfieSegmentationClass> {
  let loading = scripts.get(assetsUrl);
  if (!loading) {
    loading = new Promise<SelfieSegmentationClass>((resolve, reject) => {
      const script = document.createElement('script');
      script.src = `${assetsUrl}/selfie_segmentation.js`;
      script.crossOrigin = 'anonymous';
      script.onload = () => {
        const solution = (globalThis as { SelfieSegmentation?: SelfieSegmentationClass }).SelfieSegmentation;
        if (solution) resolve(solution);
        else reject(new Error('the segmentation script defined no SelfieSegmentation'));
      };
      script.onerror = () => {
        reject(new Error(`the segmentation script did not load from ${script.src}`));
      };
      document.head.append(script);
    });
    scripts.set(assetsUrl, loading);
    loading.catch(() => scripts.delete(assetsUrl));
  }
  return loading;
}

/**
 * Person segmentation with MediaPipe's selfie model (landscape, 256×144), run by its WebAssembly
 * and WebGL on the page's main thread, where `WorkerSegmenter` cannot run. `mask` holds the latest result: alpha is the confidence that a pixel is
 * the person. One segmentation runs at a time; `segment` while one runs does nothing.
 */
export class SelfieSegmenter {
  /** The latest mask, at the model's size. */
  readonly mask = document.createElement('canvas');
  #hasMask = false;
  readonly #input = document.createElement('canvas');
  readonly #solution: SelfieSegmentationSolution;
  #busy = false;
  #closed = false;

  private constructor(solution: SelfieSegmentationSolution) {
    this.#solution = solution;
    this.#input.width = this.mask.width = maskWidth;
    this.#input.height = this.mask.height = maskHeight;
    solution.onResults(({ segmentationMask }) => {
      const context = this.mask.getContext('2d');
      if (!context || this.#closed) return;
      context.globalCompositeOperation = 'copy';
      context.drawImage(segmentationMask, 0, 0, maskWidth, maskHeight);
      this.#hasMask = true;
    });
  }

  /** Loads the model from `assetsUrl` (Parlor's `/v2/js/filters`) and readies it. */
  static async create(assetsUrl: string): Promise<SelfieSegmenter> {
    const Solution = await loadSolution(assetsUrl);
    const solution = new Solution({ locateFile: (file) => `${assetsUrl}/${file}` });
    solution.setOptions({ modelSelection: 1 });
    try {
      await solution.initialize();
    } catch (error) {
      void solution.close().catch(() => undefined);
      throw error;
    }
    return new SelfieSegmenter(solution);
  }

  /** Whether a mask is there yet. */
  get hasMask(): boolean {
    return this.#hasMask;
  }

  /** Whether a segmentation is under way. */
  get busy(): boolean {
    return this.#busy;
  }

  /** Starts segmenting `frame` unless a segmentation is under way; `mask` changes once it is done. */
  segment(frame: VideoFrame): void {
    if (this.#busy || this.#closed) return;
    const context = this.#input.getContext('2d');
    if (!context) return;
    context.drawImage(frame, 0, 0, maskWidth, maskHeight);
    this.#busy = true;
    this.#solution
      .send({ image: this.#input })
      .catch(() => undefined)
      .finally(() => {
        this.#busy = false;
      });
  }

  /** Frees the model. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    void this.#solution.close().catch(() => undefined);
  }
}
