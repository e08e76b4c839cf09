import assert from 'node:assert/strict';
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { tokenScope } from '@parlor/protocol';
import { randomUUID } from 'node:crypto';
import { DownloadLinks } from '../src/archive/DownloadLinks.js';
import { Store } from '../src/store/Store.js';
import {
  archiveRecord,
  SignalingTestClient,
  spawnParlor,
  waitFor,
  type SpawnedParlor,
} from '../src/testing.js';

// Slow HTTP clients against a real `parlor start` process: connections that never finish their
// headers, or drip their body, from loopback addresses other than the well-behaved client's.

const apiKey = '10000017';
const apiSecret = 'c'.repeat(40);

interface Running {
  readonly parlor: SpawnedParlor;
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
}

async function start(args: readonly string[], nofile?: number): Promise<Running> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parlor-slow-http-'));
  const parlor = await spawnParlor({
    dataDir,
    args: [...args, '--media-workers', '1'],
    env: { PARLOR_API_KEY: apiKey, PARLOR_API_SECRET: apiSecret, PARLOR_LOG_LEVEL: 'info' },
    ...(nofile === undefined
      ? {}
      : { wrap: (command) => ['prlimit', `--nofile=${nofile}:${nofile}`, ...command] }),
  });
  const pid = parlor.child.pid;
  assert.ok(pid !== undefined);
  return { parlor, port: Number(new URL(parlor.url).port), pid, dataDir };
}

async function stop(running: Running): Promise<void> {
  await running.parlor.stop('SIGKILL');
  rmSync(running.dataDir, { recursive: true, force: true });
}

function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

type SlowKind = 'silent' | 'halfHeader' | 'headerDrip' | 'bodyDrip';

/** A client connection that never finishes its request. */
interface SlowClient {
  readonly socket: Socket;
  readonly kind: SlowKind;
  /** When it connected (performance.now()). */
  readonly openedAt: number;
  /** Resolves when the server closed it: how long after it connected, in ms, and what it answered. */
  readonly closed: Promise<{ afterMs: number; answer: string }>;
  readonly isClosed: () => boolean;
}

/** Opens a slow client from `from`; drippers send a byte each time `drip` runs. */
async function openSlow(
  port: number,
  from: string,
  kind: SlowKind,
  drippers: Set<Socket>,
): Promise<SlowClient> {
  const socket = connect({ host: '127.0.0.1', port, localAddress: from });
  let answer = '';
  socket.on('data', (chunk: Buffer) => {
    answer += chunk.toString('latin1');
  });
  socket.on('error', () => undefined);
  let isClosed = false;
  const closedAt = new Promise<number>((resolve) => {
    socket.once('close', () => {
      isClosed = true;
      drippers.delete(socket);
      resolve(performance.now());
    });
  });
  await new Promise<void>((resolve) => {
    socket.once('connect', resolve);
    socket.once('close', () => {
      resolve();
    });
  });
  const openedAt = performance.now();
  if (kind === 'halfHeader') socket.write('GET /health HTTP/1.1\r\nHost: parlor\r\n');
  if (kind === 'headerDrip') socket.write('GET /health HTTP/1.1\r\nHost: parlor\r\nX-Slow: ');
  if (kind === 'bodyDrip')
    socket.write(
      'POST /session/create HTTP/1.1\r\nHost: parlor\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n',
    );
  if (kind === 'headerDrip' || kind === 'bodyDrip') drippers.add(socket);
  return {
    socket,
    kind,
    openedAt,
    closed: closedAt.then((at) => ({ afterMs: at - openedAt, answer })),
    isClosed: () => isClosed,
  };
}

/** Sends a byte on each dripping socket every `intervalMs`; returns the stopper. */
function drip(drippers: Set<Socket>, intervalMs: number): () => void {
  const timer = setInterval(() => {
    for (const socket of drippers) socket.write('a');
  }, intervalMs);
  return () => {
    clearInterval(timer);
  };
}

/** A `/health` request on a new connection from `from`: its status (0: refused or reset) and latency. */
function health(port: number, from: string): Promise<{ status: number; ms: number }> {
  const begun = performance.now();
  return new Promise((resolve) => {
    const request = get(
      { host: '127.0.0.1', port, path: '/health', agent: false, localAddress: from },
      (response) => {
        response.resume();
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, ms: performance.now() - begun });
        });
      },
    );
    request.setTimeout(5000, () => {
      request.destroy();
    });
    request.on('error', () => {
      resolve({ status: 0, ms: performance.now() - begun });
    });
  });
}

/** Waits until every promise has settled or `ms` passed; returns how many settled. */
async function settledWithin(promises: readonly Promise<unknown>[], ms: number): Promise<number> {
  let settled = 0;
  const all = Promise.all(promises.map((promise) => promise.then(() => (settled += 1))));
  await Promise.race([all, new Promise((resolve) => setTimeout(resolve, ms))]);
  return settled;
}

/** A new session of the server's default project. */
async function createSession(url: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const auth = jwt.sign({ iss: apiKey, ist: 'project', iat: now, exp: now + 300 }, apiSecret, {
    algorithm: 'HS256',
  });
  const response = await fetch(`${url}/session/create`, {
    method: 'POST',
    headers: { 'X-OPENTOK-AUTH': auth, Accept: 'application/json' },
  });
  const [{ session_id: sessionId }] = (await response.json()) as [{ session_id: string }];
  return sessionId;
}

/** A signaling client connected to a new session of the server's default project. */
async function connectSignaling(url: string): Promise<SignalingTestClient> {
  const now = Math.floor(Date.now() / 1000);
  const sessionId = await createSession(url);
  const token = jwt.sign(
    {
      iss: apiKey,
      ist: 'project',
      iat: now,
      exp: now + 3600,
      session_id: sessionId,
      nonce: Math.random(),
      role: 'publisher',
      scope: tokenScope,
    },
    apiSecret,
    { algorithm: 'HS256' },
  );
  return SignalingTestClient.connect(url, sessionId, token);
}

describe('slow HTTP clients, with 2 s to send headers, 4 s for a whole request and 1 s of keep-alive', () => {
  let running: Running;
  const drippers = new Set<Socket>();
  let stopDripping: () => void;
  before(async () => {
    running = await start([
      '--http-headers-timeout',
      '2',
      '--http-request-timeout',
      '4',
      '--http-keep-alive-timeout',
      '1',
    ]);
    stopDripping = drip(drippers, 500);
  });
  after(async () => {
    stopDripping();
    await stop(running);
  });

  it('slow HTTP clients that never finish their headers are closed at the header timeout', async () => {
    const before = openDescriptors(running.pid);
    const kinds: SlowKind[] = ['silent', 'halfHeader', 'headerDrip'];
    const clients = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        openSlow(running.port, '127.0.0.2', kinds[i % 3] ?? 'silent', drippers),
      ),
    );
    assert.equal(
      await settledWithin(
        clients.map((client) => client.closed),
        8000,
      ),
      clients.length,
      'all closed',
    );
    for (const client of clients) {
      const { afterMs, answer } = await client.closed;
      assert.ok(afterMs > 1900 && afterMs < 5000, `${client.kind} closed after ${Math.round(afterMs)} ms`);
      assert.match(answer, /^HTTP\/1\.1 408 /, client.kind);
    }
    await waitFor(() => openDescriptors(running.pid) <= before, 'no descriptor left open', 2000);
  });

  it('a client that drips its request body is cut at the request timeout', async () => {
    const client = await openSlow(running.port, '127.0.0.2', 'bodyDrip', drippers);
    assert.equal(await settledWithin([client.closed], 8000), 1);
    const { afterMs, answer } = await client.closed;
    assert.ok(afterMs > 3900 && afterMs < 7000, `closed after ${Math.round(afterMs)} ms`);
    assert.match(answer, /^HTTP\/1\.1 408 /);
  });

  it('an idle keep-alive connection is closed at the keep-alive timeout', async () => {
    const socket = connect({ host: '127.0.0.1', port: running.port, localAddress: '127.0.0.2' });
    socket.write('GET /health HTTP/1.1\r\nHost: parlor\r\n\r\n');
    const answered = await new Promise<number>((resolve) =>
      socket.once('data', () => {
        resolve(performance.now());
      }),
    );
    const closed = new Promise<number>((resolve) =>
      socket.once('close', () => {
        resolve(performance.now());
      }),
    );
    assert.equal(await settledWithin([closed], 6000), 1, 'closed');
    const idleMs = (await closed) - answered;
    assert.ok(idleMs > 900 && idleMs < 4000, `closed ${Math.round(idleMs)} ms after its answer`);
  });

  it('an archive download that a slow reader takes longer than the request timeout to read comes in full', async () => {
    // An available archive of 32 MiB, far more than the sockets buffer, put in the server's store.
    const sessionId = await createSession(running.parlor.url);
    const archiveId = randomUUID();
    const size = 32 * 1024 * 1024;
    const file = join(running.dataDir, 'archives', archiveId, 'archive.mp4');
    mkdirSync(join(running.dataDir, 'archives', archiveId), { recursive: true });
    writeFileSync(file, '');
    truncateSync(file, size);
    const store = await Store.open({ engine: 'sqlite', file: join(running.dataDir, 'parlor.sqlite') });
    await store.archives.insert(
      archiveRecord({
        archiveId,
        apiKey,
        sessionId,
        durationMs: 1000,
        size,
        outputKey: `${archiveId}/archive.mp4`,
      }),
    );
    await store.close();
    const links = new DownloadLinks({
      secret: readFileSync(join(running.dataDir, 'archive-link-secret'), 'utf8').trim(),
      lifetimeMs: 60_000,
      baseUrl: () => '',
    });
    const socket = connect({ host: '127.0.0.1', port: running.port });
    socket.write(
      `GET ${links.urlFor(archiveId, 'archive.mp4')} HTTP/1.1\r\nHost: parlor\r\nConnection: close\r\n\r\n`,
    );
    socket.pause();
    // Past the request timeout, the answer still under way.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    let received = 0;
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (!head.includes('\r\n\r\n')) head += chunk.toString('latin1', 0, 4096);
    });
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.resume();
    assert.equal(await settledWithin([closed], 15_000), 1, 'the download ended');
    assert.match(head, /^HTTP\/1\.1 200 /);
    const headerBytes = head.indexOf('\r\n\r\n') + 4;
    assert.equal(received - headerBytes, size);
  });

  it('a signaling WebSocket outlives the header, request and keep-alive timeouts', async () => {
    const client = await connectSignaling(running.parlor.url);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    assert.deepEqual(await client.request('signal', { type: 'still', data: 'here' }), {});
    await client.close();
  });
});

describe('slowloris against a 1,024-descriptor limit', () => {
  let running: Running;
  const drippers = new Set<Socket>();
  let stopDripping: () => void;
  before(async () => {
    running = await start(['--http-headers-timeout', '6', '--http-request-timeout', '8'], 1024);
    stopDripping = drip(drippers, 2000);
  });
  after(async () => {
    stopDripping();
    await stop(running);
  });

  it('logs the descriptor limit at start', () => {
    assert.match(running.parlor.log(), /descriptor limit 1024: up to \d+ HTTP connections/);
  });

  it('a thousand slowloris connections against a 1,024-descriptor limit leave /health served', async () => {
    const before = openDescriptors(running.pid);
    // 1,050 connections from 21 addresses (50 each, under the per-address cap), every kind.
    const kinds: SlowKind[] = ['silent', 'halfHeader', 'headerDrip', 'bodyDrip'];
    const probes: { status: number; ms: number }[] = [];
    const probing = { until: Infinity };
    const prober = (async () => {
      while (performance.now() < probing.until) {
        probes.push(await health(running.port, '127.0.0.1'));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const opening: Promise<SlowClient>[] = [];
    for (let i = 0; i < 1050; i += 1) {
      opening.push(openSlow(running.port, `127.0.0.${10 + (i % 21)}`, kinds[i % 4] ?? 'silent', drippers));
      if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
    }
    const clients = await Promise.all(opening);
    // Held: the server keeps its descriptors under the limit.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const held = openDescriptors(running.pid);
    const signaling = await connectSignaling(running.parlor.url);
    assert.deepEqual(await signaling.request('signal', { type: 'during', data: 'attack' }), {});
    await signaling.close();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    probing.until = 0;
    await prober;

    const failed = probes.filter((probe) => probe.status !== 200);
    assert.deepEqual(failed, [], `${failed.length} of ${probes.length} /health requests failed`);
    const slowest = Math.max(...probes.map((probe) => probe.ms));
    assert.ok(probes.length >= 10, `${probes.length} probes`);
    assert.ok(slowest < 1000, `the slowest /health took ${Math.round(slowest)} ms`);
    assert.equal(running.parlor.child.exitCode, null, 'the server runs');
    // The server kept its descriptors under the limit, with room to spare.
    assert.ok(held < 1024 - 50, `${held} descriptors open under attack`);

    assert.equal(
      await settledWithin(
        clients.map((client) => client.closed),
        12_000,
      ),
      clients.length,
      'all closed',
    );
    await waitFor(() => openDescriptors(running.pid) <= before + 2, 'no descriptor left open', 3000);
    console.log(
      `slowloris: ${held} descriptors held of 1024, /health p50 ${Math.round(median(probes.map((p) => p.ms)))} ms, max ${Math.round(slowest)} ms over ${probes.length} probes`,
    );
  });

  it('connections past the per-address cap are closed at once while another address is served', async () => {
    const before = openDescriptors(running.pid);
    const open = (count: number): Promise<SlowClient[]> =>
      Promise.all(
        Array.from({ length: count }, () => openSlow(running.port, '127.0.0.3', 'halfHeader', drippers)),
      );
    const held = await open(64);
    // A second on, they have kept the server waiting: 64 is the cap of such connections.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const surplus = await open(36);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(surplus.filter((client) => client.isClosed()).length, 36, 'those past 64 closed');
    assert.equal(
      held.filter((client) => client.isClosed()).length,
      0,
      'the first 64 held till their timeout',
    );
    assert.equal(
      (await health(running.port, '127.0.0.3')).status,
      0,
      'a 65th from the same address is refused',
    );
    assert.equal((await health(running.port, '127.0.0.4')).status, 200, 'another address is served');
    const clients = [...held, ...surplus];
    for (const client of clients) client.socket.destroy();
    await waitFor(() => openDescriptors(running.pid) <= before + 2, 'no descriptor left open', 3000);
  });
});

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}
