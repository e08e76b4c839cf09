/** One source's samples waiting to be mixed. */
interface SourceQueue {
  chunks: Int16Array[];
  samples: number;
  /** Whether it is mixed: from when it has `prebufferSamples` queued until it runs dry. */
  playing: boolean;
}

export interface AudioMixerOptions {
  /** Samples in one mixed frame. */
  readonly frameSamples: number;
  /** Samples a source may have waiting; past this its oldest are dropped (a bound on delay). */
  readonly maxQueuedSamples: number;
  /**
   * Samples a source must have queued before it is mixed, at its start and after it ran dry: a
   * jitter buffer, so that a packet a little late does not cut its audio. Default: 0.
   */
  readonly prebufferSamples?: number;
}

/**
 * Mixes mono sources frame by frame: each frame is the sum of what every source has for it,
 * clamped to 16 bits, never divided by the number of speakers (so one voice keeps its level). A
 * source with nothing queued adds silence.
 */
export class AudioMixer {
  readonly #options: AudioMixerOptions;
  readonly #sources = new Map<string, SourceQueue>();
  readonly #sum: Int32Array;

  constructor(options: AudioMixerOptions) {
    this.#options = options;
    this.#sum = new Int32Array(options.frameSamples);
  }

  /** Queues samples of a source (made on first use). */
  push(sourceId: string, samples: Int16Array): void {
    let queue = this.#sources.get(sourceId);
    if (!queue) {
      queue = { chunks: [], samples: 0, playing: false };
      this.#sources.set(sourceId, queue);
    }
    queue.chunks.push(samples);
    queue.samples += samples.length;
    if (queue.samples >= (this.#options.prebufferSamples ?? 0)) queue.playing = true;
    while (queue.samples > this.#options.maxQueuedSamples) {
      const dropped = queue.chunks.shift();
      queue.samples -= dropped?.length ?? queue.samples;
    }
  }

  remove(sourceId: string): void {
    this.#sources.delete(sourceId);
  }

  /** The next frame: the sum of every source's next samples. */
  mix(): Int16Array {
    const sum = this.#sum;
    sum.fill(0);
    for (const queue of this.#sources.values()) {
      if (!queue.playing) continue;
      let written = 0;
      while (written < sum.length && queue.chunks.length > 0) {
        const chunk = queue.chunks[0] as Int16Array;
        const take = Math.min(chunk.length, sum.length - written);
        for (let i = 0; i < take; i += 1) sum[written + i] = (sum[written + i] ?? 0) + (chunk[i] ?? 0);
        written += take;
        queue.samples -= take;
        if (take === chunk.length) queue.chunks.shift();
        else queue.chunks[0] = chunk.subarray(take);
      }
      if (queue.samples === 0 && (this.#options.prebufferSamples ?? 0) > 0) queue.playing = false;
    }
    const frame = new Int16Array(sum.length);
    for (let i = 0; i < sum.length; i += 1) {
      const value = sum[i] ?? 0;
      frame[i] = value > 32767 ? 32767 : value < -32768 ? -32768 : value;
    }
    return frame;
  }
}
