/** What of an `RTCRtpSender` changing its encodings takes. */
export interface ParameterizedSender {
  getParameters(): RTCRtpSendParameters;
  setParameters(parameters: RTCRtpSendParameters): Promise<void>;
}

/** A change to a sender's parameters, made in place on what `getParameters` returned. */
export type ParameterChange = (parameters: RTCRtpSendParameters) => void;

/**
 * Changes a sender's parameters one `setParameters` at a time, as the browser requires (each
 * needs fresh `getParameters`, and one under way refuses another). Changes asked for meanwhile
 * are made together on the next call, in order, so the latest wins.
 */
export class SenderParameterUpdates {
  readonly #sender: ParameterizedSender;
  readonly #onError: (error: unknown) => void;
  #pending: ParameterChange[] = [];
  #running: Promise<void> | null = null;

  /** `onError` hears each `setParameters` the browser refused; the changes after it still go on. */
  constructor(sender: ParameterizedSender, onError: (error: unknown) => void) {
    this.#sender = sender;
    this.#onError = onError;
  }

  /** Queues a change; resolves once it has been applied (or refused). */
  update(change: ParameterChange): Promise<void> {
    this.#pending.push(change);
    return (this.#running ??= this.#run());
  }

  async #run(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const changes = this.#pending;
        this.#pending = [];
        const parameters = this.#sender.getParameters();
        for (const change of changes) change(parameters);
        try {
          await this.#sender.setParameters(parameters);
        } catch (error) {
          this.#onError(error);
        }
      }
    } finally {
      this.#running = null;
    }
  }
}
