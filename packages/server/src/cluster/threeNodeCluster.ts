import { SignalingTestClient, startPostgresServer, type PostgresServer } from '../testing.js';
import { TestCluster } from './TestCluster.js';
import { TestRedis } from './TestRedis.js';

/**
 * A test file's cluster: three real nodes, `us-1`, `eu-2` and `ap-3`, on one Redis and one
 * PostgreSQL, with the signaling clients connected through it, which go before it at the end.
 */
export class ThreeNodeCluster {
  readonly cluster: TestCluster;
  /** The PostgreSQL database the nodes share. */
  readonly databaseUrl: string;
  readonly #redis: TestRedis;
  readonly #postgres: PostgresServer;
  readonly #clients: SignalingTestClient[] = [];

  private constructor(cluster: TestCluster, databaseUrl: string, redis: TestRedis, postgres: PostgresServer) {
    this.cluster = cluster;
    this.databaseUrl = databaseUrl;
    this.#redis = redis;
    this.#postgres = postgres;
  }

  static async start(): Promise<ThreeNodeCluster> {
    const [redis, postgres] = await Promise.all([TestRedis.start(), startPostgresServer()]);
    const databaseUrl = await postgres.createDatabase();
    const cluster = await TestCluster.start({ redis, databaseUrl, regions: ['us', 'eu', 'ap'] });
    return new ThreeNodeCluster(cluster, databaseUrl, redis, postgres);
  }

  /** Connects a signaling client, closed with the cluster. */
  async connect(url: string, sessionId: string, token: string): Promise<SignalingTestClient> {
    const client = await SignalingTestClient.connect(url, sessionId, token);
    this.#clients.push(client);
    return client;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.#clients.map((client) => client.close().catch(() => undefined)));
    await this.cluster.dispose();
    await this.#redis.dispose();
    await this.#postgres.stop();
  }
}
