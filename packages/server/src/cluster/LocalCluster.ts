import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgresServer, type PostgresServer } from '../store/testing/postgresServer.js';
import { freeTcpPort, TestRedis } from './TestRedis.js';

/** What `npm run cluster` starts: a throwaway cluster on one machine. */
export interface LocalClusterOptions {
  /** Parlor nodes to start. Default 3. */
  readonly nodes?: number;
  /** Regions given to the nodes in turn. Default `['us', 'eu']`. */
  readonly regions?: readonly string[];
  /** The first node's HTTP port, the next nodes' the ports after it; 0 for free ports. Default 3001. */
  readonly port?: number;
  /** Flags given to every node after the cluster's own. Default none. */
  readonly args?: readonly string[];
  /** Receives each line the nodes log, prefixed with the node's ID. Default: dropped. */
  readonly log?: (line: string) => void;
}

export interface LocalClusterNode {
  readonly nodeId: string;
  readonly region: string;
  readonly url: string;
}

/** A running local cluster; `close()` stops everything it started and deletes its files. */
export interface LocalCluster {
  readonly nodes: readonly LocalClusterNode[];
  readonly project: { readonly apiKey: string; readonly apiSecret: string };
  readonly clusterSecret: string;
  readonly redisUrl: string;
  readonly databaseUrl: string;
  /** The folder holding the nodes' data, removed by `close()`. */
  readonly dir: string;
  close(): Promise<void>;
}

const parlorBin = fileURLToPath(new URL('../../bin/parlor.js', import.meta.url));
const nodeStartTimeoutMs = 60_000;
/** How long a node stopped by `close()` may drain its calls before it is killed. */
const drainSeconds = 5;
const killAfterMs = (drainSeconds + 5) * 1000;

/**
 * Starts Redis and PostgreSQL of its own on free loopback ports, then Parlor nodes sharing them,
 * with one generated project and cluster secret. Any failure stops what was started.
 */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const count = options.nodes ?? 3;
  const regions = options.regions ?? ['us', 'eu'];
  const firstPort = options.port ?? 3001;
  if (!Number.isInteger(count) || count < 1 || count > 20) throw new Error('nodes must be 1 to 20');
  if (regions.length === 0) throw new Error('at least one region is needed');
  const dir = mkdtempSync(join(tmpdir(), 'parlor-local-cluster-'));
  const project = {
    apiKey: String(randomInt(10_000_000, 100_000_000)),
    apiSecret: randomBytes(20).toString('hex'),
  };
  const clusterSecret = randomBytes(16).toString('hex');
  const children: ChildProcess[] = [];
  let redis: TestRedis | undefined;
  let postgres: PostgresServer | undefined;
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await Promise.all(children.map(stopNode));
      await redis?.dispose();
      await postgres?.stop();
      rmSync(dir, { recursive: true, force: true });
    })());
  try {
    [redis, postgres] = await Promise.all([TestRedis.start(), startPostgresServer()]);
    const databaseUrl = await postgres.createDatabase();
    const settings = { redisUrl: redis.url, databaseUrl, project, clusterSecret };
    // Every node is spawned before any is waited for, so that a failure stops them all.
    const ports = await Promise.all(
      Array.from({ length: count }, async (_, index) =>
        firstPort === 0 ? await freeTcpPort() : firstPort + index,
      ),
    );
    const nodes = ports.map((port, index) => {
      const region = regions[index % regions.length] ?? 'default';
      return { nodeId: `${region}-${index + 1}`, region, url: `http://127.0.0.1:${port}` };
    });
    const starts = nodes.map((node) => {
      const dataDir = join(dir, node.nodeId);
      mkdirSync(dataDir);
      const child = spawnNode(node, dataDir, settings, options.args ?? []);
      children.push(child);
      return nodeStarted(child, node.nodeId, options.log ?? (() => undefined));
    });
    await Promise.all(starts);
    return { nodes, project, clusterSecret, redisUrl: redis.url, databaseUrl, dir, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function spawnNode(
  node: LocalClusterNode,
  dataDir: string,
  settings: {
    redisUrl: string;
    databaseUrl: string;
    project: LocalCluster['project'];
    clusterSecret: string;
  },
  extraArgs: readonly string[],
): ChildProcess {
  // The caller's own PARLOR_* settings would mix with the cluster's: extra flags go in `args`.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PARLOR_')));
  const port = new URL(node.url).port;
  return spawn(
    process.execPath,
    [
      parlorBin,
      'start',
      '--demo',
      '--turn',
      'off',
      '--host',
      '127.0.0.1',
      '--port',
      port,
      '--media-port',
      '0',
      '--media-workers',
      '1',
      '--data-dir',
      dataDir,
      '--region',
      node.region,
      '--node-id',
      node.nodeId,
      '--public-url',
      node.url,
      '--internal-url',
      node.url,
      '--drain-timeout',
      String(drainSeconds),
      ...extraArgs,
    ],
    {
      env: {
        ...env,
        PARLOR_REDIS_URL: settings.redisUrl,
        PARLOR_DATABASE_URL: settings.databaseUrl,
        PARLOR_CLUSTER_SECRET: settings.clusterSecret,
        PARLOR_API_KEY: settings.project.apiKey,
        PARLOR_API_SECRET: settings.project.apiSecret,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

/** Resolves once the node prints its banner; passes on its output line by line. */
function nodeStarted(child: ChildProcess, nodeId: string, log: (line: string) => void): Promise<void> {
  let output = '';
  let banner = '';
  let started = false;
  const forward = (partial: { rest: string }) => (chunk: Buffer) => {
    const lines = (partial.rest + chunk.toString()).split('\n');
    partial.rest = lines.pop() ?? '';
    for (const line of lines) {
      if (!started) output = (output + line + '\n').slice(-16_384);
      if (started) log(`[${nodeId}] ${line}`);
    }
  };
  child.stdout?.on('data', forward({ rest: '' }));
  child.stderr?.on('data', forward({ rest: '' }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`node ${nodeId} did not start within ${nodeStartTimeoutMs / 1000} s:\n${output}`));
    }, nodeStartTimeoutMs);
    const onBanner = (chunk: Buffer): void => {
      banner += chunk.toString();
      if (!banner.includes('Press Ctrl+C')) return;
      started = true;
      clearTimeout(timer);
      child.stdout?.off('data', onBanner);
      resolve();
    };
    child.stdout?.on('data', onBanner);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!started) reject(new Error(`node ${nodeId} exited with ${code} at start:\n${output}`));
    });
  });
}

/** `SIGTERM` (the node drains, briefly), then `SIGKILL` if it is still there. */
async function stopNode(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
