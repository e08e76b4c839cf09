import { randomUUID } from 'node:crypto';
import { PublicationRecording } from '../../archive/recording/PublicationRecording.js';
import type { RecordingResult } from '../../archive/recording/StreamRecorder.js';
import { InvalidStateError } from '../../InvalidStateError.js';
import { TypedEmitter } from '../../TypedEmitter.js';
import type { UdpMux } from '../ice/UdpMux.js';
import { MediaRouter, type PublisherFeedback } from '../router/MediaRouter.js';
import type { Publication } from '../router/Publication.js';
import { readRouter } from '../router/routerReadings.js';
import type { Subscription } from '../router/Subscription.js';
import type { DataPlane } from '../srtp/dataPlane.js';
import type { DtlsCertificate } from '../transport/DtlsCertificate.js';
import type { DtlsHandshaker } from '../transport/DtlsHandshaker.js';
import type { HandshakeLimiter } from '../transport/HandshakeLimiter.js';
import type { VideoFallbackSettings } from '../router/VideoFallback.js';
import type { MediaWorkerMethod, MediaWorkerMethods, RouterEvent } from './workerProtocol.js';

/** One router of a worker, with its publications and subscriptions by ID. */
interface HostedRouter {
  readonly router: MediaRouter;
  readonly publications: Map<string, Publication>;
  readonly subscriptions: Map<string, Subscription>;
}

/** A recording, and its result once stopped (by the main thread, or by its router closing). */
interface HostedRecording {
  readonly routerId: string;
  readonly recording: PublicationRecording;
  result: Promise<RecordingResult> | null;
}

type Result<M extends MediaWorkerMethod> = MediaWorkerMethods[M]['result'];

type Handlers = {
  [M in MediaWorkerMethod]: (params: MediaWorkerMethods[M]['params']) => Result<M> | Promise<Result<M>>;
};

export interface WorkerRoutersOptions {
  /** The worker's UDP socket, which every router shares. */
  readonly mux: UdpMux;
  readonly certificate: DtlsCertificate;
  /** The address announced in ICE candidates. */
  readonly announcedAddress: string;
  /** Audio fallback's thresholds for every router's subscribers; null turns it off. */
  readonly videoFallback: VideoFallbackSettings | null;
  /** How every router's publishers learn what their uplink carries. */
  readonly publisherFeedback: PublisherFeedback;
  /** Where SRTP's cryptography runs in every router. */
  readonly dataPlane: DataPlane;
  /** Bounds the DTLS handshakes of all the worker's routers together. */
  readonly handshakes: HandshakeLimiter;
  /** Where the DTLS handshakes of all the worker's routers run. */
  readonly handshaker: DtlsHandshaker;
}

export interface WorkerRoutersEvents {
  /** One of the routers emitted an event the main thread acts on. */
  routerEvent: [event: RouterEvent];
}

/**
 * The routers one media worker hosts, all on its UDP socket, driven by the main thread's calls:
 * objects stay in the worker, the main thread names them by ID.
 */
export class WorkerRouters extends TypedEmitter<WorkerRoutersEvents> {
  readonly #routers = new Map<string, HostedRouter>();
  readonly #recordings = new Map<string, HostedRecording>();
  readonly #handlers: Handlers;
  #shedding = false;

  constructor(options: WorkerRoutersOptions) {
    super();
    this.#handlers = {
      createRouter: ({ routerId }) => {
        if (this.#routers.has(routerId)) throw new InvalidStateError(`router ${routerId} exists`);
        const router = new MediaRouter(options);
        if (this.#shedding) router.setShedding(true);
        router.on('encodingsChanged', (publication, encodings) => {
          const event: RouterEvent = {
            routerId,
            event: 'encodingsChanged',
            publicationId: publication.id,
            encodings: encodings.map(({ rid, active }) => ({ rid, active })),
          };
          // After the answer to a call under way (the publish or subscribe that changed the
          // encodings), so that the main thread knows the publication the event names.
          queueMicrotask(() => {
            this.safeEmit('routerEvent', event);
          });
        });
        router.on('videoFallback', (subscription, fallbackEvent) => {
          this.safeEmit('routerEvent', {
            routerId,
            event: 'videoFallback',
            subscriptionId: subscription.id,
            fallbackEvent,
          });
        });
        this.#routers.set(routerId, {
          router,
          publications: new Map(),
          subscriptions: new Map(),
        });
        return null;
      },
      closeRouter: ({ routerId }) => {
        const hosted = this.#routers.get(routerId);
        if (hosted) this.#close(routerId, hosted);
        this.#routers.delete(routerId);
        return null;
      },
      publish: ({ routerId, offerSdp }) => {
        const hosted = this.#router(routerId);
        const { publication, answerSdp } = hosted.router.publish(offerSdp);
        hosted.publications.set(publication.id, publication);
        return { publicationId: publication.id, answerSdp };
      },
      subscribe: ({ routerId, publicationId, preferences, audioFallback }) => {
        const hosted = this.#router(routerId);
        const { subscription, offerSdp } = hosted.router.subscribe(this.#publication(hosted, publicationId), {
          preferences,
          audioFallback,
        });
        hosted.subscriptions.set(subscription.id, subscription);
        return { subscriptionId: subscription.id, offerSdp };
      },
      setPreferences: ({ routerId, subscriptionId, preferences }) => {
        const hosted = this.#router(routerId);
        hosted.router.setPreferences(this.#subscription(hosted, subscriptionId), preferences);
        return null;
      },
      answer: ({ routerId, subscriptionId, answerSdp }) => {
        const hosted = this.#router(routerId);
        hosted.router.answer(this.#subscription(hosted, subscriptionId), answerSdp);
        return null;
      },
      unpublish: ({ routerId, publicationId }) => {
        const hosted = this.#router(routerId);
        const publication = hosted.publications.get(publicationId);
        if (!publication) return null;
        hosted.router.unpublish(publication);
        hosted.publications.delete(publicationId);
        for (const [id, subscription] of hosted.subscriptions)
          if (subscription.closed) hosted.subscriptions.delete(id);
        return null;
      },
      unsubscribe: ({ routerId, subscriptionId }) => {
        const hosted = this.#router(routerId);
        const subscription = hosted.subscriptions.get(subscriptionId);
        if (!subscription) return null;
        hosted.router.unsubscribe(subscription);
        hosted.subscriptions.delete(subscriptionId);
        return null;
      },
      stats: ({ routerId }) => this.#router(routerId).router.stats(),
      readings: ({ routerId }) => {
        const { publications, subscriptions } = this.#router(routerId);
        return readRouter(publications.values(), subscriptions.values());
      },
      muxStats: () => ({ tcp: options.mux.tcpStats, udp: options.mux.udpStats }),
      startRecording: ({ routerId, publicationId, path, audio, video }) => {
        const hosted = this.#router(routerId);
        const recording = new PublicationRecording(this.#publication(hosted, publicationId), {
          path,
          audio,
          video,
        });
        const recordingId = randomUUID();
        this.#recordings.set(recordingId, { routerId, recording, result: null });
        recording.recorder.on('writeFailed', (error) => {
          this.safeEmit('routerEvent', {
            routerId,
            event: 'recordingFailed',
            recordingId,
            message: error.message,
          });
        });
        return { recordingId, path: recording.recorder.path };
      },
      // Also after the router closed: the recording's result waits here for the main thread.
      stopRecording: ({ recordingId }) => {
        const hosted = this.#recordings.get(recordingId);
        if (!hosted) throw new InvalidStateError(`no recording ${recordingId}`);
        this.#recordings.delete(recordingId);
        return (hosted.result ??= hosted.recording.stop());
      },
      simulateLoad: ({ busyMs, everyMs, durationMs }) => {
        const until = performance.now() + durationMs;
        const timer = setInterval(() => {
          const end = Math.min(until, performance.now() + busyMs);
          while (performance.now() < end);
          if (end >= until) clearInterval(timer);
        }, everyMs);
        return null;
      },
    };
  }

  /** Holds every subscriber's video at the lowest layer while the worker is overloaded. */
  setShedding(shedding: boolean): void {
    if (shedding === this.#shedding) return;
    this.#shedding = shedding;
    for (const { router } of this.#routers.values()) router.setShedding(shedding);
  }

  /** Carries out one call from the main thread; throws (or rejects with) what the router throws. */
  handle<M extends MediaWorkerMethod>(
    method: M,
    params: MediaWorkerMethods[M]['params'],
  ): Result<M> | Promise<Result<M>> {
    const handler = this.#handlers[method] as (
      params: MediaWorkerMethods[M]['params'],
    ) => Result<M> | Promise<Result<M>>;
    return handler(params);
  }

  /**
   * RTP packets forwarded to the subscribers of its routers, counted since each subscribed, as of
   * each one's last tick (the native plane's counts are read on ticks: asking each slot again
   * here would cost a call per track for a rate taken over 2 s or more).
   */
  forwardedPackets(): number {
    let total = 0;
    for (const { subscriptions } of this.#routers.values())
      for (const subscription of subscriptions.values())
        for (const track of subscription.tracks) total += track.packetsOut;
    return total;
  }

  /** Closes a router; its recordings are completed, their results kept until asked for. */
  #close(routerId: string, hosted: HostedRouter): void {
    for (const entry of this.#recordings.values()) {
      if (entry.routerId !== routerId || entry.result) continue;
      entry.result = entry.recording.stop();
      // Handled when the main thread asks; a failure must not end the worker meanwhile.
      entry.result.catch(() => undefined);
    }
    hosted.router.close();
  }

  #router(routerId: string): HostedRouter {
    const hosted = this.#routers.get(routerId);
    if (!hosted) throw new InvalidStateError(`no router ${routerId}`);
    return hosted;
  }

  #subscription(hosted: HostedRouter, subscriptionId: string): Subscription {
    const subscription = hosted.subscriptions.get(subscriptionId);
    if (!subscription) throw new InvalidStateError(`no subscription ${subscriptionId}`);
    return subscription;
  }

  #publication(hosted: HostedRouter, publicationId: string): Publication {
    const publication = hosted.publications.get(publicationId);
    if (!publication) throw new InvalidStateError(`no publication ${publicationId}`);
    return publication;
  }
}
