/**
 * The noise suppression worklet: RNNoise (Jitsi's WebAssembly build, its model compiled in) on
 * the microphone's samples, in the audio rendering thread. Bundled on its own and served by
 * Parlor beside the SDK; `NoiseSuppression` loads it with `audioWorklet.addModule`.
 */
import createRnnoise from '@jitsi/rnnoise-wasm/dist/rnnoise-sync.js';

/** What this worklet uses of its global scope (the DOM library has no worklet types). */
declare const registerProcessor: (name: string, processor: new () => object) => void;
declare const AudioWorkletProcessor: new () => object;

/** RNNoise's frame: 10 ms at 48 kHz. */
const frameSize = 480;
/** Samples are floats in [-1, 1]; RNNoise expects 16-bit scale. */
const scale = 32768;
/** Room for what one frame gives plus what one render quantum (128) takes: a whole number of both. */
const outputRingSize = 1920;

class NoiseSuppressionProcessor extends AudioWorkletProcessor {
  readonly #rnnoise = createRnnoise();
  readonly #state = this.#rnnoise._rnnoise_create(0);
  readonly #frame = this.#rnnoise._malloc(frameSize * 4);
  #filled = 0;
  readonly #output = new Float32Array(outputRingSize);
  #read = 0;
  /** One frame of silence ahead: the delay that lets every quantum be answered. */
  #available = frameSize;

  process(inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const input = inputs[0]?.[0];
    const output = outputs[0]?.[0];
    if (!output) return true;
    const heap = this.#rnnoise.HEAPF32;
    const frameIndex = this.#frame >> 2;
    for (let i = 0; i < output.length; i++) {
      heap[frameIndex + this.#filled++] = (input?.[i] ?? 0) * scale;
      if (this.#filled === frameSize) this.#denoise();
    }
    for (let i = 0; i < output.length; i++) {
      output[i] = this.#output[this.#read] ?? 0;
      this.#read = (this.#read + 1) % outputRingSize;
    }
    this.#available -= output.length;
    return true;
  }

  #denoise(): void {
    this.#filled = 0;
    this.#rnnoise._rnnoise_process_frame(this.#state, this.#frame, this.#frame);
    const heap = this.#rnnoise.HEAPF32;
    const frameIndex = this.#frame >> 2;
    let write = (this.#read + this.#available) % outputRingSize;
    for (let i = 0; i < frameSize; i++) {
      this.#output[write] = (heap[frameIndex + i] ?? 0) / scale;
      write = (write + 1) % outputRingSize;
    }
    this.#available += frameSize;
  }
}

// The name `NoiseSuppression` creates its node by.
registerProcessor('parlor-noise-suppression', NoiseSuppressionProcessor);
