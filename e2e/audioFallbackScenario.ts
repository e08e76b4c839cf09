import { type TestServer, waitFor } from '@parlor/server/testing';
import type { BrowserPeer, RecordedEvent } from './helpers.js';
import { NamespaceBed } from './namespaceBed.js';
import { limitDownlink } from './netns.js';

// Subscriber audio fallback with a real impairment, through the SDK: one subscriber's browser
// runs in a network namespace whose downlink tc and nftables squeeze below the lowest simulcast
// layer; the publisher and another subscriber run beside Parlor, unimpaired. Shared by the e2e
// test and the benchmark, which runs it several times.

/**
 * The impairment: narrower than the lowest layer (320x240 at 15 fps, about 70 kbit/s) with audio,
 * a bottleneck whose queue holds about 0.4 s (its token bucket a packet or two deep: a deeper
 * one would pass the first seconds of video untouched, which no narrowed link does).
 */
export const impairment = { rate: '60kbit', lossPercent: 10, burst: '2kb' } as const;

/**
 * The degraded link of the Inspector's issue: video gets through (the lowest layer or two), the
 * loss is what the scores and the Inspector tell of.
 */
export const degradedLink = { rate: '300kbit', lossPercent: 5 } as const;

const fallbackEventTypes = new Set([
  'videoDisableWarning',
  'videoDisableWarningLifted',
  'videoDisabled',
  'videoEnabled',
]);

/** What one run measured and saw. */
export interface FallbackRun {
  /** Impairment to `videoDisabled`: when the router decided, and when the subscriber's page got it, ms. */
  readonly reaction: { readonly routerMs: number; readonly subscriberMs: number };
  /** The link reading the router turned video off on, from its stats. */
  readonly disabledOn: FallbackReading;
  /** Repair to `videoEnabled`, the same two ways, ms. */
  readonly recovery: { readonly routerMs: number; readonly subscriberMs: number };
  /** The impaired subscriber's audio fallback events in order, as `type` or `type reason`. */
  readonly events: readonly string[];
  /** The unimpaired subscriber's. */
  readonly steadyEvents: readonly string[];
  /** Audio packets the impaired subscriber received while its link stayed bad, video off. */
  readonly audioPacketsWhileOff: number;
  /** How long the link stayed bad after `videoDisabled`, ms. */
  readonly impairedForMs: number;
  /** The seconds in which the unimpaired subscriber decoded no frame. */
  readonly steadyStalls: readonly string[];
  /** Whether the impaired subscriber's widget showed video disabled while it was, and after. */
  readonly indicator: { readonly whileOff: boolean; readonly afterOn: boolean };
  /** The session, the connections of the impaired and the steady subscriber, and when (Unix ms) the link was impaired and repaired. */
  readonly sessionId: string;
  readonly impairedConnection: string;
  readonly steadyConnection: string;
  readonly impairedAt: number;
  readonly repairedAt: number;
  /** The impaired subscriber's `qualityScoreChanged` audio scores, with when its page got them. */
  readonly audioScores: readonly { readonly atMs: number; readonly score: number }[];
  /**
   * When (Unix ms) its link was `degradedLink` after video came back, when repaired, and when
   * its audio score was 5 again; null when the run had no such phase.
   */
  readonly degraded: { readonly at: number; readonly until: number; readonly recoveredAt: number } | null;
}

/** What the router judged a subscriber's link by when its audio fallback changed. */
export interface FallbackReading {
  readonly estimate: number | null;
  readonly loss: number;
  readonly lowestBitrate: number;
}

/** A change of the router's audio fallback of a subscriber's video, and the reading it was made on. */
export interface FallbackChange extends FallbackReading {
  readonly atMs: number;
  readonly event: string;
}

/** The router's view of a subscription's video, from the session's media stats. */
interface FallbackStats {
  readonly connectionId: string;
  readonly tracks: readonly { readonly kind: string; readonly lastVideoFallback: FallbackChange | null }[];
}

/** The subscriber audio fallback scenario on a namespace test bed (the impaired subscriber inside). */
export class FallbackTestBed {
  readonly #bed: NamespaceBed;

  private constructor(bed: NamespaceBed) {
    this.#bed = bed;
  }

  static async start(): Promise<FallbackTestBed> {
    return new FallbackTestBed(await NamespaceBed.start('af', 203));
  }

  /**
   * A routed session: a 640x480 publisher and a subscriber on the open side, a subscriber in
   * the namespace; its downlink is impaired once media flows, repaired `impairedForMs` after
   * video went off, and (unless `degradedForMs` is 0) once it decodes video again is
   * `degradedLink` for `degradedForMs`; the run ends once its audio scores 5 again.
   */
  async run(impairedForMs = 10_000, degradedForMs = 0): Promise<FallbackRun> {
    const sessionId = await this.#bed.parlor.createSession({ mediaMode: 'routed' });
    const publisher = await this.#bed.join(this.#bed.outside, sessionId);
    const publishError = await publisher.publish({ resolution: '640x480', frameRate: 15 });
    if (publishError) throw new Error(`publish failed: ${JSON.stringify(publishError)}`);
    const streamId = await publisher.streamId();
    const steady = await this.#bed.join(this.#bed.outside, sessionId);
    const impaired = await this.#bed.join(this.#bed.inside, sessionId);
    try {
      await Promise.all([
        steady.expectMediaFlowing(streamId, 30_000),
        impaired.expectMediaFlowing(streamId, 30_000),
      ]);
      const impairedConnection = await impaired.connectionId();
      const steadyConnection = await steady.connectionId();
      const watch = watchDecoding(steady, streamId);

      limitDownlink(this.#bed.side, impairment.rate, {
        lossPercent: impairment.lossPercent,
        burst: impairment.burst,
      });
      const impairedAt = Date.now();
      const disabled = await impaired.waitForEvent({ type: 'videoDisabled', reason: 'quality' }, 20_000);
      const disabledChange = await routerFallbackOf(this.#bed.parlor, sessionId, impairedConnection);
      if (disabledChange?.event !== 'videoDisabled')
        throw new Error(`the router's last change is ${JSON.stringify(disabledChange)}`);
      const audioAtDisable = (await impaired.mediaCounters(streamId)).audioPackets;
      const indicatorWhileOff = await showsVideoDisabled(impaired);
      await new Promise((resolve) => setTimeout(resolve, impairedForMs));
      const audioPacketsWhileOff = (await impaired.mediaCounters(streamId)).audioPackets - audioAtDisable;

      limitDownlink(this.#bed.side, null);
      const repairedAt = Date.now();
      // Video is back once the router's last change and the page's last event both say so. A probe
      // may bring it back for a moment while the link is bad and fail just after, and its
      // videoEnabled can reach the page after the repair, through the bottleneck's queue.
      let enabled: RecordedEvent | undefined;
      let enabledChange: FallbackChange | undefined;
      await waitFor(
        async () => {
          const last = (await impaired.events())
            .filter(
              (e) => e.target === 'subscriber' && (e.type === 'videoEnabled' || e.type === 'videoDisabled'),
            )
            .at(-1);
          if (last?.type !== 'videoEnabled' || last.reason !== 'quality') return false;
          const change = await routerFallbackOf(this.#bed.parlor, sessionId, impairedConnection);
          if (change?.event !== 'videoEnabled') return false;
          enabled = last;
          enabledChange = change;
          return true;
        },
        'video back after the repair, at the router and at the subscriber',
        60_000,
      );
      if (!enabled || !enabledChange) throw new Error('unreachable: the wait ended without video back');
      const decodedAtEnable = (await impaired.mediaCounters(streamId)).framesDecoded;
      await waitFor(
        async () => (await impaired.mediaCounters(streamId)).framesDecoded > decodedAtEnable + 30,
        'the impaired subscriber to decode video again',
      );
      // The pages close after this: their telemetry of the episode must have reached the Inspector.
      await waitFor(
        async () =>
          (await this.inspector(sessionId)).some(
            (e) => e.type === 'videoEnabled' && e.connectionId === impairedConnection,
          ),
        "the Inspector to have the impaired subscriber's videoEnabled",
        20_000,
      );
      const run = {
        reaction: {
          routerMs: disabledChange.atMs - impairedAt,
          subscriberMs: (disabled.atMs ?? 0) - impairedAt,
        },
        disabledOn: {
          estimate: disabledChange.estimate,
          loss: disabledChange.loss,
          lowestBitrate: disabledChange.lowestBitrate,
        },
        recovery: {
          routerMs: enabledChange.atMs - repairedAt,
          subscriberMs: (enabled.atMs ?? 0) - repairedAt,
        },
        events: await fallbackEventsOf(impaired),
        steadyEvents: await fallbackEventsOf(steady),
        audioPacketsWhileOff,
        impairedForMs,
        steadyStalls: await watch.stop(),
        indicator: { whileOff: indicatorWhileOff, afterOn: await showsVideoDisabled(impaired) },
        sessionId,
        impairedConnection,
        steadyConnection,
        impairedAt,
        repairedAt,
      };
      if (degradedForMs === 0) return { ...run, audioScores: await audioScoresOf(impaired), degraded: null };
      const scoresFive = async (after: number): Promise<boolean> =>
        (await audioScoresOf(impaired)).filter((s) => s.atMs > after).at(-1)?.score === 5;
      // From a clean start: the fall must be a change the page is told of.
      if (!(await scoresFive(0)))
        await waitFor(() => scoresFive(0), 'the impaired subscriber to score its audio 5', 30_000);
      limitDownlink(this.#bed.side, degradedLink.rate, { lossPercent: degradedLink.lossPercent });
      const degradedAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, degradedForMs));
      limitDownlink(this.#bed.side, null);
      const until = Date.now();
      await waitFor(() => scoresFive(until), 'the impaired subscriber to score its audio 5 again', 30_000);
      const recoveredAt = Date.now();
      // Its router samples to the repair, and its scores, must have reached the Inspector.
      await waitFor(
        async () => {
          const response = await this.#bed.parlor.rest('GET', `/session/${sessionId}/inspector`);
          const { quality, scores } = (await response.json()) as {
            quality: { at: number; source: string; connectionId: string | null }[];
            scores: { at: number; connectionId: string | null }[];
          };
          const mine = (entry: { at: number; connectionId: string | null }): boolean =>
            entry.connectionId === impairedConnection && entry.at > until;
          return quality.some((q) => q.source === 'router' && mine(q)) && scores.some(mine);
        },
        "the Inspector to have the impaired subscriber's samples after the repair",
        20_000,
      );
      return {
        ...run,
        audioScores: await audioScoresOf(impaired),
        degraded: { at: degradedAt, until, recoveredAt },
      };
    } finally {
      limitDownlink(this.#bed.side, null);
      await Promise.all([publisher.page.close(), steady.page.close(), impaired.page.close()]);
    }
  }

  close(): Promise<void> {
    return this.#bed.close();
  }

  get parlor(): TestServer {
    return this.#bed.parlor;
  }

  /** The clients' events the Inspector has of the session (none before its first record). */
  async inspector(sessionId: string): Promise<{ type: string; connectionId: string | null }[]> {
    const response = await this.#bed.parlor.rest('GET', `/session/${sessionId}/inspector`);
    if (response.status !== 200) return [];
    const { events } = (await response.json()) as {
      events: { source: string; type: string; connectionId: string | null }[];
    };
    return events.filter((event) => event.source === 'client');
  }
}

/** The router's last audio fallback change of a subscriber's video, from the session's media stats; null before any. */
export async function routerFallbackOf(
  parlor: TestServer,
  sessionId: string,
  connectionId: string,
): Promise<FallbackChange | null> {
  const response = await parlor.rest('GET', `/session/${sessionId}/media`);
  const { subscriptions } = (await response.json()) as { subscriptions: FallbackStats[] };
  return (
    subscriptions
      .find((subscription) => subscription.connectionId === connectionId)
      ?.tracks.find((track) => track.kind === 'video')?.lastVideoFallback ?? null
  );
}

async function fallbackEventsOf(peer: BrowserPeer): Promise<string[]> {
  return (await peer.events())
    .filter((event) => event.target === 'subscriber' && fallbackEventTypes.has(event.type))
    .map(({ type, reason }) => (reason ? `${type} ${reason}` : type));
}

async function audioScoresOf(peer: BrowserPeer): Promise<{ atMs: number; score: number }[]> {
  const scores: { atMs: number; score: number }[] = [];
  for (const event of await peer.events()) {
    const score = (event.value as { audioQualityScore?: number } | undefined)?.audioQualityScore;
    if (event.type === 'qualityScoreChanged' && typeof score === 'number')
      scores.push({ atMs: event.atMs ?? 0, score });
  }
  return scores;
}

/** Whether the page's subscriber widget shows its video-disabled indicator. */
function showsVideoDisabled(peer: BrowserPeer): Promise<boolean> {
  return peer.page.evaluate(() => {
    const indicator = document.querySelector<HTMLElement>('.OT_subscriber .OT_video-disabled-indicator');
    return indicator !== null && !indicator.hidden;
  });
}

/** Samples a subscriber's decoded frames each second until stopped; returns the seconds without any. */
function watchDecoding(peer: BrowserPeer, streamId: string): { stop(): Promise<string[]> } {
  const stalls: string[] = [];
  const watching = { done: false };
  const sampling = (async () => {
    let last = (await peer.mediaCounters(streamId)).framesDecoded;
    while (!watching.done) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const now = (await peer.mediaCounters(streamId)).framesDecoded;
      if (now <= last) stalls.push(`no frame decoded in the second to ${new Date().toISOString()}`);
      last = now;
    }
  })();
  return {
    stop: async () => {
      watching.done = true;
      await sampling;
      return stalls;
    },
  };
}
