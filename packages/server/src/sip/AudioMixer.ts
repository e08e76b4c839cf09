/** One source's samples waiting to be mixed. */
interface SourceQueue {
  chunks: Int16Array[];
  samples: number;
  /** Whether it is mixed: from when it has `prebufferSamples` queued until it runs dry. */
  playing: boolean;
  /** The fewest samples it had left after a mix, in this window of `trimWindowFrames`. */
  lowest: number;
}

/**
 * Frames (1 s of 20 ms ones) over which a playing source's queue must never have run down to its
 * jitter buffer's size for the excess to be cut: a sender a little fast, or a burst after a
 * stall, would otherwise leave its audio late for good (up to `maxQueuedSamples`).
 */
const trimWindowFrames = 50;

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
  #framesInWindow = 0;

  constructor(options: AudioMixerOptions) {
    this.#options = options;
    this.#sum = new Int32Array(options.frameSamples);
  }

  /** Queues samples of a source (made on first use). */
  push(sourceId: string, samples: Int16Array): void {
    let queue = this.#sources.get(sourceId);
    if (!queue) {
      queue = { chunks: [], samples: 0, playing: false, lowest: Number.POSITIVE_INFINITY };
      this.#sources.set(sourceId, queue);
    }
    queue.chunks.push(samples);
    queue.samples += samples.length;
    if (queue.samples >= (this.#options.prebufferSamples ?? 0)) queue.playing = true;
    dropOldest(queue, queue.samples - this.#options.maxQueuedSamples);
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
      queue.lowest = Math.min(queue.lowest, queue.samples);
    }
    this.#trimLateSources();
    const frame = new Int16Array(sum.length);
    for (let i = 0; i < sum.length; i += 1) {
      const value = sum[i] ?? 0;
      frame[i] = value > 32767 ? 32767 : value < -32768 ? -32768 : value;
    }
    return frame;
  }

  /** At the end of each window, cuts from each source what it had queued beyond its jitter buffer all along. */
  #trimLateSources(): void {
    this.#framesInWindow += 1;
    if (this.#framesInWindow < trimWindowFrames) return;
    this.#framesInWindow = 0;
    const keep = Math.max(this.#options.prebufferSamples ?? 0, this.#options.frameSamples);
    for (const queue of this.#sources.values()) {
      if (queue.playing && queue.lowest > keep) dropOldest(queue, queue.lowest - keep);
      queue.lowest = Number.POSITIVE_INFINITY;
    }
  }
}

/** Drops a source's oldest samples, `count` of them (none when not positive). */
function dropOldest(queue: SourceQueue, count: number): void {
  let left = count;
  while (left > 0 && queue.chunks.length > 0) {
    const chunk = queue.chunks[0] as Int16Array;
    const take = Math.min(chunk.length, left);
    if (take === chunk.length) queue.chunks.shift();
    else queue.chunks[0] = chunk.subarray(take);
    queue.samples -= take;
    left -= take;
  }
}
