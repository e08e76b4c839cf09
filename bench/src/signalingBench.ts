import { readFileSync } from 'node:fs';
import { OpenTok } from '@parlor/server-sdk';
import {
  connectCrowd,
  floodSignals,
  probeSignals,
  SignalingTestClient,
  type BareSignalingClient,
} from '@parlor/server/testing';
import { ServerProcess } from './serverProcess.js';

export interface LatencyFigures {
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface SignalingBenchResult {
  readonly clients: number;
  /** Full connects per second: socket, token verification, join, session snapshot. */
  readonly connectsPerSecond: number;
  /** The peer: bare WebSocket opens (and closes) per second on the same endpoint. */
  readonly socketOpensPerSecond: number;
  /** From `signal` sent to delivery at each of the clients (the sender included). */
  readonly fanOut: LatencyFigures;
  /** The peer: one client's `ping` round trip. */
  readonly pingRoundTrip: LatencyFigures;
  /** A 500-member session under hostile load: a well-behaved client's signals to itself. */
  readonly hostile: readonly HostileFigures[];
}

export interface HostileFigures {
  readonly scenario: string;
  /** From `signal` sent to its arrival back, the client signalling itself every 20 ms. */
  readonly signal: LatencyFigures;
  readonly samples: number;
  /** Server's resident memory before the load and at its peak, in MB. */
  readonly rssBeforeMb: number;
  readonly rssPeakMb: number;
  /** What the hostile clients got through: broadcasts taken and refused, sockets cut off. */
  readonly note: string;
}

const clientCount = 100;
const concurrency = 10;
const signals = 100;

/**
 * Signaling without media: connects per second into one session, then, with 100 clients in it,
 * the latency of a signal to all of them. The server runs on core 0, the clients here.
 */
export async function runSignalingBench(): Promise<SignalingBenchResult> {
  const server = await ServerProcess.start({ core: 0 });
  const clients: SignalingTestClient[] = [];
  try {
    const sdk = new OpenTok(server.apiKey, server.apiSecret, { apiUrl: server.url });
    const { sessionId } = await sdk.createSession({ mediaMode: 'relayed' });
    // A token per client: one token holds at most 100 connections by default.
    const tokens = Array.from({ length: clientCount }, () =>
      sdk.generateToken(sessionId, { role: 'publisher' }),
    );

    const connectsPerSecond = await ratePerSecond(clientCount, async () => {
      const token = tokens.pop() ?? '';
      clients.push(await SignalingTestClient.connect(server.url, sessionId, token, { timeoutMs: 20_000 }));
    });
    const socketOpensPerSecond = await ratePerSecond(clientCount, async () => {
      await (await SignalingTestClient.open(server.url)).close();
    });

    const fanOutMs: number[] = [];
    const [sender] = clients;
    if (!sender) throw new Error('no client connected');
    for (let i = 0; i < signals; i++) {
      const data = `bench-${i}`;
      const started = performance.now();
      const deliveries = clients.map((client) =>
        client
          .nextEvent('signal', (signal) => signal.data === data)
          .then(() => {
            fanOutMs.push(performance.now() - started);
          }),
      );
      await sender.request('signal', { type: 'bench', data });
      await Promise.all(deliveries);
      // Stay under the per-client message rate limit.
      await new Promise((resolve) => setTimeout(resolve, 25));
    }

    const pingMs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      await sender.request('ping', {});
      pingMs.push(performance.now() - started);
      if (i % 40 === 39) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    return {
      clients: clientCount,
      connectsPerSecond,
      socketOpensPerSecond,
      fanOut: percentiles(fanOutMs),
      pingRoundTrip: percentiles(pingMs),
      hostile: [await broadcasterScenario(), await stalledScenario()],
    };
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await server.stop();
  }
}

const members = 500;
const measureMs = 10_000;
/** The largest signal data: 8 kB. */
const bigData = 'x'.repeat(8 * 1024);

/** 500 members, one of them sending 8 kB signals to all as fast as the server takes them. */
async function broadcasterScenario(): Promise<HostileFigures> {
  return hostileSession(
    'one member broadcasts 8 kB at the rate limit',
    2,
    async ({ sessionId, server, token }) => {
      const broadcaster = await SignalingTestClient.connect(server.url, sessionId, token(), {
        timeoutMs: 20_000,
      });
      const flooding = floodSignals(broadcaster, bigData, 4);
      return async () => {
        const { accepted, refused } = await flooding.stop();
        await broadcaster.close();
        return `${accepted} broadcasts taken, ${refused} refused (429)`;
      };
    },
  );
}

/** 500 members, 100 of which stop reading while another sends 8 kB signals to all at the rate limit. */
async function stalledScenario(): Promise<HostileFigures> {
  return hostileSession(
    '100 members stop reading, one broadcasts 8 kB at the rate limit',
    102,
    async ({ sessionId, server, token }) => {
      const broadcaster = await SignalingTestClient.connect(server.url, sessionId, token(), {
        timeoutMs: 20_000,
      });
      const stalled = await connectCrowd(server.url, sessionId, token, 100);
      for (const client of stalled) client.stopReading();
      const flooding = floodSignals(broadcaster, bigData, 4);
      return async () => {
        const { accepted, refused } = await flooding.stop();
        const cutOff = (await Promise.all(stalled.map((client) => isClosed(client)))).filter(Boolean).length;
        await Promise.all([broadcaster.close(), ...stalled.map((client) => client.destroy())]);
        return `${accepted} broadcasts taken, ${refused} refused; ${cutOff} of 100 stalled sockets cut off`;
      };
    },
  );
}

interface Arrangement {
  readonly server: ServerProcess;
  readonly sessionId: string;
  readonly token: () => string;
}

/**
 * A fresh server and a session of 500 members: `others` of them come from `arrange` (the hostile
 * ones), one is the well-behaved client that measures, the rest bare clients that read.
 */
async function hostileSession(
  scenario: string,
  others: number,
  arrange: (arrangement: Arrangement) => Promise<() => Promise<string>>,
): Promise<HostileFigures> {
  const server = await ServerProcess.start({ core: 0 });
  try {
    const sdk = new OpenTok(server.apiKey, server.apiSecret, { apiUrl: server.url });
    const { sessionId } = await sdk.createSession({ mediaMode: 'relayed' });
    const token = (): string => sdk.generateToken(sessionId, { role: 'publisher' });
    const readers = await connectCrowd(server.url, sessionId, token, members - others - 1);
    const good = await SignalingTestClient.connect(server.url, sessionId, token(), { timeoutMs: 20_000 });
    const rssBeforeMb = rssMb(server.pid);
    let rssPeakMb = rssBeforeMb;
    const sampler = setInterval(() => {
      rssPeakMb = Math.max(rssPeakMb, rssMb(server.pid));
    }, 100);
    const finish = await arrange({ server, sessionId, token });
    const probe = probeSignals(good);
    await new Promise((resolve) => setTimeout(resolve, measureMs));
    const samples = await probe.stop();
    const note = await finish();
    clearInterval(sampler);
    await Promise.all([good.close(), ...readers.map((reader) => reader.destroy())]);
    return { scenario, signal: percentiles(samples), samples: samples.length, rssBeforeMb, rssPeakMb, note };
  } finally {
    await server.stop();
  }
}

/** Whether the server has closed the bare client's socket (it is read only when it resumes). */
async function isClosed(client: BareSignalingClient): Promise<boolean> {
  return Promise.race([
    client.closed.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(resolve, 10, false)),
  ]);
}

/** Resident memory of a process, from `/proc/PID/status`, in MB. */
function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) / 1024;
}

/** Runs `count` calls of `fn`, `concurrency` at a time; returns calls per second. */
async function ratePerSecond(count: number, fn: () => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        await fn();
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

function percentiles(samples: number[]): LatencyFigures {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50Ms: at(0.5), p99Ms: at(0.99) };
}
