import { startPostgresServer } from '@parlor/server/testing';
import { measureSessionCreates, type HttpFigures } from './restBench.js';
import { ServerProcess } from './serverProcess.js';

export interface StoreBenchResult {
  /** Session creates on the embedded store. */
  readonly sqlite: HttpFigures;
  /** Session creates on PostgreSQL (a throwaway local cluster, not pinned, without fsync). */
  readonly postgres: HttpFigures;
}

/**
 * REST session creates per second through the built server pinned to core 0, on each store
 * engine in turn: its SQLite file, then a PostgreSQL database of a cluster started for the run.
 */
export async function runStoreBench(durationSeconds: number): Promise<StoreBenchResult> {
  const sqlite = await createsOn({ core: 0 }, durationSeconds);
  const postgres = await startPostgresServer();
  try {
    const databaseUrl = await postgres.createDatabase();
    return { sqlite, postgres: await createsOn({ core: 0, databaseUrl }, durationSeconds) };
  } finally {
    await postgres.stop();
  }
}

async function createsOn(
  options: Parameters<typeof ServerProcess.start>[0],
  durationSeconds: number,
): Promise<HttpFigures> {
  const server = await ServerProcess.start(options);
  try {
    return await measureSessionCreates(server, durationSeconds);
  } finally {
    await server.stop();
  }
}
