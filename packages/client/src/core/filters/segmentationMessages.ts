/** What the page tells the segmentation worker. */
export type SegmentationRequest =
  /** Load the model from Parlor's `/v2/js/filters`; the worker answers `ready` or `failed`. */
  | { readonly type: 'load'; readonly assetsUrl: string }
  /** Segment this frame (transferred: the worker closes it); the worker answers `mask` or `skipped`. */
  | { readonly type: 'segment'; readonly frame: VideoFrame };

/** What the segmentation worker answers. */
export type SegmentationReply =
  | { readonly type: 'ready'; readonly delegate: 'GPU' | 'CPU' }
  | { readonly type: 'failed'; readonly message: string }
  /** The mask at the model's size: alpha is the confidence that a pixel is the person (transferred). */
  | { readonly type: 'mask'; readonly mask: ImageBitmap }
  | { readonly type: 'skipped'; readonly message: string };

/** The segmenter's input: the landscape model's own size, so that nothing is scaled twice. */
export const maskWidth = 256;
export const maskHeight = 144;

/** The files under `/v2/js/filters` the worker loads. */
export const workerAssets = {
  script: 'segmentation-worker.js',
  wasmLoader: 'vision_wasm_module_internal.js',
  wasmBinary: 'vision_wasm_module_internal.wasm',
  model: 'selfie_segmentation_landscape_tasks.tflite',
} as const;
