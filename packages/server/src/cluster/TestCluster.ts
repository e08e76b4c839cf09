import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnParlor, type SpawnedParlor } from '../testing.js';
import { freeTcpPort, type TestRedis } from './TestRedis.js';

/** One node of a test cluster: a `parlor start` process of its own. */
export interface TestClusterNode {
  readonly nodeId: string;
  readonly region: string;
  /** Its public (and internal) URL. */
  readonly url: string;
  readonly dataDir: string;
  readonly parlor: SpawnedParlor;
  /** A gauge of its `/metrics` (read from loopback), summed over labels; 0 when absent. */
  metric(name: string): Promise<number>;
}

export interface TestClusterOptions {
  readonly redis: TestRedis;
  /** One node per entry, in that region. */
  readonly regions: readonly string[];
  /** Settings of every node besides the cluster's own. Default: none. */
  readonly env?: Readonly<Record<string, string>>;
  /** Settings of the node of one region besides those (its own ports…). Default: none. */
  readonly envOf?: (region: string) => Readonly<Record<string, string>>;
  /** Settings of one node (by its ID), over `env`. Default: none. */
  readonly nodeEnv?: (nodeId: string) => Readonly<Record<string, string>>;
  /** The PostgreSQL database the nodes share (`PARLOR_DATABASE_URL`). */
  readonly databaseUrl: string;
}

/** The project every node of a test cluster has. */
export const testClusterProject = { apiKey: '47000001', apiSecret: 'c'.repeat(40) } as const;

/** The secret the nodes of a test cluster share. */
export const testClusterSecret = 'test-cluster-secret-0123456789';

/** Parlor processes on loopback sharing one Redis, each in its region. */
export class TestCluster {
  readonly #nodes: TestClusterNode[];
  readonly #options: TestClusterOptions;

  private constructor(nodes: TestClusterNode[], options: TestClusterOptions) {
    this.#nodes = nodes;
    this.#options = options;
  }

  static async start(options: TestClusterOptions): Promise<TestCluster> {
    const nodes = await Promise.all(
      options.regions.map((region, index) => startNode(options, region, `${region}-${index + 1}`)),
    );
    await everyNodeAdmitting(nodes);
    return new TestCluster(nodes, options);
  }

  get nodes(): readonly TestClusterNode[] {
    return this.#nodes;
  }

  /**
   * Starts a node that was stopped again, with its ID, port and data; resolves once its record
   * says it takes sessions.
   */
  async restart(nodeId: string): Promise<TestClusterNode> {
    const index = this.#nodes.findIndex((each) => each.nodeId === nodeId);
    const old = this.#nodes[index];
    if (!old) throw new Error(`no node ${nodeId}`);
    await old.parlor.stop('SIGKILL');
    const node = await startNode(this.#options, old.region, nodeId, old);
    this.#nodes[index] = node;
    await everyNodeAdmitting([node]);
    return node;
  }

  /** The node of an ID. */
  node(nodeId: string): TestClusterNode {
    const node = this.nodes.find((each) => each.nodeId === nodeId);
    if (!node) throw new Error(`no node ${nodeId}`);
    return node;
  }

  /** Stops every node and deletes their data. */
  async dispose(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        await node.parlor.stop('SIGKILL');
        rmSync(node.dataDir, { recursive: true, force: true });
      }),
    );
  }
}

/**
 * Waits until the cluster's records list every node as admitting. A node's first record counts
 * its start-up's event-loop delay, which on a loaded machine passes the admission limit: until
 * its next record (2 s on), placement would pass it over.
 */
async function everyNodeAdmitting(nodes: readonly TestClusterNode[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${nodes[0]?.url ?? ''}/v2/cluster/nodes`, {
      headers: { Authorization: `Bearer ${testClusterSecret}` },
    });
    const records = ((await response.json()) as { nodes: { nodeId: string; admitting: boolean }[] }).nodes;
    const admitting = new Set(records.filter((record) => record.admitting).map((record) => record.nodeId));
    if (nodes.every((node) => admitting.has(node.nodeId))) return;
    if (Date.now() > deadline)
      throw new Error(`the cluster's nodes are not all admitting: ${JSON.stringify(records)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function startNode(
  options: TestClusterOptions,
  region: string,
  nodeId: string,
  again?: TestClusterNode,
): Promise<TestClusterNode> {
  const dataDir = again?.dataDir ?? mkdtempSync(join(tmpdir(), 'parlor-cluster-'));
  const url = again?.url ?? `http://127.0.0.1:${await freeTcpPort()}`;
  const port = new URL(url).port;
  const parlor = await spawnParlor({
    dataDir,
    env: {
      PARLOR_API_KEY: testClusterProject.apiKey,
      PARLOR_API_SECRET: testClusterProject.apiSecret,
      PARLOR_MEDIA_WORKERS: '1',
      PARLOR_LOG_LEVEL: 'info',
      PARLOR_REDIS_URL: options.redis.url,
      PARLOR_CLUSTER_SECRET: testClusterSecret,
      PARLOR_DATABASE_URL: options.databaseUrl,
      ...options.env,
      ...options.envOf?.(region),
      ...options.nodeEnv?.(nodeId),
    },
    args: [
      '--port',
      port,
      '--region',
      region,
      '--node-id',
      nodeId,
      '--public-url',
      url,
      '--internal-url',
      url,
      '--trust-proxy',
      '127.0.0.1',
    ],
  });
  return {
    nodeId,
    region,
    url,
    dataDir,
    parlor,
    metric: async (name) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return text
        .split('\n')
        .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
        .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    },
  };
}
