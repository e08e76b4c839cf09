import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  defaultDataPlane,
  DtlsCertificate,
  MediaRouter,
  nativeAddon,
  UdpMux,
  type DataPlane,
  type Publication,
} from '@parlor/server/media';
import type { PeerCounts, PeerMessage, PeerReads, RouterMessage } from './forwardPeer.js';
import { udpSocketCounters } from './udpSockets.js';

export interface ForwardStep {
  readonly dataPlane: DataPlane;
  readonly subscribers: number;
  /** Packets forwarded per second of wall time. */
  readonly forwardedPerSecond: number;
  /** Microseconds of router CPU per forwarded packet (receive, decrypt once, rewrite, encrypt, send). */
  readonly microsPerPacket: number;
  /** Forwarded packets per second one fully used core would manage. */
  readonly packetsPerCoreSecond: number;
  /** Share of the packets due at the subscribers in the measured window that did not arrive, in percent. */
  readonly lossPercent: number;
  /** From the peer's start to the window's: handshakes and warm-up, s. */
  readonly setupSeconds: number;
  /**
   * The router's main thread over the window, percent of the wall time: running, and ready but
   * waiting for a core (Linux schedstat; 0 elsewhere). Neither high with packets waiting in its
   * socket would mean a read that was not woken.
   */
  readonly routerRunningPercent: number;
  readonly routerWaitingPercent: number;
  /** Where the window's packets went: the router's counters from its start to the peer's count. */
  readonly router: RouterCounts;
  readonly peer: PeerCounts;
}

/**
 * The router's counters over a step's window, read when the window starts and once the peer has
 * counted (so they include the window's last packets, and a few of the warm-up's at the start).
 */
export interface RouterCounts {
  /** Datagrams the kernel dropped at the router's socket (full buffer). */
  readonly socketDrops: number;
  /** Datagrams the mux read other than STUN (consent checks): the publisher's packets. */
  readonly read: number;
  /** Read but routed to no endpoint, or dropped by the batched reader (too long). */
  readonly unrouted: number;
  /** Read from a peer whose ICE consent had lapsed: dropped. */
  readonly lapsed: number;
  /** The publisher's packets that failed SRTP (authentication or replay). */
  readonly srtpRejected: number;
  /** The publisher's packets that passed SRTP and reached the publication. */
  readonly accepted: number;
  /** Packets sent to subscribers (the subscriptions' counters). */
  readonly forwarded: number;
  /** Of those, the native fan-out's `sendmmsg` could not send (the socket's buffer was full). */
  readonly sendFailures: number;
}

export interface ForwardBenchOptions {
  /** The router's data plane (the peer's is always the default). Default: the default. */
  readonly dataPlane?: DataPlane;
  /** Whether a native router reads its socket in batches (`UdpMuxOptions.batchedReads`). Default: false. */
  readonly batchedReads?: boolean;
  /** How the peer's subscribers read their sockets. Default: batched where the addon loaded. */
  readonly peerReads?: PeerReads;
  /** Subscriber counts, one step each. Default: 10, 50, 100, 150, 200. */
  readonly subscriberCounts?: readonly number[];
  /** Packets per second the publisher sends. Default: 500. */
  readonly publisherRate?: number;
  /** Seconds measured per step, after one second of warm-up. Default: 4. */
  readonly seconds?: number;
}

const peerScript = fileURLToPath(new URL('./forwardPeer.ts', import.meta.url));
const warmupSeconds = 1;
/** The longest the peer may stay silent: its handshakes, or its window and count. */
const peerTimeoutSeconds = 120;

/**
 * The Media Router's forwarding path as it runs in production: a peer process publishes SRTP
 * video (1200-byte packets) to a `MediaRouter` in this process over ICE-lite and DTLS, and N
 * subscribers in that process receive it, each over its own ICE path and DTLS-SRTP session.
 * Per packet the router receives and decrypts once, then rewrites, encrypts and sends it once per
 * subscriber. Router CPU is this process's user + system time over the measured window.
 */
export async function runForwardBench(options: ForwardBenchOptions = {}): Promise<ForwardStep[]> {
  const certificate = await DtlsCertificate.generate();
  const steps: ForwardStep[] = [];
  const dataPlane = options.dataPlane ?? defaultDataPlane;
  for (const subscribers of options.subscriberCounts ?? [10, 50, 100, 150, 200]) {
    steps.push(
      await runStep(
        certificate,
        dataPlane,
        dataPlane === 'native' && (options.batchedReads ?? false),
        options.peerReads ?? (nativeAddon.available ? 'batched' : 'dgram'),
        subscribers,
        options.publisherRate ?? 500,
        options.seconds ?? 4,
      ),
    );
  }
  return steps;
}

async function runStep(
  certificate: DtlsCertificate,
  dataPlane: DataPlane,
  batchedReads: boolean,
  peerReads: PeerReads,
  subscriberCount: number,
  rate: number,
  seconds: number,
): Promise<ForwardStep> {
  if (rate * (warmupSeconds + seconds) >= 0x10000)
    throw new TypeError('rate × seconds must stay below 65,536');
  const mux = await UdpMux.bind({ host: '127.0.0.1', batchedReads });
  const router = new MediaRouter({ mux, certificate, announcedAddress: '127.0.0.1', dataPlane });
  const peerArgs = [
    '--conditions=source',
    '--import',
    'tsx',
    peerScript,
    String(mux.port),
    String(subscriberCount),
    String(rate),
    String(warmupSeconds),
    String(seconds),
    peerReads,
  ];
  // The router runs in this process (on core 0 when `npm run bench` pinned it); the peer on core 1.
  const peer = existsSync('/usr/bin/taskset')
    ? spawn('/usr/bin/taskset', ['-c', '1', process.execPath, ...peerArgs], {
        stdio: ['pipe', 'pipe', 'inherit'],
      })
    : spawn(process.execPath, peerArgs, { stdio: ['pipe', 'pipe', 'inherit'] });
  const spawned = performance.now();
  const lines = createInterface({ input: peer.stdout })[Symbol.asyncIterator]();
  const next = async (awaited: string): Promise<PeerMessage> => {
    let timer: NodeJS.Timeout | undefined;
    const silence = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new Error(
            `the forwarding peer (${subscriberCount} subscribers) sent no ${awaited} for ${peerTimeoutSeconds} s`,
          ),
        );
      }, peerTimeoutSeconds * 1000);
    });
    const line = await Promise.race([lines.next(), silence]).finally(() => {
      clearTimeout(timer);
    });
    if (line.done === true) throw new Error('the forwarding peer exited early');
    return JSON.parse(line.value) as PeerMessage;
  };
  const reply = (message: RouterMessage): void => {
    peer.stdin.write(`${JSON.stringify(message)}\n`);
  };
  const forwarded = (): number =>
    router
      .stats()
      .subscriptions.reduce((sum, s) => sum + s.tracks.reduce((trackSum, t) => trackSum + t.packets, 0), 0);

  try {
    const offer = await next('offer');
    if (!('offer' in offer)) throw new Error('expected the publisher offer');
    const { publication, answerSdp } = router.publish(offer.offer);
    const subscriptions = Array.from({ length: subscriberCount }, () => router.subscribe(publication));
    reply({ answer: answerSdp, offers: subscriptions.map((s) => s.offerSdp) });
    const answers = await next('answers (its handshakes)');
    if (!('answers' in answers)) throw new Error('expected the subscriber answers');
    subscriptions.forEach(({ subscription }, i) => {
      router.answer(subscription, answers.answers[i] ?? '');
    });

    if (!('measuring' in (await next('start of the window'))))
      throw new Error('expected the measured window');
    const cpuBefore = process.cpuUsage();
    const scheduledBefore = schedulerTimes();
    const forwardedBefore = forwarded();
    const countersBefore = routerCounts(router, mux, publication, dataPlane === 'native', forwardedBefore);
    const started = performance.now();
    const setupSeconds = (started - spawned) / 1000;
    if (!('measured' in (await next('end of the window')))) throw new Error('expected the end of the window');
    const elapsedSeconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const scheduled = schedulerTimes();
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const count = forwarded() - forwardedBefore;
    const done = await next('counts');
    if (!('done' in done)) throw new Error('expected the counts');
    const { expected, received } = done.done;
    const countersAfter = routerCounts(router, mux, publication, dataPlane === 'native', forwarded());
    return {
      dataPlane,
      subscribers: subscriberCount,
      forwardedPerSecond: count / elapsedSeconds,
      microsPerPacket: (cpuSeconds * 1e6) / Math.max(1, count),
      packetsPerCoreSecond: count / cpuSeconds,
      lossPercent: expected > 0 ? (100 * Math.max(0, expected - received)) / expected : 0,
      setupSeconds,
      routerRunningPercent: (scheduled.runningMs - scheduledBefore.runningMs) / elapsedSeconds / 10,
      routerWaitingPercent: (scheduled.waitingMs - scheduledBefore.waitingMs) / elapsedSeconds / 10,
      router: difference(countersAfter, countersBefore),
      peer: done.done,
    };
  } finally {
    peer.stdin.end();
    peer.kill();
    router.close();
    mux.close();
  }
}

function routerCounts(
  router: MediaRouter,
  mux: UdpMux,
  publication: Publication,
  native: boolean,
  forwarded: number,
): RouterCounts {
  const { datagrams, stun, unrouted, lapsed, truncated } = mux.udpStats;
  const fd = mux.fd;
  // The native fan-out groups exist once subscribers are connected (`fanOut` returns them).
  const groups =
    native && fd !== null ? publication.tracks.map((track) => publication.fanOut(track, fd)) : [];
  return {
    socketDrops: udpSocketCounters(new Set([mux.port])).drops,
    read: datagrams - stun,
    unrouted: unrouted + truncated,
    lapsed,
    srtpRejected: router.stats().publications.reduce((sum, p) => sum + p.srtpRejected, 0),
    accepted: publication.tracks.reduce((sum, track) => sum + track.packetsIn, 0),
    forwarded,
    sendFailures: groups.reduce((sum, group) => sum + group.sendFailures, 0),
  };
}

function difference(after: RouterCounts, before: RouterCounts): RouterCounts {
  return {
    socketDrops: after.socketDrops - before.socketDrops,
    read: after.read - before.read,
    unrouted: after.unrouted - before.unrouted,
    lapsed: after.lapsed - before.lapsed,
    srtpRejected: after.srtpRejected - before.srtpRejected,
    accepted: after.accepted - before.accepted,
    forwarded: after.forwarded - before.forwarded,
    sendFailures: after.sendFailures - before.sendFailures,
  };
}

/** This process's main thread: time on a core, and time ready to run but waiting for one, ms. */
function schedulerTimes(): { runningMs: number; waitingMs: number } {
  try {
    const [running, waiting] = readFileSync('/proc/self/schedstat', 'utf8').split(' ').map(Number);
    return { runningMs: (running ?? 0) / 1e6, waitingMs: (waiting ?? 0) / 1e6 };
  } catch {
    return { runningMs: 0, waitingMs: 0 };
  }
}
