import { OpenTok } from '@parlor/server-sdk';
import { SignalingTestClient } from '@parlor/server/testing';
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
    const token = sdk.generateToken(sessionId, { role: 'publisher' });

    const connectsPerSecond = await ratePerSecond(clientCount, async () => {
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
    };
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await server.stop();
  }
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
