import type { PublishedMedia } from './weriftPeers.js';

/** Which SFU the load process joins, and how to reach it. */
export type SfuTarget =
  | { readonly kind: 'parlor'; readonly url: string; readonly apiKey: string; readonly apiSecret: string }
  | { readonly kind: 'janus'; readonly url: string };

/** Who joins one room and what they publish and subscribe to. */
export interface LoadPlan {
  readonly target: SfuTarget;
  /** Participants that publish, one stream each. */
  readonly publishers: number;
  readonly media: PublishedMedia;
  /** Whether each publisher subscribes to every other publisher's stream (a meeting). */
  readonly publishersSubscribe: boolean;
  /** Participants that only subscribe, each to every publisher's stream. */
  readonly viewers: number;
  /** Viewers join all at once (a join storm) instead of a few at a time. */
  readonly viewersAtOnce: boolean;
  /** Time given after the last first packet before a window may start, ms. */
  readonly settleMs: number;
  /**
   * Viewers that join all at once while the window is open (`storm`), to measure what a join
   * storm does to those already receiving. Default: none.
   */
  readonly stormViewers?: number;
}

/** How long joining took, per participant that subscribes: from its connect to its first media packet. */
export interface JoinFigures {
  readonly participants: number;
  /** Subscriptions that failed to negotiate or received nothing in time. */
  readonly failed: number;
  /** Why they failed: each distinct error message once, a few at most. */
  readonly errors: readonly string[];
  readonly p50Ms: number;
  readonly p95Ms: number;
}

/** What the subscribers received over a window, and what it cost the load process. */
export interface WindowFigures {
  readonly seconds: number;
  /** Subscriptions counted: one per stream and subscriber. */
  readonly subscriptions: number;
  readonly packets: number;
  readonly bytes: number;
  readonly lost: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  /** CPU the load process used in the window, share of one core (1 = a full core). */
  readonly loadCpu: number;
  /** The load process's longest event-loop delay in the window, ms: a stall there shows as latency. */
  readonly loadLagMaxMs: number;
  /** Publishers' connections that failed since the room was set up, and why. */
  readonly publisherFailures: readonly string[];
}

/** From the benchmark to the load process, one JSON line each. */
export type LoadCommand =
  | { readonly command: 'setup'; readonly plan: LoadPlan }
  | { readonly command: 'startWindow' }
  /** The plan's `stormViewers` join at once; answered once each has media or gave up. */
  | { readonly command: 'storm' }
  | { readonly command: 'endWindow' }
  | { readonly command: 'teardown' };

/** From the load process to the benchmark, one JSON line each, one per command. */
export type LoadEvent =
  | { readonly event: 'ready'; readonly join: JoinFigures }
  | { readonly event: 'windowStarted' }
  | { readonly event: 'stormed'; readonly join: JoinFigures }
  | { readonly event: 'windowEnded'; readonly window: WindowFigures }
  | { readonly event: 'tornDown' }
  | { readonly event: 'failed'; readonly message: string };

/** The value below which a share `q` of the sorted samples lie (nearest rank); 0 for none. */
export function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}
