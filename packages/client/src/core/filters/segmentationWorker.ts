/**
 * The segmentation worker: MediaPipe Tasks' ImageSegmenter with the selfie model, off the page's
 * main thread, one frame at a time (the page sends the next only after the answer). Bundled on
 * its own and served by Parlor beside the SDK; `WorkerSegmenter` starts it.
 */
import { ImageSegmenter } from '@mediapipe/tasks-vision';
import {
  maskHeight,
  maskWidth,
  workerAssets,
  type SegmentationReply,
  type SegmentationRequest,
} from './segmentationMessages.js';

/** What this worker uses of its global scope (the DOM library has no worker types). */
interface WorkerScope {
  postMessage(message: SegmentationReply, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<SegmentationRequest>) => void) | null;
}
const scope = globalThis as unknown as WorkerScope;

let segmenter: ImageSegmenter | undefined;

function reply(message: SegmentationReply, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

/** The GPU delegate (WebGL 2 on an OffscreenCanvas) where it starts, else the CPU's (XNNPACK). */
async function load(assetsUrl: string): Promise<void> {
  const fileset = {
    wasmLoaderPath: `${assetsUrl}/${workerAssets.wasmLoader}`,
    wasmBinaryPath: `${assetsUrl}/${workerAssets.wasmBinary}`,
  };
  let lastError: unknown;
  for (const delegate of ['GPU', 'CPU'] as const) {
    try {
      segmenter = await ImageSegmenter.createFromOptions(fileset, {
        baseOptions: { modelAssetPath: `${assetsUrl}/${workerAssets.model}`, delegate },
        canvas: new OffscreenCanvas(1, 1),
        runningMode: 'VIDEO',
        outputConfidenceMasks: true,
        outputCategoryMask: false,
      });
      reply({ type: 'ready', delegate });
      return;
    } catch (error) {
      lastError = error;
    }
  }
  reply({ type: 'failed', message: String(lastError) });
}

async function segment(frame: VideoFrame): Promise<void> {
  let input: ImageBitmap | undefined;
  try {
    if (!segmenter) throw new Error('the model is not loaded');
    input = await createImageBitmap(frame, { resizeWidth: maskWidth, resizeHeight: maskHeight });
    const result = segmenter.segmentForVideo(input, performance.now());
    try {
      const confidence = result.confidenceMasks?.[0]?.getAsFloat32Array();
      if (!confidence) throw new Error('the segmenter gave no mask');
      const pixels = new ImageData(maskWidth, maskHeight);
      for (let i = 0; i < confidence.length; i++) pixels.data[4 * i + 3] = (confidence[i] ?? 0) * 255;
      const mask = await createImageBitmap(pixels);
      reply({ type: 'mask', mask }, [mask]);
    } finally {
      result.close();
    }
  } catch (error) {
    reply({ type: 'skipped', message: String(error) });
  } finally {
    frame.close();
    input?.close();
  }
}

scope.onmessage = ({ data }) => {
  if (data.type === 'load') void load(data.assetsUrl);
  else void segment(data.frame);
};
