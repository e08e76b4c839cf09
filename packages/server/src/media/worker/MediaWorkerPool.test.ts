import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { InvalidStateError } from '../../InvalidStateError.js';
import { waitFor } from '../../waitFor.js';
import type { IceTcpStats } from '../ice/UdpMux.js';
import { parseStun, serializeStun, stunAttributes, stunMessageTypes } from '../ice/stun.js';
import { noVideoPreferences } from '../router/Subscription.js';
import { DtlsCertificate } from '../transport/DtlsCertificate.js';
import { MediaWorkerCallError } from './MediaWorker.js';
import {
  MediaWorkerPool,
  MediaWorkersOverloadedError,
  type MediaWorkerPoolOptions,
} from './MediaWorkerPool.js';

let options: MediaWorkerPoolOptions;

before(async () => {
  options = {
    workers: 2,
    host: '127.0.0.1',
    basePort: 0,
    tcp: false,
    announcedAddress: '127.0.0.1',
    certificate: await DtlsCertificate.generate(),
    logger: pino({ level: 'silent' }),
  };
});

describe('MediaWorkerPool', () => {
  let pool: MediaWorkerPool;
  before(async () => {
    pool = await MediaWorkerPool.start(options);
  });
  after(() => pool.close());

  it('places each new router on the worker hosting the fewest, and counts closed ones out', async () => {
    const routers = [pool.createRouter(), pool.createRouter(), pool.createRouter()];
    assert.deepEqual(
      routers.map((router) => router.worker.index),
      [0, 1, 0],
    );
    assert.deepEqual(
      pool.load.map(({ routers: count }) => count),
      [2, 1],
    );
    routers[0]?.close();
    assert.deepEqual(
      pool.load.map(({ routers: count }) => count),
      [1, 1],
    );
    assert.deepEqual(await routers[1]?.stats(), { shedding: false, publications: [], subscriptions: [] });
    for (const router of routers) router.close();
  });

  it("hands back the router's refusal as a typed error, and the router stays usable", async () => {
    const router = pool.createRouter();
    await assert.rejects(router.publish('v=0\r\n'), (error: unknown) => {
      assert.ok(error instanceof MediaWorkerCallError);
      assert.equal(error.causeName, 'TypeError');
      return true;
    });
    await assert.rejects(
      router.subscribe('no-such-publication', { preferences: noVideoPreferences, audioFallback: true }),
      /no publication/,
    );
    await assert.rejects(
      router.setPreferences('no-such-subscription', noVideoPreferences),
      /no subscription/,
    );
    assert.deepEqual(await router.stats(), { shedding: false, publications: [], subscriptions: [] });
    router.close();
    await assert.rejects(router.stats(), /no router/);
  });

  it('gives every worker a socket of its own', () => {
    const ports = pool.load.map(({ port }) => port);
    assert.equal(new Set(ports).size, 2);
    assert.ok(ports.every((port) => port > 0));
  });
});

describe('MediaWorkerPool.start', () => {
  it('fails, leaving no worker running, when a port is taken', async () => {
    const taken = createSocket('udp4');
    await new Promise<void>((resolve) => taken.bind(0, '127.0.0.1', resolve));
    try {
      await assert.rejects(
        MediaWorkerPool.start({ ...options, basePort: taken.address().port }),
        /EADDRINUSE/,
      );
    } finally {
      taken.close();
    }
  });

  it('refuses to make routers once closed', async () => {
    const pool = await MediaWorkerPool.start({ ...options, workers: 1 });
    await pool.close();
    assert.throws(() => pool.createRouter(), InvalidStateError);
    assert.deepEqual(pool.load, []);
  });
});

describe("a media worker's ICE-TCP port", () => {
  const limits = { authTimeoutMs: 3000, maxPendingPerAddress: 16 };
  const offerSdp = readFileSync(
    new URL('../sdp/fixtures/chromium-publisher-offer.sdp', import.meta.url),
    'utf8',
  );
  const openDescriptors = (): number => readdirSync('/proc/self/fd').length;

  /** A TCP connection to the worker from `localAddress`, and whether the worker closed it. */
  const connect = async (
    port: number,
    localAddress: string,
  ): Promise<{ socket: Socket; closed: Promise<unknown> }> => {
    const socket = createConnection({ port, host: '127.0.0.1', localAddress });
    socket.on('error', () => undefined);
    const closed = once(socket, 'close');
    await Promise.race([once(socket, 'connect'), closed]);
    return { socket, closed };
  };
  const frame = (packet: Buffer): Buffer =>
    Buffer.concat([Buffer.from([packet.length >> 8, packet.length & 0xff]), packet]);
  /** Sends a binding request with the endpoint's credentials; resolves with the framed answer's STUN type. */
  const check = async (socket: Socket, ufrag: string, password: string): Promise<number> => {
    const request = serializeStun(
      {
        type: stunMessageTypes.bindingRequest,
        transactionId: randomBytes(12),
        attributes: [{ type: stunAttributes.username, value: Buffer.from(`${ufrag}:client`) }],
      },
      password,
    );
    const answered = once(socket, 'data');
    socket.write(frame(request));
    const [answer] = (await answered) as [Buffer];
    return parseStun(answer.subarray(2))?.type ?? 0;
  };
  it('closes connections that never complete a check after the timeout, and those over the cap per address at once, not those of other addresses or authenticated ones', async () => {
    const descriptorsBefore = openDescriptors();
    const pool = await MediaWorkerPool.start({ ...options, workers: 1, tcp: true, tcpLimits: limits });
    try {
      const port = pool.load[0]?.port ?? 0;
      const stats = async (): Promise<IceTcpStats> => (await pool.muxStats())[0]?.stats.tcp as IceTcpStats;
      const router = pool.createRouter();
      const answer = (await router.publish(offerSdp)).answerSdp;
      const ufrag = /a=ice-ufrag:(\S+)/.exec(answer)?.[1] ?? '';
      const password = /a=ice-pwd:(\S+)/.exec(answer)?.[1] ?? '';

      const started = Date.now();
      const silent = await Promise.all(Array.from({ length: 300 }, () => connect(port, '127.0.0.1')));
      let closedCount = 0;
      for (const { closed } of silent) void closed.then(() => closedCount++);
      // All but the 16 allowed are closed as they come, well before the timeout.
      await waitFor(
        () => closedCount === 300 - limits.maxPendingPerAddress,
        'the connections past the cap to be closed',
        limits.authTimeoutMs - 500,
      );
      assert.deepEqual(await stats(), {
        authenticated: 0,
        pending: 16,
        refused: 284,
        timedOut: 0,
        invalid: 0,
      });

      // Another address is still served meanwhile: a client that checks stays, one that does not waits.
      const client = await connect(port, '127.0.0.2');
      assert.equal(await check(client.socket, ufrag, password), stunMessageTypes.bindingSuccess);
      const idle = await connect(port, '127.0.0.2');
      assert.equal(idle.socket.destroyed, false);
      // Garbage in a first frame, or a first frame longer than any check, closes at once.
      const garbage = await connect(port, '127.0.0.3');
      garbage.socket.write(frame(Buffer.from('GET / HTTP/1.1\r\n\r\n')));
      const huge = await connect(port, '127.0.0.3');
      huge.socket.write(Buffer.from([0xff, 0xff, 0, 0]));
      await Promise.all([garbage.closed, huge.closed]);
      assert.ok(Date.now() - started < limits.authTimeoutMs, 'the cap or the garbage waited for the timeout');

      await Promise.all([...silent.map(({ closed }) => closed), idle.closed]);
      const elapsed = Date.now() - started;
      assert.ok(
        elapsed >= limits.authTimeoutMs - 100 && elapsed < limits.authTimeoutMs + 2000,
        `${elapsed} ms`,
      );
      // The worker counts a connection as ended once its own socket has closed, which may come
      // after the client saw the close.
      await waitFor(async () => (await stats()).pending === 0, 'no connection pending', 1000);
      assert.deepEqual(await stats(), {
        authenticated: 1,
        pending: 0,
        refused: 284,
        timedOut: 17,
        invalid: 2,
      });
      // The authenticated connection outlived the timeout, and still gets answers.
      assert.equal(await check(client.socket, ufrag, password), stunMessageTypes.bindingSuccess);
      // Its transport's end closes it.
      router.close();
      await client.closed;
      await waitFor(async () => (await stats()).authenticated === 0, 'no connection authenticated', 2000);
    } finally {
      await pool.close();
    }
    await waitFor(() => openDescriptors() <= descriptorsBefore, 'no descriptor left open', 2000);
  });
});

describe('media worker admission', () => {
  const offerSdp = readFileSync(
    new URL('../sdp/fixtures/chromium-publisher-offer.sdp', import.meta.url),
    'utf8',
  );
  // A busy worker's loop is busy 80 ms of every 100. Utilization alone decides here: on a loaded
  // machine an idle worker's delay reaches tens of ms when its thread waits for a core.
  const admission = { maxLagMs: 1000, maxUtilization: 0.5 };
  const busy = { busyMs: 80, everyMs: 100, durationMs: 3500 };
  let lastLoad: (() => unknown) | null = null;
  const until = async (condition: () => boolean, withinMs: number, what: string): Promise<void> => {
    const deadline = Date.now() + withinMs;
    while (!condition()) {
      assert.ok(Date.now() < deadline, `${what}: not within ${withinMs} ms ${JSON.stringify(lastLoad?.())}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  /** Sends binding requests with the endpoint's credentials over UDP; resolves with the slowest answer's time, ms. */
  const checkRoundTrips = async (port: number, answerSdp: string, count: number): Promise<number> => {
    const ufrag = /a=ice-ufrag:(\S+)/.exec(answerSdp)?.[1] ?? '';
    const password = /a=ice-pwd:(\S+)/.exec(answerSdp)?.[1] ?? '';
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    try {
      let slowest = 0;
      for (let i = 0; i < count; i++) {
        const request = serializeStun(
          {
            type: stunMessageTypes.bindingRequest,
            transactionId: randomBytes(12),
            attributes: [{ type: stunAttributes.username, value: Buffer.from(`${ufrag}:client`) }],
          },
          password,
        );
        const sent = Date.now();
        const answered = once(socket, 'message', { signal: AbortSignal.timeout(3000) });
        socket.send(request, port, '127.0.0.1');
        const [answer] = (await answered) as [Buffer];
        assert.equal(parseStun(answer)?.type, stunMessageTypes.bindingSuccess);
        slowest = Math.max(slowest, Date.now() - sent);
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      return slowest;
    } finally {
      socket.close();
    }
  };

  it("places new sessions on workers that are not overloaded, refuses them when none is, answers an established publisher's checks meanwhile, and admits again once the load falls", async () => {
    const pool = await MediaWorkerPool.start({ ...options, workers: 2, admission });
    lastLoad = () => pool.load;
    try {
      const established = pool.createRouter();
      const others = [pool.createRouter(), pool.createRouter(), pool.createRouter()];
      assert.deepEqual(
        [established, ...others].map((router) => router.worker.index),
        [0, 1, 0, 1],
      );
      const { answerSdp } = await established.publish(offerSdp);
      const busyWorker = established.worker;
      await until(() => pool.load.every((worker) => worker.admitting), 3000, 'admitting at rest');

      await pool.simulateLoad(0, busy);
      await until(() => !busyWorker.admitting, 2500, 'worker 0 overloaded');
      const load = pool.load[0];
      assert.ok(load && !load.admitting && load.utilization > 0.5, JSON.stringify(load));
      // Worker 0 hosts as few as worker 1 and would take the next session (the first of a tie), but it is overloaded.
      const placed = pool.createRouter();
      assert.equal(placed.worker.index, 1);
      // The established publisher's consent checks are answered between the busy slices.
      const slowest = await checkRoundTrips(busyWorker.port, answerSdp, 5);
      assert.ok(slowest < 1000, `a check waited ${slowest} ms`);

      await pool.simulateLoad(1, busy);
      await until(() => pool.load.every((worker) => !worker.admitting), 2500, 'both overloaded');
      assert.throws(() => pool.createRouter(), MediaWorkersOverloadedError);

      await until(() => pool.load.every((worker) => worker.admitting), 8000, 'admitting again');
      assert.equal(pool.createRouter().worker.index, 0);
    } finally {
      await pool.close();
    }
  });
});
