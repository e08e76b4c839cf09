import { randomUUID } from 'node:crypto';
import type { RecordingResult } from '../../archive/recording/StreamRecorder.js';
import { TypedEmitter } from '../../TypedEmitter.js';
import type { EncodingState, RouterStats } from '../router/MediaRouter.js';
import type { RouterReadings } from '../router/routerReadings.js';
import type { VideoPreferences } from '../router/Subscription.js';
import type { VideoFallbackEvent } from '../router/VideoFallback.js';
import type { MediaWorker } from './MediaWorker.js';
import type { MediaWorkerMethod, MediaWorkerMethods, RouterEvent } from './workerProtocol.js';

export interface RemoteRouterEvents {
  /**
   * The encodings of a publication's video that some subscriber needs changed: its publisher
   * should send the active ones and pause the others.
   */
  encodingsChanged: [publicationId: string, encodings: readonly EncodingState[]];
  /** A subscriber's link could not carry video any more, or can again: tell it (reason `quality`). */
  videoFallback: [subscriptionId: string, event: VideoFallbackEvent];
  /** Writing a recording's file failed (disk full…): it records nothing more. */
  recordingFailed: [recordingId: string, message: string];
  /** Its worker died: every publication and subscription of the router is gone. */
  lost: [error: Error];
  /** `close()` was called. */
  close: [];
}

type RouterCallParams<M extends MediaWorkerMethod> = Omit<MediaWorkerMethods[M]['params'], 'routerId'>;

/**
 * A session's Media Router as the main thread holds it: the router itself lives in a media
 * worker, and its publications and subscriptions are named by ID.
 */
export class RemoteRouter extends TypedEmitter<RemoteRouterEvents> {
  readonly id = randomUUID();
  readonly worker: MediaWorker;
  /** Settles once the worker made the router; later calls wait behind it on the same channel. */
  readonly #created: Promise<unknown>;
  #closed = false;

  constructor(worker: MediaWorker) {
    super();
    this.worker = worker;
    this.#created = worker.call('createRouter', { routerId: this.id });
    // Failures surface on the calls that follow; nothing more to do with this one.
    this.#created.catch(() => undefined);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Answers a publisher's offer; media flows once ICE and DTLS complete. */
  publish(offerSdp: string): Promise<{ publicationId: string; answerSdp: string }> {
    return this.#call('publish', { offerSdp });
  }

  /**
   * Offers a subscriber the tracks of a publication, with the video its preferences ask for, and
   * audio fallback if the publisher allows it; give its answer to `answer`.
   */
  subscribe(
    publicationId: string,
    options: { preferences: VideoPreferences; audioFallback: boolean },
  ): Promise<{ subscriptionId: string; offerSdp: string }> {
    return this.#call('subscribe', { publicationId, ...options });
  }

  /** Changes what a subscriber wants of the video it receives. */
  setPreferences(subscriptionId: string, preferences: VideoPreferences): Promise<null> {
    return this.#call('setPreferences', { subscriptionId, preferences });
  }

  answer(subscriptionId: string, answerSdp: string): Promise<null> {
    return this.#call('answer', { subscriptionId, answerSdp });
  }

  unpublish(publicationId: string): Promise<null> {
    return this.#call('unpublish', { publicationId });
  }

  unsubscribe(subscriptionId: string): Promise<null> {
    return this.#call('unsubscribe', { subscriptionId });
  }

  stats(): Promise<RouterStats> {
    return this.#call('stats', {});
  }

  /** The router's counters in compact rows, for sampling and `/metrics`. */
  readings(): Promise<RouterReadings> {
    return this.#call('readings', {});
  }

  /** Records a publication into `path` (without extension) until `stopRecording`. */
  startRecording(
    publicationId: string,
    options: { path: string; audio: boolean; video: boolean },
  ): Promise<{ recordingId: string; path: string }> {
    return this.#call('startRecording', { publicationId, ...options });
  }

  /** Completes a recording's file; resolves with what it holds. */
  stopRecording(recordingId: string): Promise<RecordingResult> {
    return this.#call('stopRecording', { recordingId });
  }

  /** Closes the router and everything on it, in its worker; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.worker.call('closeRouter', { routerId: this.id }).catch(() => undefined);
    this.safeEmit('close');
  }

  /** Called by the pool with an event of this router from its worker. */
  deliver(event: RouterEvent): void {
    if (this.#closed) return;
    if (event.event === 'encodingsChanged')
      this.safeEmit('encodingsChanged', event.publicationId, event.encodings);
    else if (event.event === 'videoFallback')
      this.safeEmit('videoFallback', event.subscriptionId, event.fallbackEvent);
    else this.safeEmit('recordingFailed', event.recordingId, event.message);
  }

  /** Called by the pool when the router's worker died. */
  lose(error: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.safeEmit('lost', error);
  }

  #call<M extends MediaWorkerMethod>(
    method: M,
    params: RouterCallParams<M>,
  ): Promise<MediaWorkerMethods[M]['result']> {
    return this.worker.call(method, { ...params, routerId: this.id });
  }
}
