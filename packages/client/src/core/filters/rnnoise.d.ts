// @jitsi/rnnoise-wasm ships JavaScript only: the part of its synchronous build the worklet uses.
declare module '@jitsi/rnnoise-wasm/dist/rnnoise-sync.js' {
  interface RnnoiseModule {
    readonly HEAPF32: Float32Array;
    _malloc(bytes: number): number;
    _free(pointer: number): void;
    _rnnoise_create(model: number): number;
    _rnnoise_destroy(state: number): void;
    /** Denoises 480 samples (10 ms at 48 kHz, 16-bit scale) from `input` into `output`; returns voice probability. */
    _rnnoise_process_frame(state: number, output: number, input: number): number;
  }
  export default function createRNNWasmModuleSync(): RnnoiseModule;
}
