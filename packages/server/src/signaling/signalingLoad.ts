import { BareSignalingClient } from './BareSignalingClient.js';
import { SignalingRequestError, type SignalingTestClient } from './SignalingTestClient.js';

// Load for tests and benchmarks of the signaling server: many members, a flooding one, and a
// well-behaved one whose signals are timed.

/** Connects `count` bare clients to a session, 16 at a time, each with a token of its own. */
export async function connectCrowd(
  url: string,
  sessionId: string,
  token: () => string,
  count: number,
): Promise<BareSignalingClient[]> {
  const clients: BareSignalingClient[] = [];
  let started = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (started < count) {
        started++;
        clients.push(await BareSignalingClient.connect(url, sessionId, token()));
      }
    }),
  );
  return clients;
}

/** What a flood of signals achieved: those the server took and those it refused with 429. */
export interface FloodCount {
  readonly accepted: number;
  readonly refused: number;
}

/**
 * Sends signals with `data` to everyone as fast as the server takes them, `inFlight` at a time,
 * backing off 20 ms after each 429, until `stop()`.
 */
export function floodSignals(
  client: SignalingTestClient,
  data: string,
  inFlight: number,
): { stop: () => Promise<FloodCount> } {
  let running = true;
  let accepted = 0;
  let refused = 0;
  const done = Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (running) {
        try {
          await client.request('signal', { type: 'flood', data });
          accepted += 1;
        } catch (error) {
          if (!(error instanceof SignalingRequestError) || error.code !== 429) throw error;
          refused += 1;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    }),
  );
  return {
    stop: async () => {
      running = false;
      await done;
      return { accepted, refused };
    },
  };
}

/**
 * Times `client`'s signals to itself, one every `intervalMs`, until `stop()`; resolves with the
 * round trips in ms.
 */
export function probeSignals(
  client: SignalingTestClient,
  intervalMs = 20,
): { stop: () => Promise<number[]> } {
  const samples: number[] = [];
  // An object, so that the loop reads the flag `stop()` sets.
  const state = { running: true };
  const done = (async () => {
    for (let index = 0; state.running; index++) {
      const data = `probe-${index}`;
      const started = performance.now();
      const arrived = client.nextEvent('signal', (signal) => signal.data === data);
      await client.request('signal', { to: client.connectionId, type: 'probe', data });
      await arrived;
      samples.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    stop: async () => {
      state.running = false;
      await done;
      return samples;
    },
  };
}
