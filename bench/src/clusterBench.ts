import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import jwt from 'jsonwebtoken';
import { OpenTok } from '@parlor/server-sdk';
import { runScenario } from './fallbackBench.js';
import {
  SignalingTestClient,
  spawnParlor,
  startPostgresServer,
  TestCluster,
  TestRedis,
  testClusterProject,
  testClusterSecret,
  type TestClusterNode,
} from '@parlor/server/testing';

export interface ClusterBenchOptions {
  /** Nodes in the cluster, each in a region of its own. Default: 3. */
  readonly nodes?: number;
  /** Sessions placed, and REST calls made each way. Default: 100. */
  readonly samples?: number;
  /** Owners killed, one after the other, and calls of two Chromium pages failed over. Default: 5. */
  readonly failovers?: number;
  /** How long each rate (requests per second) is measured, in seconds. Default: 3. */
  readonly rateSeconds?: number;
}

export interface Latency {
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly samples: number;
}

/** Requests answered per second, and the CPU the Parlor processes spent on each (which a loaded machine's waits do not inflate). */
export interface Rate {
  readonly perSecond: number;
  /** CPU milliseconds per request of each Parlor process, by node ID. */
  readonly cpuMsPerRequest: Readonly<Record<string, number>>;
}

export interface ClusterBenchResult {
  readonly nodes: number;
  /** A session's first connection-info question: its node chosen and its lease written. */
  readonly placement: Latency;
  /** The same question once it has an owner: the lease read. */
  readonly ownerLookup: Latency;
  /** The first client's connect on its node (the node confirms the lease with Redis). */
  readonly firstConnect: Latency;
  /** A later client's connect, on a node that holds the session's lease already. */
  readonly laterConnect: Latency;
  /** `GET …/stream` answered by the session's host. */
  readonly restDirect: Latency;
  /** The same call to another node, forwarded to the host. */
  readonly restForwarded: Latency;
  /** `kill -9` of a session's owner until another node is handed the session. */
  readonly leaseTakeover: Latency;
  /** `kill -9` of a node until the registry no longer lists it. */
  readonly recordExpiry: Latency;
  /** Connection-info requests for a live session, asked of its host and of another node (which asks the host). */
  readonly connectionInfo: { readonly host: Rate; readonly other: Rate };
  /**
   * `POST /session/create`: on each cluster node asked alone (by node ID), on all of them asked
   * at once (the sum; they share one PostgreSQL), and on a node on its own (SQLite).
   */
  readonly sessionCreates: {
    readonly perNode: Readonly<Record<string, Rate>>;
    readonly allNodes: Rate;
    readonly sqlite: Rate;
  };
  /** A call of two Chromium pages, its node killed: until both pages are told `sessionReconnected`, and until both decode video again; null when Chromium is missing. */
  readonly callFailover: { readonly reconnected: Latency; readonly decoding: Latency } | null;
}

/** Addresses the shipped GeoIP data places in the US, Germany and Japan: one region each. */
const hints = ['8.8.8.8', '46.4.0.1', '133.242.0.1'] as const;
const regionNames = ['us', 'eu', 'ap'] as const;

/**
 * A cluster of Parlor processes on loopback with one Redis and one PostgreSQL: how long placing
 * a session and connecting to it take, what forwarding a REST call to the session's host costs
 * beside asking the host, and how long after a `kill -9` of a session's owner the session is
 * handed to another node (the lease's expiry; clients then reconnect).
 */
export async function runClusterBench(options: ClusterBenchOptions = {}): Promise<ClusterBenchResult> {
  const count = Math.max(2, Math.min(options.nodes ?? 3, regionNames.length));
  const samples = options.samples ?? 100;
  const [redis, postgres] = await Promise.all([TestRedis.start(), startPostgresServer()]);
  let cluster: TestCluster | null = null;
  const clients: SignalingTestClient[] = [];
  try {
    cluster = await TestCluster.start({
      redis,
      databaseUrl: await postgres.createDatabase(),
      regions: regionNames.slice(0, count),
      env: { PARLOR_LOG_LEVEL: 'warn' },
    });
    const live = cluster;
    const first = live.nodes[0];
    if (!first) throw new Error('no node');
    const opentok = new OpenTok(testClusterProject.apiKey, testClusterProject.apiSecret, {
      apiUrl: first.url,
    });
    const createSession = async (index: number): Promise<string> =>
      (await opentok.createSession({ mediaMode: 'routed', location: hints[index % count] ?? hints[0] }))
        .sessionId;
    const nodeOf = (url: string): TestClusterNode => {
      const node = live.nodes.find((each) => each.url === url);
      if (!node) throw new Error(`no node at ${url}`);
      return node;
    };

    const placement: number[] = [];
    const ownerLookup: number[] = [];
    const firstConnect: number[] = [];
    const laterConnect: number[] = [];
    for (let i = 0; i < samples; i++) {
      const sessionId = await createSession(i);
      // Asked of a node other than the one the hint places it on.
      const asked = live.nodes[(i + 1) % count] ?? first;
      const [placed, info] = await timed(() => connectionInfo(asked, sessionId, opentok));
      placement.push(placed);
      ownerLookup.push((await timed(() => connectionInfo(asked, sessionId, opentok)))[0]);
      const host = nodeOf(info.apiUrl);
      const token = opentok.generateToken(sessionId);
      const [connected, client] = await timed(() => SignalingTestClient.connect(host.url, sessionId, token));
      firstConnect.push(connected);
      const [again, other] = await timed(() => SignalingTestClient.connect(host.url, sessionId, token));
      laterConnect.push(again);
      await Promise.all([client.close(), other.close()]);
    }

    // One live session hosted by the first node, asked of it and of the others.
    const sessionId = await createSession(0);
    const info = await connectionInfo(live.nodes[1] ?? first, sessionId, opentok);
    const host = nodeOf(info.apiUrl);
    clients.push(await SignalingTestClient.connect(host.url, sessionId, opentok.generateToken(sessionId)));
    const others = live.nodes.filter((node) => node !== host);
    const restDirect: number[] = [];
    const restForwarded: number[] = [];
    for (let i = 0; i < samples; i++) {
      restDirect.push((await timed(() => listStreams(host, sessionId)))[0]);
      restForwarded.push((await timed(() => listStreams(others[i % others.length] ?? host, sessionId)))[0]);
    }

    const rateSeconds = options.rateSeconds ?? 3;
    const infoRequest = (node: TestClusterNode): autocannon.Options => ({
      url: `${node.url}/v2/session/${sessionId}/connection-info`,
      headers: { 'X-TB-TOKEN-AUTH': opentok.generateToken(sessionId) },
    });
    const processes = live.nodes.map((node) => ({ nodeId: node.nodeId, pid: node.parlor.child.pid ?? 0 }));
    const connectionInfoRates = {
      host: await rate([infoRequest(host)], rateSeconds, processes),
      other: await rate([infoRequest(others[0] ?? host)], rateSeconds, processes),
    };
    const perNode: Record<string, Rate> = {};
    for (const node of live.nodes)
      perNode[node.nodeId] = await rate([sessionCreate(node.url)], rateSeconds, processes);
    const sessionCreates = {
      perNode,
      allNodes: await rate(
        live.nodes.map((node) => sessionCreate(node.url)),
        rateSeconds,
        processes,
      ),
      sqlite: await sqliteSessionCreates(rateSeconds),
    };

    const leaseTakeover: number[] = [];
    const recordExpiry: number[] = [];
    for (let run = 0; run < (options.failovers ?? 5); run++) {
      const doomedSession = await createSession(run);
      const asked = live.nodes[(run + 1) % count] ?? first;
      const owner = nodeOf((await connectionInfo(asked, doomedSession, opentok)).apiUrl);
      const client = await SignalingTestClient.connect(
        owner.url,
        doomedSession,
        opentok.generateToken(doomedSession),
      );
      const survivor = live.nodes.find((node) => node !== owner) ?? first;
      const killedAt = performance.now();
      await owner.parlor.stop('SIGKILL');
      await client.close().catch(() => undefined);
      let expired: number | null = null;
      for (;;) {
        if (expired === null && !(await listed(survivor)).includes(owner.nodeId))
          expired = performance.now() - killedAt;
        const now = await connectionInfo(survivor, doomedSession, opentok).catch(() => null);
        if (now !== null && now.nodeId !== owner.nodeId) break;
        if (performance.now() - killedAt > 60_000) throw new Error('no node took the session over in 60 s');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      leaseTakeover.push(performance.now() - killedAt);
      while (expired === null) {
        if (!(await listed(survivor)).includes(owner.nodeId)) expired = performance.now() - killedAt;
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
      recordExpiry.push(expired);
      await live.restart(owner.nodeId);
    }

    return {
      nodes: count,
      placement: latency(placement),
      ownerLookup: latency(ownerLookup),
      firstConnect: latency(firstConnect),
      laterConnect: latency(laterConnect),
      restDirect: latency(restDirect),
      restForwarded: latency(restForwarded),
      leaseTakeover: latency(leaseTakeover),
      recordExpiry: latency(recordExpiry),
      connectionInfo: connectionInfoRates,
      sessionCreates,
      callFailover: await callFailover(options.failovers ?? 5),
    };
  } finally {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await cluster?.dispose();
    await redis.dispose();
    await postgres.stop();
  }
}

/**
 * Requests answered per second with keep-alive over 16 connections to each target at once, after
 * a second of warm-up, and the CPU each process spent per request meanwhile; any error fails the bench.
 */
async function rate(
  requests: readonly autocannon.Options[],
  seconds: number,
  processes: readonly { nodeId: string; pid: number }[],
): Promise<Rate> {
  await Promise.all(requests.map((request) => autocannon({ ...request, connections: 16, duration: 1 })));
  const before = processes.map(({ pid }) => cpuSecondsOf(pid));
  const results = await Promise.all(
    requests.map((request) => autocannon({ ...request, connections: 16, duration: seconds })),
  );
  const spent = processes.map(({ pid }, index) => cpuSecondsOf(pid) - (before[index] ?? 0));
  let total = 0;
  for (const [index, result] of results.entries()) {
    const failed = result.errors + result.non2xx + result.timeouts;
    if (failed > 0)
      throw new Error(`${requests[index]?.url}: ${failed} of ${result.requests.total} requests failed`);
    total += result.requests.total;
  }
  return {
    perSecond: total / seconds,
    cpuMsPerRequest: Object.fromEntries(
      processes.map(({ nodeId }, index) => [nodeId, ((spent[index] ?? 0) * 1000) / Math.max(1, total)]),
    ),
  };
}

/** CPU seconds a process has used, user and system, all its threads (Linux's /proc, 100 ticks a second). */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After the command name in parentheses: state, then utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** `POST /session/create` of a routed session with a location hint, as the test project. */
function sessionCreate(url: string): autocannon.Options {
  const now = Math.floor(Date.now() / 1000);
  const auth = jwt.sign(
    { iss: testClusterProject.apiKey, ist: 'project', iat: now, exp: now + 300 },
    testClusterProject.apiSecret,
  );
  return {
    url: `${url}/session/create`,
    method: 'POST',
    headers: {
      'X-OPENTOK-AUTH': auth,
      Accept: 'application/json',
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: 'archiveMode=manual&p2p.preference=disabled&location=46.4.0.1',
  };
}

/** Session creates per second on a node on its own, which stores in SQLite, started as a cluster node is. */
async function sqliteSessionCreates(seconds: number): Promise<Rate> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parlor-bench-sqlite-'));
  const parlor = await spawnParlor({
    dataDir,
    env: {
      PARLOR_API_KEY: testClusterProject.apiKey,
      PARLOR_API_SECRET: testClusterProject.apiSecret,
      PARLOR_MEDIA_WORKERS: '1',
    },
  });
  try {
    return await rate([sessionCreate(parlor.url)], seconds, [
      { nodeId: 'sqlite', pid: parlor.child.pid ?? 0 },
    ]);
  } finally {
    await parlor.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** `e2e/clusterFailoverRuns.ts`: calls of two Chromium pages whose node is killed. */
async function callFailover(runs: number): Promise<ClusterBenchResult['callFailover']> {
  if (runs === 0) return null;
  const parsed = await runScenario<{ runs: { reconnectedMs: number; decodingMs: number }[] }>(
    'e2e/clusterFailoverRuns.ts',
    runs,
  );
  if ('skipped' in parsed) return null;
  return {
    reconnected: latency(parsed.runs.map((run) => run.reconnectedMs)),
    decoding: latency(parsed.runs.map((run) => run.decodingMs)),
  };
}

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const result = await work();
  return [performance.now() - started, result];
}

async function connectionInfo(
  node: TestClusterNode,
  sessionId: string,
  opentok: OpenTok,
): Promise<{ nodeId: string; apiUrl: string }> {
  const response = await fetch(`${node.url}/v2/session/${sessionId}/connection-info`, {
    headers: { 'X-TB-TOKEN-AUTH': opentok.generateToken(sessionId) },
  });
  if (!response.ok) throw new Error(`connection info: ${response.status} ${await response.text()}`);
  const info = (await response.json()) as { nodeId: string; apiUrl: string | null };
  return { nodeId: info.nodeId, apiUrl: info.apiUrl ?? node.url };
}

async function listStreams(node: TestClusterNode, sessionId: string): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const auth = jwt.sign(
    { iss: testClusterProject.apiKey, ist: 'project', iat: now, exp: now + 300 },
    testClusterProject.apiSecret,
  );
  const response = await fetch(
    `${node.url}/v2/project/${testClusterProject.apiKey}/session/${sessionId}/stream`,
    {
      headers: { 'X-OPENTOK-AUTH': auth },
    },
  );
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`list streams: ${response.status}`);
}

async function listed(node: TestClusterNode): Promise<string[]> {
  const response = await fetch(`${node.url}/v2/cluster/nodes`, {
    headers: { Authorization: `Bearer ${testClusterSecret}` },
  });
  const { nodes } = (await response.json()) as { nodes: { nodeId: string }[] };
  return nodes.map((each) => each.nodeId);
}

function latency(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50Ms: at(0.5), p95Ms: at(0.95), samples: sorted.length };
}
