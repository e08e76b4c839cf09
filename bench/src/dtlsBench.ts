import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DtlsCertificate, DtlsSrtpTransport, UdpMux } from '@parlor/server/media';
import type { DtlsPeerMessage, DtlsRouterMessage } from './dtlsPeer.js';

const peerScript = fileURLToPath(new URL('./dtlsPeer.ts', import.meta.url));

export interface DtlsBenchOptions {
  /** Handshakes started at once in a round. Default: 20. */
  readonly perRound?: number;
  /** Measured rounds, after one of warm-up. Default: 15. */
  readonly rounds?: number;
  /** The ECDHE curve the clients offer: X25519 first, as browsers do, or P-256 alone. Default: x25519. */
  readonly curve?: 'x25519' | 'p256';
}

export interface DtlsBenchResult {
  readonly curve: 'x25519' | 'p256';
  readonly handshakes: number;
  /** CPU of the thread that runs the server side, per handshake (median round), in ms. */
  readonly threadCpuMs: number;
  /** The lowest and highest round. */
  readonly threadCpuMsRange: readonly [number, number];
  /** Wall time of a round, from its first ICE check to its last transport connected (median), in ms. */
  readonly roundMs: number;
}

/**
 * Server-side DTLS handshakes as a media worker runs them: `DtlsSrtpTransport`s on a `UdpMux`
 * in this process's main thread, whose own CPU time (not the process's: not the garbage
 * collector's helper threads) is measured; browsers (werift's DTLS client) in another process.
 */
export async function runDtlsBench(options: DtlsBenchOptions = {}): Promise<DtlsBenchResult> {
  const perRound = options.perRound ?? 20;
  const rounds = options.rounds ?? 15;
  const curve = options.curve ?? 'x25519';
  const mux = await UdpMux.bind({ host: '127.0.0.1' });
  const certificate = await DtlsCertificate.generate();
  const peerArgs = ['--conditions=source', '--import', 'tsx', peerScript, String(mux.port), curve];
  // This process runs the server side (on core 0 when `npm run bench` pinned it); the peer on core 1.
  const peer = existsSync('/usr/bin/taskset')
    ? spawn('/usr/bin/taskset', ['-c', '1', process.execPath, ...peerArgs], {
        stdio: ['pipe', 'pipe', 'inherit'],
      })
    : spawn(process.execPath, peerArgs, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: peer.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<DtlsPeerMessage> => {
    const line = await lines.next();
    if (line.done === true) throw new Error('the DTLS peer exited early');
    return JSON.parse(line.value) as DtlsPeerMessage;
  };
  try {
    const hello = await next();
    if (!('fingerprint' in hello)) throw new Error('expected the peer fingerprint');
    const cpuMs: number[] = [];
    const wallMs: number[] = [];
    for (let round = 0; round <= rounds; round++) {
      const endpoints = Array.from({ length: perRound }, () => mux.createEndpoint());
      const cpuBefore = threadCpuNanos();
      const started = performance.now();
      const transports = endpoints.map(
        (endpoint) =>
          new DtlsSrtpTransport({ endpoint, certificate, remoteFingerprint: `sha-256 ${hello.fingerprint}` }),
      );
      const connected = transports.map(
        (transport) =>
          new Promise<void>((resolve, reject) => {
            transport.on('stateChange', (state) => {
              if (state === 'connected') resolve();
              else if (state === 'failed') reject(new Error('a DTLS handshake failed'));
            });
          }),
      );
      const message: DtlsRouterMessage = {
        endpoints: endpoints.map(({ usernameFragment, password }) => ({ usernameFragment, password })),
      };
      peer.stdin.write(`${JSON.stringify(message)}\n`);
      await Promise.all(connected);
      const elapsed = performance.now() - started;
      const used = threadCpuNanos() - cpuBefore;
      const done = await next();
      if (!('connected' in done)) throw new Error('expected the round to end');
      for (const transport of transports) transport.close();
      for (const endpoint of endpoints) endpoint.close();
      // The first round warms up.
      if (round === 0) continue;
      cpuMs.push(used / 1e6 / perRound);
      wallMs.push(elapsed);
    }
    const sorted = [...cpuMs].sort((a, b) => a - b);
    return {
      curve,
      handshakes: perRound * rounds,
      threadCpuMs: median(cpuMs),
      threadCpuMsRange: [sorted[0] ?? 0, sorted[sorted.length - 1] ?? 0],
      roundMs: median(wallMs),
    };
  } finally {
    peer.stdin.end();
    mux.close();
  }
}

/** CPU time of the calling thread in ns (Linux: the first field of its schedstat). */
function threadCpuNanos(): number {
  return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
