import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBenchClip, sentRate, topLayer, type BenchClip } from '../load/benchClip.js';
import type { LoadPlan, SfuTarget } from '../load/loadProtocol.js';
import { ServerProcess } from '../serverProcess.js';
import { BenchNamespace } from './BenchNamespace.js';
import { summarizeCpuProfile, type ProfileSummary } from './cpuProfile.js';
import { JanusProcess } from './JanusProcess.js';
import { LoadProcess } from './LoadProcess.js';

/**
 * The SFUs compared: Parlor with one media worker on its native data plane and on the TypeScript
 * one, Janus with two event loops or its default threading.
 */
export const sfuNames = ['parlor', 'parlor-js', 'janus', 'janus-default'] as const;
export type SfuName = (typeof sfuNames)[number];

export const scenarioNames = [
  'livestream',
  'meeting',
  'audio-room',
  'join-storm',
  'storm-while-watching',
  'overload',
] as const;
export type ScenarioName = (typeof scenarioNames)[number];

export interface RouterBenchOptions {
  /** Fewer and smaller steps and shorter windows, for a look in about five minutes. Default: false. */
  readonly quick?: boolean;
  /** Scenarios to run. Default: all. */
  readonly scenarios?: readonly ScenarioName[];
  /** Also profile Parlor (`--cpu-prof`) under this scenario at this size. Default: none. */
  readonly profile?: { readonly scenario: ScenarioName; readonly size: number };
  /** SFUs to run. Default: every one available. */
  readonly sfus?: readonly SfuName[];
  /** Sizes to step through instead of each scenario's own. Default: the scenario's. */
  readonly sizes?: readonly number[];
  /**
   * Times to run every chosen scenario on every chosen SFU, the SFUs' order reversed each round
   * so that a machine growing busier or quieter does not favour one. Default: 1.
   */
  readonly rounds?: number;
}

/** One step of a scenario on one SFU, measured over the window. */
export interface StepFigures {
  readonly sfu: SfuName;
  /** Which round of the run, from 1. */
  readonly round: number;
  readonly scenario: ScenarioName;
  /** The scenario's size: viewers, or participants. */
  readonly size: number;
  /** Forwarded streams: one per stream and subscriber (audio and video of a camera count once). */
  readonly streams: number;
  /** RTP packets per second the subscribers received. */
  readonly packetsPerSecond: number;
  readonly megabitsPerSecond: number;
  /** CPU of the SFU's process (all threads), percent of one core. */
  readonly serverCpuPercent: number;
  /** Server CPU per received packet, µs. */
  readonly microsPerPacket: number;
  /** Forwarded streams one fully used core would carry at this step's cost. */
  readonly streamsPerCore: number;
  readonly lossPercent: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  /** From a subscriber's connect to its first media packet. */
  readonly joinP50Ms: number;
  readonly joinP95Ms: number;
  /** Subscriptions that never received media. */
  readonly failedSubscriptions: number;
  /** Why subscriptions failed, and publishers' connections that failed. */
  readonly errors: readonly string[];
  /** CPU of the load process, percent of its core: near 100, the load is what limits. */
  readonly loadCpuPercent: number;
  /** The load process's longest event-loop delay in the window, ms. */
  readonly loadLagMaxMs: number;
}

/** What a camera publisher sends per simulcast layer, in all, and what one viewer of it receives. */
export interface ClipFigures {
  /** Lowest resolution first; RTP headers included. */
  readonly layers: readonly {
    readonly rid: string;
    readonly width: number;
    readonly height: number;
    readonly megabitsPerSecond: number;
    readonly packetsPerSecond: number;
  }[];
  /** Every layer and the audio. */
  readonly sent: { readonly megabitsPerSecond: number; readonly packetsPerSecond: number };
  /** The top layer and the audio, as both SFUs forward them here. */
  readonly viewed: { readonly megabitsPerSecond: number; readonly packetsPerSecond: number };
}

/** What the benchmark found: every step, and Parlor's profile if asked for. */
export interface RouterBenchResult {
  readonly clip: ClipFigures;
  readonly windowSeconds: number;
  readonly namespace: boolean;
  readonly steps: readonly StepFigures[];
  readonly profile: ParlorProfile | null;
}

/** Where Parlor's media worker spent its time under load. */
export interface ParlorProfile {
  readonly scenario: ScenarioName;
  readonly size: number;
  readonly step: StepFigures;
  /** Per profiled thread (the main thread and the media worker), busiest first. */
  readonly threads: readonly ProfileSummary[];
}

/** Loss above which a step counts as failed and the scenario stops growing, percent. */
export const lossBoundPercent = 0.5;
/** Server CPU at which its core counts as saturated, percent. */
const saturatedPercent = 95;
const serverCore = 0;
/** The nice of the SFUs' and the load's autogroups when the benchmark runs as root. */
const niceness = -20;
const loadCore = 1;

interface Scenario {
  readonly name: ScenarioName;
  readonly sizes: { readonly quick: readonly number[]; readonly full: readonly number[] };
  /** Janus's default threading is measured only where it is cheap. */
  readonly withJanusDefault: boolean;
  /** More of Parlor's flags for this scenario. Default: none. */
  readonly parlorFlags?: readonly string[];
  readonly plan: (size: number) => Omit<LoadPlan, 'target' | 'settleMs'>;
}

const scenarios: readonly Scenario[] = [
  {
    // 1 publisher, N viewers.
    name: 'livestream',
    sizes: { quick: [10, 40], full: [10, 50, 100, 150, 200] },
    withJanusDefault: true,
    plan: (viewers) => ({
      publishers: 1,
      media: 'audio+video',
      publishersSubscribe: false,
      viewers,
      viewersAtOnce: false,
    }),
  },
  {
    // N participants, each publishing and subscribing to the N − 1 others.
    name: 'meeting',
    sizes: { quick: [4], full: [4, 8, 12] },
    withJanusDefault: false,
    plan: (participants) => ({
      publishers: participants,
      media: 'audio+video',
      publishersSubscribe: true,
      viewers: 0,
      viewersAtOnce: false,
    }),
  },
  {
    // N participants publishing their microphone, each subscribing to the N − 1 others.
    name: 'audio-room',
    sizes: { quick: [6], full: [6, 12, 18] },
    withJanusDefault: false,
    plan: (participants) => ({
      publishers: participants,
      media: 'audio',
      publishersSubscribe: true,
      viewers: 0,
      viewersAtOnce: false,
    }),
  },
  {
    // 1 publisher; N viewers join at the same moment.
    name: 'join-storm',
    sizes: { quick: [10], full: [10, 30, 60] },
    withJanusDefault: false,
    plan: (viewers) => ({
      publishers: 1,
      media: 'audio+video',
      publishersSubscribe: false,
      viewers,
      viewersAtOnce: true,
    }),
  },
  {
    // 1 publisher and 50 viewers watching; N more join at the same moment during the window,
    // which counts only the 50: what a join storm does to a room already running.
    name: 'storm-while-watching',
    sizes: { quick: [50], full: [50, 100, 200] },
    withJanusDefault: false,
    plan: (stormers) => ({
      publishers: 1,
      media: 'audio+video',
      publishersSubscribe: false,
      viewers: 50,
      viewersAtOnce: false,
      stormViewers: stormers,
    }),
  },
  {
    // 1 publisher, more viewers than one worker carries: the surplus should be refused and
    // those admitted, the publisher with them, keep receiving.
    name: 'overload',
    sizes: { quick: [400], full: [400] },
    withJanusDefault: false,
    // 400 viewers take about 40 % of a worker's loop since the native fan-out, and one core of
    // the load cannot send much more: a quarter of a loop is made the worker's limit instead.
    parlorFlags: ['--media-admission-max-utilization', '0.25'],
    plan: (viewers) => ({
      publishers: 1,
      media: 'audio+video',
      publishersSubscribe: false,
      viewers,
      viewersAtOnce: false,
    }),
  },
];

/** An SFU started for a scenario: where the load process reaches it and how much CPU it used. */
interface RunningSfu {
  readonly target: SfuTarget;
  /** Where the SFU's log goes, if it is kept. */
  readonly logFile: string | null;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const cacheFolder = fileURLToPath(new URL('../../.cache/media/', import.meta.url));
/** Parlor's logs (warnings and errors), one per scenario of a run, kept for failed steps. */
const logFolder = fileURLToPath(new URL('../../.cache/logs/', import.meta.url));

/**
 * The Media Router against Janus VideoRoom under the same synthetic load: per scenario and
 * step, a fresh room, every participant joined, then a window over which the SFU's CPU (from
 * /proc, all threads) and what the subscribers received are measured. The SFU runs on core 0
 * (Parlor with one media worker), the load process on core 1; both in a network namespace of
 * the benchmark's own when it runs as root (Janus needs one; without it, Parlor alone on
 * loopback).
 */
export async function runRouterBench(options: RouterBenchOptions = {}): Promise<RouterBenchResult> {
  const quick = options.quick ?? false;
  const windowMs = quick ? 4000 : 10_000;
  const settleMs = quick ? 1000 : 2000;
  const clip = await loadBenchClip({ cacheFolder });
  mkdirSync(logFolder, { recursive: true });
  const runStamp = new Date().toISOString().replace(/[:.]/g, '-');
  const namespace = BenchNamespace.available() ? BenchNamespace.create() : null;
  // What runs is stopped at the end, also on Ctrl-C, and the namespace removed.
  const running = new Set<{ stop(): Promise<void> }>();
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled([...running].map((child) => child.stop()));
    running.clear();
    namespace?.remove();
  };
  const onSignal = (): void => {
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const track = <T extends { stop(): Promise<void> }>(child: T): T => {
    running.add(child);
    return child;
  };
  const untrackAndStop = async (child: { stop(): Promise<void> }): Promise<void> => {
    running.delete(child);
    await child.stop();
  };

  const address = namespace?.address ?? '127.0.0.1';
  // The SFUs and the load run at a raised priority (as root). The kernel shares a core between
  // sessions first (autogroups, `sched_autogroup_enabled`), then between the processes of one,
  // so a process's own nice does nothing against other engineers' jobs: each runs in a session
  // of its own whose autogroup gets the raised priority.
  const prioritized = (command: readonly string[]): string[] =>
    process.getuid?.() === 0
      ? ['setsid', 'sh', '-c', `echo ${niceness} > /proc/self/autogroup; exec "$@"`, 'sh', ...command]
      : [...command];
  const wrap = (command: readonly string[]): string[] =>
    namespace ? namespace.wrap(prioritized(command)) : prioritized(command);
  const load = track(
    LoadProcess.start({
      core: loadCore,
      cacheFolder,
      extraHostAddress: namespace ? null : address,
      wrap,
    }),
  );
  const available: SfuName[] =
    namespace && JanusProcess.installed() ? [...sfuNames] : ['parlor', 'parlor-js'];
  const sfus = available.filter((sfu) => !options.sfus || options.sfus.includes(sfu));
  if (!available.includes('janus')) {
    console.log("  (Janus left out: it needs root, a network namespace and Debian's janus package)");
  }
  const start = async (
    sfu: SfuName,
    label: string,
    nodeFlags: readonly string[] = [],
    serverFlags: readonly string[] = [],
  ): Promise<RunningSfu> => {
    if (sfu === 'parlor' || sfu === 'parlor-js') {
      const logFile = join(logFolder, `${sfu}-${runStamp}-${label}.log`);
      const server = await ServerProcess.start({
        logFile,
        core: serverCore,
        mediaWorkers: 1,
        ...(sfu === 'parlor-js' ? { dataPlane: 'js' as const } : {}),
        host: address,
        publicIp: address,
        nodeFlags,
        serverFlags,
        wrap,
      });
      return {
        target: { kind: 'parlor', url: server.url, apiKey: server.apiKey, apiSecret: server.apiSecret },
        logFile,
        cpuSeconds: () => server.cpuSeconds(),
        stop: () => server.stop(),
      };
    }
    if (!namespace) throw new Error('Janus needs the network namespace');
    const janus = await JanusProcess.start({
      namespace,
      core: serverCore,
      eventLoops: sfu === 'janus' ? 2 : null,
      wrap: prioritized,
    });
    return {
      target: { kind: 'janus', url: janus.url },
      logFile: null,
      cpuSeconds: () => janus.cpuSeconds(),
      stop: () => janus.stop(),
    };
  };

  const measure = async (
    sfu: SfuName,
    round: number,
    server: RunningSfu,
    scenario: Scenario,
    size: number,
  ): Promise<StepFigures> => {
    const { join: joined } = await load.send(
      { command: 'setup', plan: { ...scenario.plan(size), target: server.target, settleMs } },
      'ready',
    );
    try {
      await load.send({ command: 'startWindow' }, 'windowStarted');
      const cpuBefore = server.cpuSeconds();
      const startedAt = performance.now();
      // A storm joins during the window, which lasts at least until every stormer has media.
      const [stormed] = await Promise.all([
        scenario.plan(size).stormViewers ? load.send({ command: 'storm' }, 'stormed') : null,
        new Promise((resolve) => setTimeout(resolve, windowMs)),
      ]);
      const joins = stormed?.join ?? joined;
      const cpuSeconds = server.cpuSeconds() - cpuBefore;
      const seconds = (performance.now() - startedAt) / 1000;
      const { window } = await load.send({ command: 'endWindow' }, 'windowEnded');
      const serverCpu = cpuSeconds / seconds;
      const streams = scenario.plan(size).media === 'audio' ? window.subscriptions : window.subscriptions / 2;
      return {
        sfu,
        round,
        scenario: scenario.name,
        size,
        streams,
        packetsPerSecond: window.packets / window.seconds,
        megabitsPerSecond: (window.bytes * 8) / window.seconds / 1e6,
        serverCpuPercent: serverCpu * 100,
        microsPerPacket: window.packets > 0 ? (cpuSeconds * 1e6) / window.packets : 0,
        streamsPerCore: serverCpu > 0 ? streams / serverCpu : 0,
        lossPercent:
          window.packets + window.lost > 0 ? (100 * window.lost) / (window.packets + window.lost) : 0,
        latencyP50Ms: window.latencyP50Ms,
        latencyP99Ms: window.latencyP99Ms,
        joinP50Ms: joins.p50Ms,
        joinP95Ms: joins.p95Ms,
        failedSubscriptions: joined.failed + (stormed?.join.failed ?? 0),
        errors: [...new Set([...joined.errors, ...joins.errors, ...window.publisherFailures])],
        loadCpuPercent: window.loadCpu * 100,
        loadLagMaxMs: window.loadLagMaxMs,
      };
    } finally {
      await load.send({ command: 'teardown' }, 'tornDown');
    }
  };

  const steps: StepFigures[] = [];
  let profile: ParlorProfile | null = null;
  try {
    const chosen = scenarios.filter((s) => !options.scenarios || options.scenarios.includes(s.name));
    const rounds = options.rounds ?? 1;
    for (let round = 1; round <= rounds; round++) {
      const label = rounds > 1 ? ` (round ${round})` : '';
      for (const scenario of chosen) {
        for (const sfu of round % 2 === 1 ? sfus : [...sfus].reverse()) {
          if (sfu === 'janus-default' && (quick || !scenario.withJanusDefault)) continue;
          const server = track(await start(sfu, `${scenario.name}-${round}`, [], scenario.parlorFlags));
          try {
            for (const size of options.sizes ?? scenario.sizes[quick ? 'quick' : 'full']) {
              let step: StepFigures;
              try {
                step = await measure(sfu, round, server, scenario, size);
              } catch (error) {
                // A step the SFU refused (Parlor's admission control at 1500): the scenario ends
                // there for this SFU, the run goes on.
                console.log(
                  `  ${scenario.name} ${sfu} ${size}${label}: refused (${(error as Error).message})`,
                );
                await load.send({ command: 'teardown' }, 'tornDown').catch(() => undefined);
                break;
              }
              steps.push(step);
              console.log(`  ${scenario.name} ${sfu} ${size}${label}: ${describe(step)}`);
              for (const error of step.errors) console.log(`    failed: ${error}`);
              if (!withinBounds(step) && server.logFile) console.log(`    ${sfu}'s log: ${server.logFile}`);
              if (!withinBounds(step) || step.serverCpuPercent >= saturatedPercent) break;
            }
          } finally {
            await untrackAndStop(server);
          }
        }
      }
    }
    if (options.profile) {
      profile = await profileParlor(
        options.profile.scenario,
        options.profile.size,
        async (flags) => track(await start('parlor', 'profile', flags)),
        measure,
      );
    }
  } finally {
    await stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return {
    clip: clipFigures(clip),
    windowSeconds: windowMs / 1000,
    namespace: namespace !== null,
    steps,
    profile,
  };
}

function clipFigures(clip: BenchClip): ClipFigures {
  const rate = (track: { bitsPerSecond: number; packetsPerSecond: number }) => ({
    megabitsPerSecond: track.bitsPerSecond / 1e6,
    packetsPerSecond: track.packetsPerSecond,
  });
  const top = topLayer(clip);
  return {
    layers: clip.videoLayers.map((layer) => ({
      rid: layer.rid,
      width: layer.width,
      height: layer.height,
      ...rate(layer),
    })),
    sent: rate(sentRate(clip)),
    viewed: rate({
      bitsPerSecond: top.bitsPerSecond + clip.audio.bitsPerSecond,
      packetsPerSecond: top.packetsPerSecond + clip.audio.packetsPerSecond,
    }),
  };
}

/** Parlor under a scenario's load with `--cpu-prof`: where each thread's time went. */
async function profileParlor(
  scenarioName: ScenarioName,
  size: number,
  start: (nodeFlags: readonly string[]) => Promise<RunningSfu>,
  measure: (
    sfu: SfuName,
    round: number,
    running: RunningSfu,
    scenario: Scenario,
    size: number,
  ) => Promise<StepFigures>,
): Promise<ParlorProfile> {
  const folder = mkdtempSync(join(tmpdir(), 'parlor-bench-profile-'));
  try {
    const scenario = scenarios.find((s) => s.name === scenarioName);
    if (!scenario) throw new Error(`no scenario ${scenarioName}`);
    const server = await start(['--cpu-prof', `--cpu-prof-dir=${folder}`]);
    let step: StepFigures;
    try {
      step = await measure('parlor', 1, server, scenario, size);
    } finally {
      // The profiles are written as the server exits.
      await server.stop();
    }
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const threads = readdirSync(folder)
      .filter((file) => file.endsWith('.cpuprofile'))
      .map((file) => summarizeCpuProfile(join(folder, file), root))
      .sort((a, b) => b.busyMs - a.busyMs);
    return { scenario: scenarioName, size, step, threads };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** A step passes when every subscription got media and loss stayed within the bound. */
export function withinBounds(step: StepFigures): boolean {
  return step.failedSubscriptions === 0 && step.lossPercent <= lossBoundPercent;
}

function describe(step: StepFigures): string {
  return (
    `${step.streams} streams, ${Math.round(step.packetsPerSecond)} packets/s, server ${step.serverCpuPercent.toFixed(0)} %, ` +
    `${step.microsPerPacket.toFixed(1)} µs/packet, loss ${step.lossPercent.toFixed(2)} %, ` +
    `latency ${step.latencyP50Ms.toFixed(1)} / ${step.latencyP99Ms.toFixed(1)} ms, ` +
    `load ${step.loadCpuPercent.toFixed(0)} % (lag ≤ ${step.loadLagMaxMs.toFixed(0)} ms)`
  );
}
