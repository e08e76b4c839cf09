import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { BenchClip } from './benchClip.js';
import { JanusRoom } from './JanusRoom.js';
import { percentile, type JoinFigures, type LoadPlan, type WindowFigures } from './loadProtocol.js';
import type { LoadContext, LoadParticipant, LoadRoom, PublishedStream } from './loadRoom.js';
import { ParlorRoom } from './ParlorRoom.js';
import { ReceiveMeter } from './ReceiveMeter.js';
import type { PeerNetwork, SubscriberPeer } from './weriftPeers.js';

/** How long one signaling step, and a subscription's first packet, may take, ms. */
const timeoutMs = 30_000;
/** Participants that join at the same time outside a join storm. */
const joinConcurrency = 8;

/** One room of synthetic participants, from joining to leaving, with its measuring windows. */
export class RoomLoad {
  readonly join: JoinFigures;
  readonly #meter: ReceiveMeter;
  readonly #participants: readonly LoadParticipant[];
  readonly #publisherFailures: readonly string[];
  readonly #storm: () => Promise<JoinFigures>;
  #windowStart: { atMs: number; cpu: NodeJS.CpuUsage; delay: IntervalHistogram } | null = null;

  private constructor(
    meter: ReceiveMeter,
    participants: readonly LoadParticipant[],
    join: JoinFigures,
    publisherFailures: readonly string[],
    storm: () => Promise<JoinFigures>,
  ) {
    this.#meter = meter;
    this.#participants = participants;
    this.join = join;
    this.#publisherFailures = publisherFailures;
    this.#storm = storm;
  }

  /**
   * Publishers join and publish, a few at a time; then (in a meeting) each subscribes to the
   * others, and viewers join and subscribe to every stream, a few at a time or all at once.
   * Resolves once every track of every subscription received its first packet (or gave up) and
   * the plan's settling time passed.
   */
  static async setup(plan: LoadPlan, clip: BenchClip, network: PeerNetwork): Promise<RoomLoad> {
    const meter = new ReceiveMeter();
    const publisherFailures: string[] = [];
    const context: LoadContext = {
      clip,
      meter,
      network,
      timeoutMs,
      onPublisherFailed: (reason) => publisherFailures.push(reason),
    };
    const room: LoadRoom =
      plan.target.kind === 'parlor'
        ? await ParlorRoom.create(plan.target, context)
        : await JanusRoom.create(plan.target, context);
    const participants: LoadParticipant[] = [];
    const joined = async (): Promise<{ participant: LoadParticipant; startedAt: number }> => {
      const startedAt = performance.now();
      const participant = await room.join();
      participants.push(participant);
      return { participant, startedAt };
    };

    const publishers = await inBatches(plan.publishers, joinConcurrency, async () => {
      const entry = await joined();
      return { ...entry, stream: await entry.participant.publish(plan.media) };
    });
    const streams = publishers.map((publisher) => publisher.stream);
    const subscribing = plan.publishersSubscribe
      ? publishers.map((publisher) =>
          subscribeAll(
            publisher.participant,
            streams.filter((stream) => stream !== publisher.stream),
            publisher.startedAt,
          ),
        )
      : [];
    // A viewer's slot is free once it has subscribed: waiting for media does not hold up the next.
    const viewer = async (): Promise<{ outcome: Promise<SubscribeOutcome> }> => {
      try {
        const { participant, startedAt } = await joined();
        return await subscribeAll(participant, streams, startedAt);
      } catch (error) {
        return {
          outcome: Promise.resolve({ joinMs: null, failed: streams.length, errors: [messageOf(error)] }),
        };
      }
    };
    const viewers = inBatches(plan.viewers, plan.viewersAtOnce ? plan.viewers : joinConcurrency, viewer);
    const publisherOutcomes = await Promise.all(
      subscribing.map(async (subscribed) => (await subscribed).outcome),
    );
    const viewerOutcomes = await Promise.all((await viewers).map((viewer) => viewer.outcome));
    await new Promise((resolve) => setTimeout(resolve, plan.settleMs));
    const storm = async (): Promise<JoinFigures> => {
      const count = plan.stormViewers ?? 0;
      const stormers = await inBatches(count, count, viewer);
      return joinFigures(await Promise.all(stormers.map((stormer) => stormer.outcome)));
    };
    return new RoomLoad(
      meter,
      participants,
      joinFigures([...publisherOutcomes, ...viewerOutcomes]),
      publisherFailures,
      storm,
    );
  }

  /** The plan's storm of viewers joins at once; resolves once each has media or gave up. */
  storm(): Promise<JoinFigures> {
    return this.#storm();
  }

  startWindow(): void {
    this.#meter.startWindow();
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    this.#windowStart = { atMs: performance.now(), cpu: process.cpuUsage(), delay };
  }

  endWindow(): WindowFigures {
    const start = this.#windowStart;
    if (!start) throw new Error('no window was started');
    const counts = this.#meter.endWindow();
    const seconds = (performance.now() - start.atMs) / 1000;
    const cpu = process.cpuUsage(start.cpu);
    start.delay.disable();
    const latencies = [...counts.latenciesMs].sort((a, b) => a - b);
    this.#windowStart = null;
    return {
      seconds,
      subscriptions: counts.tracks,
      packets: counts.packets,
      bytes: counts.bytes,
      lost: counts.lost,
      latencyP50Ms: percentile(latencies, 0.5),
      latencyP99Ms: percentile(latencies, 0.99),
      loadCpu: (cpu.user + cpu.system) / 1e6 / seconds,
      // The histogram holds the time between its 10 ms timer's firings: the period is no delay.
      loadLagMaxMs: Math.max(0, start.delay.max / 1e6 - 10),
      publisherFailures: [...this.#publisherFailures],
    };
  }

  async teardown(): Promise<void> {
    await Promise.all(this.#participants.map((participant) => participant.close().catch(() => undefined)));
  }
}

interface SubscribeOutcome {
  /**
   * From the participant's start to its first media packet (audio, usually: simulcast video
   * waits for its layer's next keyframe); null when none came.
   */
  readonly joinMs: number | null;
  /** Subscriptions that failed to negotiate or had a track stay without media. */
  readonly failed: number;
  readonly errors: readonly string[];
}

/** Subscribes to the streams one after the other; the outcome once each of their tracks had media. */
async function subscribeAll(
  participant: LoadParticipant,
  streams: readonly PublishedStream[],
  startedAt: number,
): Promise<{ outcome: Promise<SubscribeOutcome> }> {
  const arrivals: Promise<{ first: number | null; everyTrack: number | null }>[] = [];
  const errors: string[] = [];
  for (const stream of streams) {
    let peer: SubscriberPeer;
    try {
      peer = await participant.subscribe(stream);
    } catch (error) {
      errors.push(messageOf(error));
      continue;
    }
    const first = withTimeout(peer.firstPacket, timeoutMs);
    const everyTrack = withTimeout(peer.everyTrack, timeoutMs);
    arrivals.push(
      Promise.all([first, everyTrack]).then(([f, e]) => {
        if (f === null) errors.push(`no media within the timeout (${peer.progress})`);
        return { first: f, everyTrack: e };
      }),
    );
  }
  const outcome = Promise.all(arrivals).then((subscriptions) => {
    const firsts = subscriptions.flatMap((s) => (s.first === null ? [] : [s.first]));
    const served = subscriptions.filter((s) => s.everyTrack !== null).length;
    if (firsts.length === subscriptions.length && served < subscriptions.length)
      errors.push('a track without media within the timeout');
    return {
      joinMs: firsts.length > 0 ? Math.min(...firsts) - startedAt : null,
      failed: streams.length - served,
      errors,
    };
  });
  return { outcome };
}

/** Join times and failures of the participants that subscribed. */
function joinFigures(outcomes: readonly SubscribeOutcome[]): JoinFigures {
  const joinMs = outcomes.flatMap((outcome) => (outcome.joinMs === null ? [] : [outcome.joinMs]));
  joinMs.sort((a, b) => a - b);
  return {
    participants: outcomes.length,
    failed: outcomes.reduce((sum, outcome) => sum + outcome.failed, 0),
    errors: [...new Set(outcomes.flatMap((outcome) => outcome.errors))].slice(0, 3),
    p50Ms: percentile(joinMs, 0.5),
    p95Ms: percentile(joinMs, 0.95),
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      resolve(null);
    }, ms);
    void promise.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** Runs `count` tasks, `concurrency` at a time; the results in order. */
async function inBatches<T>(count: number, concurrency: number, task: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(count, Math.max(1, concurrency)) }, async () => {
      while (next < count) {
        const index = next++;
        results[index] = await task();
      }
    }),
  );
  return results;
}
