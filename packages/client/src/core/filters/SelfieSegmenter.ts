import { OneFrameSegmenter } from './OneFrameSegmenter.js';
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
 * and WebGL on the page's main thread, where `WorkerSegmenter` cannot run.
 */
export class SelfieSegmenter extends OneFrameSegmenter {
  readonly mask = document.createElement('canvas');
  readonly #input = document.createElement('canvas');
  readonly #solution: SelfieSegmentationSolution;

  private constructor(solution: SelfieSegmentationSolution) {
    super();
    this.#solution = solution;
    this.#input.width = this.mask.width = maskWidth;
    this.#input.height = this.mask.height = maskHeight;
    solution.onResults(({ segmentationMask }) => {
      const context = this.mask.getContext('2d');
      if (!context || this.closed) return;
      context.globalCompositeOperation = 'copy';
      context.drawImage(segmentationMask, 0, 0, maskWidth, maskHeight);
      this.maskDrawn();
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

  protected start(frame: VideoFrame): boolean {
    const context = this.#input.getContext('2d');
    if (!context) return false;
    context.drawImage(frame, 0, 0, maskWidth, maskHeight);
    this.#solution
      .send({ image: this.#input })
      .catch(() => undefined)
      .finally(() => {
        this.finished();
      });
    return true;
  }

  protected free(): void {
    void this.#solution.close().catch(() => undefined);
  }
}
