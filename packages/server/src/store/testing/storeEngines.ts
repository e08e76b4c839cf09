import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { SqlDialect } from '../SqlClient.js';
import type { StoreLocation } from '../Store.js';
import { startPostgresServer, type PostgresServer } from './postgresServer.js';

/** An engine a suite runs on, with fresh stores to run against. */
export interface StoreEngine {
  readonly name: SqlDialect;
  /** Where a new, empty store goes: a new SQLite file, or a new database of the test cluster. */
  freshLocation(): Promise<StoreLocation>;
}

export const storeEngines: readonly SqlDialect[] = ['sqlite', 'postgres'];

/**
 * Runs the suite once per engine: on SQLite in a temporary folder, and on PostgreSQL in a
 * throwaway cluster started for it (each store its own database), both removed at the end.
 */
export function describeEachEngine(title: string, suite: (engine: StoreEngine) => void): void {
  for (const name of storeEngines) {
    describe(`${title} (${name})`, () => {
      let dir = '';
      let postgres: PostgresServer | undefined;
      let files = 0;
      before(async () => {
        if (name === 'sqlite') dir = mkdtempSync(join(tmpdir(), 'parlor-store-'));
        else postgres = await startPostgresServer();
      });
      after(async () => {
        await postgres?.stop();
        if (dir !== '') rmSync(dir, { recursive: true, force: true });
      });
      suite({
        name,
        async freshLocation() {
          if (!postgres) return { engine: 'sqlite', file: join(dir, `store-${++files}.sqlite`) };
          return { engine: 'postgres', url: await postgres.createDatabase() };
        },
      });
    });
  }
}
