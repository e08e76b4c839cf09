import type { MediaProcessorConnector } from '../PublisherTracks.js';

/** OpenTok.js's built-in audio filter, as `applyAudioFilter` takes it. */
export interface AudioFilter {
  readonly type: 'advancedNoiseSuppression';
}

/** Checks a filter given by the application; a copy of it, or a TypeError that names the field. */
export function parseAudioFilter(value: unknown): AudioFilter {
  if (
    typeof value !== 'object' ||
    value === null ||
    (value as { type?: unknown }).type !== 'advancedNoiseSuppression'
  ) {
    throw new TypeError("audioFilter.type must be 'advancedNoiseSuppression'");
  }
  return { type: 'advancedNoiseSuppression' };
}

/** Whether the page can run the noise suppression worklet. */
export function hasNoiseSuppressionSupport(): boolean {
  return (
    typeof AudioContext === 'function' &&
    typeof AudioWorkletNode === 'function' &&
    typeof WebAssembly === 'object'
  );
}

/**
 * Advanced noise suppression as a media processor connector: the microphone's track through
 * RNNoise in an AudioWorklet (mono, 48 kHz, 10 ms of delay), out as a new track. `workletUrl`
 * is the worklet bundle Parlor serves.
 */
export class NoiseSuppression implements MediaProcessorConnector {
  readonly filter: AudioFilter = { type: 'advancedNoiseSuppression' };
  readonly #context: AudioContext;
  readonly #node: AudioWorkletNode;
  readonly #destination: MediaStreamAudioDestinationNode;
  #source: MediaStreamAudioSourceNode | undefined;

  private constructor(context: AudioContext) {
    this.#context = context;
    this.#node = new AudioWorkletNode(this.#context, 'parlor-noise-suppression', {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      channelCount: 1,
      channelCountMode: 'explicit',
      outputChannelCount: [1],
    });
    this.#destination = this.#context.createMediaStreamDestination();
    this.#node.connect(this.#destination);
  }

  /** Loads the worklet; rejects when it cannot be had. */
  static async create(workletUrl: string): Promise<NoiseSuppression> {
    const context = new AudioContext({ sampleRate: 48_000 });
    try {
      await context.audioWorklet.addModule(workletUrl);
      return new NoiseSuppression(context);
    } catch (error) {
      void context.close();
      throw error;
    }
  }

  async setTrack(track: MediaStreamTrack): Promise<MediaStreamTrack> {
    if (this.#context.state === 'closed') throw new Error('the filter was destroyed');
    this.#source?.disconnect();
    this.#source = this.#context.createMediaStreamSource(new MediaStream([track]));
    this.#source.connect(this.#node);
    await this.#context.resume().catch(() => undefined);
    const [output] = this.#destination.stream.getAudioTracks();
    if (!output) throw new Error('the audio graph gave no track');
    return output;
  }

  /** Stops the audio graph and frees the model. Idempotent. */
  destroy(): void {
    if (this.#context.state === 'closed') return;
    this.#source?.disconnect();
    void this.#context.close();
  }
}
