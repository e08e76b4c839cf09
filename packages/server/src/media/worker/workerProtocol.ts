import type { SignatureHash } from 'werift';
import type { DataPlane } from '../srtp/dataPlane.js';
import type { HandshakeLimits } from '../transport/HandshakeLimiter.js';
import type { IceTcpLimits, IceTcpStats, UdpMuxStats } from '../ice/UdpMux.js';
import type { RecordingResult } from '../../archive/recording/StreamRecorder.js';
import type { EncodingState, PublisherFeedback, RouterStats } from '../router/MediaRouter.js';
import type { RouterReadings } from '../router/routerReadings.js';
import type { VideoPreferences } from '../router/Subscription.js';
import type { VideoFallbackEvent, VideoFallbackSettings } from '../router/VideoFallback.js';
import type { AdmissionSettings, WorkerLoadReading } from './WorkerLoad.js';

/** What a media worker is started with (its `workerData`). */
export interface MediaWorkerSettings {
  /** Address its UDP socket (and TCP listener) binds. */
  readonly host: string;
  /** Its port; 0 picks a free one. */
  readonly port: number;
  /** Whether it also accepts ICE-TCP on the same port. */
  readonly tcp: boolean;
  /** What ICE-TCP connections may do before their first check. */
  readonly tcpLimits: IceTcpLimits;
  /** The load past which it admits nothing new and holds its subscribers' video at the lowest layer. */
  readonly admission: AdmissionSettings;
  /** How many DTLS handshakes it runs at once and starts per second (in its DTLS thread). */
  readonly handshakes: HandshakeLimits;
  /** The address announced in ICE candidates. */
  readonly announcedAddress: string;
  /** Where SRTP's cryptography runs. */
  readonly dataPlane: DataPlane;
  /** Whether its socket is read in batches by the addon. */
  readonly batchedReads: boolean;
  /** The DTLS certificate every worker presents, so fingerprints are the server's. */
  readonly certificate: {
    readonly certPem: string;
    readonly keyPem: string;
    readonly signatureHash: SignatureHash;
  };
  /** Audio fallback's thresholds for every router's subscribers; null turns it off. */
  readonly videoFallback: VideoFallbackSettings | null;
  /** How every router's publishers learn what their uplink carries. */
  readonly publisherFeedback: PublisherFeedback;
}

/** The calls a media worker carries out, each with its parameters and result. */
export interface MediaWorkerMethods {
  createRouter: { params: { routerId: string }; result: null };
  closeRouter: { params: { routerId: string }; result: null };
  publish: {
    params: { routerId: string; offerSdp: string };
    result: { publicationId: string; answerSdp: string };
  };
  /** `audioFallback`: whether the subscriber's video may be turned off when its link cannot carry it. */
  subscribe: {
    params: {
      routerId: string;
      publicationId: string;
      preferences: VideoPreferences;
      audioFallback: boolean;
    };
    result: { subscriptionId: string; offerSdp: string };
  };
  /** Changes what a subscriber wants of the video it receives. */
  setPreferences: {
    params: { routerId: string; subscriptionId: string; preferences: VideoPreferences };
    result: null;
  };
  answer: { params: { routerId: string; subscriptionId: string; answerSdp: string }; result: null };
  unpublish: { params: { routerId: string; publicationId: string }; result: null };
  unsubscribe: { params: { routerId: string; subscriptionId: string }; result: null };
  stats: { params: { routerId: string }; result: RouterStats };
  /** The router's counters in compact rows, for sampling and `/metrics`. */
  readings: { params: { routerId: string }; result: RouterReadings };
  /** The worker's ICE-TCP connections and UDP datagram counts. */
  muxStats: { params: null; result: MuxStats };
  /** Records a publication's audio and/or video into `path` (without extension) as it arrives. */
  startRecording: {
    params: { routerId: string; publicationId: string; path: string; audio: boolean; video: boolean };
    result: { recordingId: string; path: string };
  };
  /** Completes a recording, also one whose router has closed since. */
  stopRecording: { params: { routerId: string; recordingId: string }; result: RecordingResult };
  /**
   * Tests only: keeps the worker's loop busy `busyMs` of every `everyMs` for `durationMs`, as a
   * burst of joins would, while it still handles datagrams between the slices.
   */
  simulateLoad: { params: { busyMs: number; everyMs: number; durationMs: number }; result: null };
}

export type MediaWorkerMethod = keyof MediaWorkerMethods;

export interface MediaWorkerRequest<M extends MediaWorkerMethod = MediaWorkerMethod> {
  readonly id: number;
  readonly method: M;
  readonly params: MediaWorkerMethods[M]['params'];
}

/** A worker's socket counts: its ICE-TCP connections and the datagrams its UDP socket read. */
export interface MuxStats {
  readonly tcp: IceTcpStats;
  readonly udp: UdpMuxStats;
}

/** What a worker's router tells the main thread unasked: a `MediaRouter` event, with IDs for objects. */
export type RouterEvent =
  | {
      readonly routerId: string;
      readonly event: 'encodingsChanged';
      readonly publicationId: string;
      readonly encodings: readonly EncodingState[];
    }
  | {
      readonly routerId: string;
      readonly event: 'videoFallback';
      readonly subscriptionId: string;
      readonly fallbackEvent: VideoFallbackEvent;
    }
  | {
      readonly routerId: string;
      /** Writing a recording's file failed (disk full…): it records nothing more. */
      readonly event: 'recordingFailed';
      readonly recordingId: string;
      readonly message: string;
    };

/** A worker's load report: its readings, what it forwards, and whether it sheds. */
export interface WorkerLoadReport extends WorkerLoadReading {
  /** RTP packets forwarded to subscribers per second, over its last 2 s or so. */
  readonly forwardedPerSecond: number;
  /** Whether it holds its subscribers' video at the lowest layer, being overloaded. */
  readonly shedding: boolean;
  /** The time it has spent shedding since it started, ms. */
  readonly sheddingMs: number;
}

/**
 * A worker's messages to the main thread: that it is ready, its load every `loadReportIntervalMs`,
 * the outcome of a request, or a router's event.
 */
export type MediaWorkerMessage =
  | { readonly kind: 'ready'; readonly port: number }
  /** Something the main thread logs as a warning. */
  | { readonly kind: 'warning'; readonly message: string }
  | ({ readonly kind: 'load' } & WorkerLoadReport)
  | ({ readonly kind: 'event' } & RouterEvent)
  | { readonly kind: 'result'; readonly id: number; readonly result: unknown }
  | {
      readonly kind: 'failure';
      readonly id: number;
      readonly error: { readonly name: string; readonly message: string };
    };
