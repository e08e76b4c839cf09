import type { PublisherFallbackRecord, PublisherFallbackStats } from '@parlor/client';
import type { BrowserPeer, MediaCounters } from './helpers.js';
import type { TestServer } from '@parlor/server/testing';
import { routerFallbackOf, type FallbackChange } from './audioFallbackScenario.js';
import { NamespaceBed } from './namespaceBed.js';
import { limitUplink, type UplinkLimit } from './netns.js';

// Publisher audio fallback over a real narrow uplink: the publisher's Chromium runs in a network
// namespace whose uplink a token bucket narrows to less than its video needs (with some random
// loss on top), then widens again; the subscriber's Chromium runs on this host. Shared by the e2e
// test and the benchmark, which runs it several times.

/**
 * Room for the audio (about 50 kbit/s on the wire), none for video. The bucket is 2 KB deep, a
 * packet or two, as a bottleneck link's own queue passes at once: the 8 KB of before let the
 * first second after narrowing through untouched at 64 kbit/s, which no narrowed link does.
 */
export const narrowUplink: UplinkLimit = { rate: '64kbit', loss: 0.03, burst: '2kb' };

export type MediaMode = 'routed' | 'relayed';

/** What one run measured and saw; times are from the impairment, or from the repair, ms. */
export interface PublisherFallbackRun {
  readonly mediaMode: MediaMode;
  /**
   * Narrowing to `videoDisabled`: as the publisher's fallback decided, and when the subscriber's
   * page saw the stream's `hasVideo` turn false (`streamPropertyChanged`).
   */
  readonly reaction: { readonly publisherMs: number; readonly subscriberMs: number };
  /** Widening to `videoEnabled`, the same two ways (`hasVideo` true). */
  readonly recovery: { readonly publisherMs: number; readonly subscriberMs: number };
  /** How long narrowing the link took to run (tc and nftables in the namespace): within the reaction. */
  readonly impairCommandMs: number;
  /** The publisher's fallback events in order, as `type` or `type reason`. */
  readonly events: readonly string[];
  /** The subscriber's, likewise. */
  readonly subscriberEvents: readonly string[];
  /** The values of the subscriber's `streamPropertyChanged` events for `hasVideo`, in order. */
  readonly hasVideoChanges: readonly unknown[];
  /** Probes that failed while the link stayed narrow, and probes that started then. */
  readonly probes: { readonly started: number; readonly failed: number };
  /** Every change the fallback recorded (its stats), with times from the impairment. */
  readonly changes: readonly (PublisherFallbackRecord & { readonly sinceImpairmentMs: number })[];
  /** What the subscriber got in 4 s while video was off. */
  readonly whileOff: MediaCounters;
  /** Whether the publisher's own video track stayed enabled while video was off to the others. */
  readonly ownVideoStayedOn: boolean;
  /** The server's view of the stream once video came back. */
  readonly serverHasVideo: boolean | undefined;
  /**
   * The router's own audio fallback changes of the subscriber's video (its downlink judged, not
   * the publisher's uplink), from the impairment on; none in relayed sessions.
   */
  readonly subscriberFallbacks: readonly FallbackChange[];
}

const fallbackEventTypes = new Set([
  'videoDisableWarning',
  'videoDisableWarningLifted',
  'videoDisabled',
  'videoEnabled',
]);

/** The publisher audio fallback scenario on a namespace test bed (the publisher inside). */
export class PublisherFallbackTestBed {
  readonly #bed: NamespaceBed;

  private constructor(bed: NamespaceBed) {
    this.#bed = bed;
  }

  static async start(): Promise<PublisherFallbackTestBed> {
    return new PublisherFallbackTestBed(await NamespaceBed.start('pfb', 231));
  }

  /**
   * A 640x480 publisher with `audioFallback: { publisher: true }` and one subscriber: once media
   * flows the publisher's uplink narrows, stays narrow `narrowForMs` after video went off (long
   * enough for probes to fail on it), then widens; the run ends once the subscriber decodes video
   * again. Throws when an awaited event does not come.
   */
  async run(mediaMode: MediaMode, narrowForMs = 10_000): Promise<PublisherFallbackRun> {
    const sessionId = await this.#bed.parlor.createSession({ mediaMode });
    const publisher = await this.#bed.join(this.#bed.inside, sessionId);
    const subscriber = await this.#bed.join(this.#bed.outside, sessionId);
    let routerFallbacks: { stop(): Promise<FallbackChange[]> } | null = null;
    try {
      const publishError = await publisher.publish({
        resolution: '640x480',
        audioFallback: { publisher: true },
      });
      if (publishError) throw new Error(`publish failed: ${JSON.stringify(publishError)}`);
      const streamId = await publisher.streamId();
      await subscriber.expectMediaFlowing(streamId, 30_000);
      const initial = await fallbackStats(publisher);
      if (initial?.state !== 'on') throw new Error(`the fallback starts ${JSON.stringify(initial)}`);

      await watchHasVideo(subscriber);
      if (mediaMode === 'routed')
        routerFallbacks = watchRouterFallbacks(this.#bed.parlor, sessionId, await subscriber.connectionId());
      const impairedAt = Date.now();
      limitUplink(this.#bed.side, narrowUplink);
      const impairCommandMs = Date.now() - impairedAt;
      await publisher.waitForEvent({ target: 'publisher', type: 'videoDisabled', reason: 'quality' }, 20_000);
      const disabledAt = (await recorded(publisher, 'videoDisabled')).atMs;
      // The stream's change reaches the server over the publisher's narrowed uplink, on a TCP
      // connection whose retransmission timer the flooded queue has backed off: allow for it.
      await subscriber.waitForEvent(
        { target: 'subscriber', type: 'videoDisabled', reason: 'quality', streamId },
        40_000,
      );
      const subscriberDisabledAt = await hasVideoChangedAt(subscriber, false, 40_000);
      const ownVideoStayedOn = await publisher.page.evaluate(
        () => window.participant.publisher?.getVideoSource().track?.enabled === true,
      );
      const whileOff = await counted(subscriber, streamId, 4000);
      const leftMs = disabledAt + narrowForMs - Date.now();
      if (leftMs > 0) await new Promise((resolve) => setTimeout(resolve, leftMs));

      const repairedAt = Date.now();
      limitUplink(this.#bed.side, null);
      await publisher.waitForEvent({ target: 'publisher', type: 'videoEnabled', reason: 'quality' }, 40_000);
      const enabledAt = (await recorded(publisher, 'videoEnabled')).atMs;
      const subscriberEnabledAt = await hasVideoChangedAt(subscriber, true, 30_000);
      await subscriber.waitForEvent(
        { target: 'subscriber', type: 'videoEnabled', reason: 'quality', streamId },
        30_000,
      );
      await subscriber.expectMediaFlowing(streamId, 20_000);

      const changes = (await fallbackStats(publisher))?.changes ?? [];
      const whileNarrow = changes.filter((change) => change.atMs < repairedAt);
      return {
        mediaMode,
        reaction: {
          publisherMs: disabledAt - impairedAt,
          subscriberMs: subscriberDisabledAt - impairedAt,
        },
        recovery: {
          publisherMs: enabledAt - repairedAt,
          subscriberMs: subscriberEnabledAt - repairedAt,
        },
        impairCommandMs,
        events: fallbackEvents(await publisher.events(), 'publisher'),
        subscriberEvents: fallbackEvents(await subscriber.events(), 'subscriber'),
        hasVideoChanges: (await subscriber.events())
          .filter((event) => event.type === 'streamPropertyChanged' && event.property === 'hasVideo')
          .map((event) => event.value),
        probes: {
          started: whileNarrow.filter((change) => change.change === 'probeStarted').length,
          failed: whileNarrow.filter((change) => change.change === 'probeFailed').length,
        },
        changes: changes.map((change) => ({ ...change, sinceImpairmentMs: change.atMs - impairedAt })),
        whileOff,
        ownVideoStayedOn,
        serverHasVideo: this.#bed.parlor.server.rooms.get(sessionId)?.stream(streamId)?.lastVideoQualityChange
          ?.hasVideo,
        subscriberFallbacks: (await routerFallbacks?.stop()) ?? [],
      };
    } finally {
      await routerFallbacks?.stop();
      limitUplink(this.#bed.side, null);
      // Its media would otherwise share the namespace's uplink with the next run's.
      await Promise.all([publisher.page.close(), subscriber.page.close()]);
    }
  }

  close(): Promise<void> {
    return this.#bed.close();
  }
}

/** A run's figures in one line, for the test's and the benchmark's logs. */
export function describeRun(run: PublisherFallbackRun): string {
  return (
    `${run.mediaMode}: video off ${run.reaction.publisherMs} ms after the uplink narrowed ` +
    `(subscriber ${run.reaction.subscriberMs} ms; narrowing took ${run.impairCommandMs} ms), ` +
    `back ${run.recovery.publisherMs} ms after it widened (subscriber ${run.recovery.subscriberMs} ms); ` +
    run.changes
      .map(
        ({ sinceImpairmentMs, change, availableBitrate, loss }) =>
          `${change} +${sinceImpairmentMs} ms (estimate ${availableBitrate ?? '-'}, loss ${loss?.toFixed(2) ?? '-'})`,
      )
      .join(', ')
  );
}

/** What the subscriber's page keeps of the stream's `hasVideo` changes: the value and when, Unix ms. */
interface HasVideoWatch {
  hasVideoChanges?: { value: boolean; atMs: number }[];
}

/** Has the subscriber's page note when each `hasVideo` change came (the shared recorder keeps no time). */
async function watchHasVideo(peer: BrowserPeer): Promise<void> {
  await peer.page.evaluate(() => {
    const changes: { value: boolean; atMs: number }[] = [];
    (window as HasVideoWatch).hasVideoChanges = changes;
    window.participant.session.on('streamPropertyChanged', (event) => {
      if (event.changedProperty === 'hasVideo')
        changes.push({ value: event.newValue === true, atMs: Date.now() });
    });
  });
}

/** When the subscriber's page saw `hasVideo` change to `value` (the first time), Unix ms. */
async function hasVideoChangedAt(peer: BrowserPeer, value: boolean, timeoutMs: number): Promise<number> {
  const handle = await peer.page.waitForFunction(
    (value) => (window as HasVideoWatch).hasVideoChanges?.find((change) => change.value === value)?.atMs,
    value,
    { timeout: timeoutMs, polling: 50 },
  );
  return (await handle.jsonValue()) as number;
}

/** The publisher's fallback state, as `getAudioFallbackStats` tells it. */
/**
 * Polls the session's media stats every 250 ms for the router's audio fallback changes of a
 * subscriber's video, until stopped; returns each change once, in order.
 */
function watchRouterFallbacks(
  parlor: TestServer,
  sessionId: string,
  connectionId: string,
): { stop(): Promise<FallbackChange[]> } {
  const changes: FallbackChange[] = [];
  const watching = { done: false };
  const poll = async (): Promise<void> => {
    const change = await routerFallbackOf(parlor, sessionId, connectionId);
    if (change && change.atMs !== changes.at(-1)?.atMs) changes.push(change);
  };
  const polling = (async () => {
    while (!watching.done) {
      // A failed read (the server busy, the session ending) leaves a gap in the watch, no more.
      await poll().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    stop: async () => {
      watching.done = true;
      await polling;
      return changes;
    },
  };
}

function fallbackStats(peer: BrowserPeer): Promise<PublisherFallbackStats | null> {
  return peer.page.evaluate(() => window.participant.publisher?.getAudioFallbackStats() ?? null);
}

/** The first change of that kind the publisher's fallback recorded. */
async function recorded(peer: BrowserPeer, change: string): Promise<PublisherFallbackRecord> {
  const record = (await fallbackStats(peer))?.changes.find((entry) => entry.change === change);
  if (!record) throw new Error(`no ${change} recorded`);
  return record;
}

function fallbackEvents(
  events: readonly { target: string; type: string; reason?: string }[],
  target: string,
): string[] {
  return events
    .filter((event) => event.target === target && fallbackEventTypes.has(event.type))
    .map(({ type, reason }) => (reason ? `${type} ${reason}` : type));
}

/** How much the subscriber's media counters rose over a while. */
async function counted(peer: BrowserPeer, streamId: string, ms: number): Promise<MediaCounters> {
  const start = await peer.mediaCounters(streamId);
  await peer.page.waitForTimeout(ms);
  const end = await peer.mediaCounters(streamId);
  return {
    framesDecoded: end.framesDecoded - start.framesDecoded,
    videoWidth: end.videoWidth,
    videoPackets: end.videoPackets - start.videoPackets,
    videoPacketsLost: end.videoPacketsLost - start.videoPacketsLost,
    audioPackets: end.audioPackets - start.audioPackets,
    audioBytes: end.audioBytes - start.audioBytes,
    audioEnergy: end.audioEnergy - start.audioEnergy,
  };
}
