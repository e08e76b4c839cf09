/** How often `audioLevelUpdated` fires while listened to, ms: about 60 times a second, as OpenTok.js. */
export const audioLevelIntervalMs = 1000 / 60;

/** Reads an audio level from 0 to 1 until closed. */
export interface AudioLevelSource {
  read(): number;
  close(): void;
}

/**
 * Samples an audio level about 60 times a second while listened to: the source is opened at the
 * first sample after the first listener came and closed with the last, so nothing runs (no
 * timer, no audio graph, no statistics) while nobody listens.
 */
export class AudioLevelSampler {
  readonly #open: () => AudioLevelSource | null;
  readonly #emit: (audioLevel: number) => void;
  #source: AudioLevelSource | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** `open` gives the source, or null while there is no audio; `emit` gets each level. */
  constructor(open: () => AudioLevelSource | null, emit: (audioLevel: number) => void) {
    this.#open = open;
    this.#emit = emit;
  }

  setListening(listening: boolean): void {
    if (listening === (this.#timer !== undefined)) return;
    if (listening) {
      this.#timer = setInterval(() => {
        this.#source ??= this.#open();
        if (this.#source) this.#emit(this.#source.read());
      }, audioLevelIntervalMs);
      return;
    }
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.reset();
  }

  /** The audio changed (another track): the source is opened again at the next sample. */
  reset(): void {
    this.#source?.close();
    this.#source = null;
  }
}

/** A local track's level: the peak of its samples over the last 21 ms, by Web Audio. */
export function localTrackLevel(track: MediaStreamTrack): AudioLevelSource {
  const context = new AudioContext();
  void context.resume().catch(() => undefined);
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  return {
    read: () => {
      analyser.getFloatTimeDomainData(samples);
      let peak = 0;
      for (const sample of samples) peak = Math.max(peak, Math.abs(sample));
      return Math.min(1, peak);
    },
    close: () => {
      void context.close().catch(() => undefined);
    },
  };
}
