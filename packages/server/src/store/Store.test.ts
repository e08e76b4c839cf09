import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { migrationSql, migrations } from './migrations.js';
import { Store, type StoreLocation } from './Store.js';
import { projectRecord } from './testing/records.js';
import { describeEachEngine } from './testing/storeEngines.js';

const project = (apiKey: string): Parameters<Store['projects']['insert']>[0] =>
  projectRecord({ apiKey, name: `P${apiKey}`, isDefault: false });

/** Runs SQL on the store's database directly, as another program would. */
async function exec(location: StoreLocation, sql: string): Promise<void> {
  if (location.engine === 'sqlite') {
    const db = new Database(location.file);
    db.exec(sql);
    db.close();
    return;
  }
  const client = new pg.Client({ connectionString: location.url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describeEachEngine('the store', (engine) => {
  it('applies every migration at open', async () => {
    const store = await Store.open(await engine.freshLocation());
    assert.equal(store.engine, engine.name);
    assert.equal(store.schemaVersion, migrations.length);
    await store.close();
  });

  it('reopens an existing store without applying migrations again, keeping its rows', async () => {
    const location = await engine.freshLocation();
    const first = await Store.open(location);
    await first.projects.insert(project('1'));
    await first.close();
    const second = await Store.open(location);
    assert.equal((await second.projects.find('1'))?.name, 'P1');
    await second.close();
  });

  it('refuses a store whose schema is newer than this Parlor knows', async () => {
    const location = await engine.freshLocation();
    await (await Store.open(location)).close();
    const next = migrations.length + 1;
    await exec(
      location,
      location.engine === 'sqlite'
        ? `PRAGMA user_version = ${next}`
        : `INSERT INTO parlor_schema_migrations (version, applied_at) VALUES (${next}, 0)`,
    );
    await assert.rejects(Store.open(location), /schema version .* is newer than this Parlor knows/);
  });

  it('rolls back a transaction whose function throws', async () => {
    const store = await Store.open(await engine.freshLocation());
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.projects.insert(project('2'));
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await store.projects.find('2'), undefined);
    await store.close();
  });

  it('keeps a write made outside a transaction that awaits out of it, when the transaction rolls back', async () => {
    const store = await Store.open(await engine.freshLocation());
    let inside!: () => void;
    const entered = new Promise<void>((resolve) => (inside = resolve));
    const failed = store.transaction(async (tx) => {
      await tx.projects.insert(project('3'));
      inside();
      await new Promise((resolve) => setTimeout(resolve, 50));
      throw new Error('rolled back');
    });
    await entered;
    const outside = store.projects.insert(project('4'));
    await assert.rejects(failed, /rolled back/);
    await outside;
    assert.equal(await store.projects.find('3'), undefined);
    assert.equal((await store.projects.find('4'))?.name, 'P4');
    await store.close();
  });

  it('reads back integers past 32 bits and booleans as numbers and booleans', async () => {
    const store = await Store.open(await engine.freshLocation());
    const createdAt = 1_800_000_000_123;
    await store.projects.insert({ ...project('5'), createdAt, isDefault: true });
    const found = await store.projects.find('5');
    assert.ok(found);
    assert.equal(found.createdAt, createdAt);
    assert.equal(found.isDefault, true);
    await store.close();
  });

  it('close is idempotent', async () => {
    const store = await Store.open(await engine.freshLocation());
    await store.close();
    await store.close();
  });

  if (engine.name === 'postgres') {
    it('opened by several nodes at once on a fresh database, applies each migration exactly once', async () => {
      const location = await engine.freshLocation();
      const stores = await Promise.all(Array.from({ length: 5 }, () => Store.open(location)));
      for (const store of stores) assert.equal(store.schemaVersion, migrations.length);
      const client = new pg.Client({ connectionString: location.engine === 'postgres' ? location.url : '' });
      await client.connect();
      const { rows } = await client.query<{ version: number }>(
        'SELECT version FROM parlor_schema_migrations ORDER BY version',
      );
      await client.end();
      assert.deepEqual(
        rows.map((row) => row.version),
        migrations.map((_, i) => i + 1),
      );
      await Promise.all(stores.map((store) => store.close()));
    });

    it('that cannot be reached is one error naming the server and the cause', async () => {
      const location = await engine.freshLocation();
      const url = new URL(location.engine === 'postgres' ? location.url : '');
      const missing = new URL(url);
      missing.pathname = '/no_such_database';
      await assert.rejects(Store.open({ engine: 'postgres', url: missing.href }), (error: Error) => {
        assert.equal(
          error.message,
          `PostgreSQL at ${url.host}/no_such_database cannot be used: database "no_such_database" does not exist`,
        );
        return true;
      });
      const refused = new URL(url);
      // Port 1: nothing listens there.
      refused.port = '1';
      await assert.rejects(
        Store.open({ engine: 'postgres', url: refused.href }),
        /^Error: PostgreSQL at 127\.0\.0\.1:1\/.* cannot be used: connect ECONNREFUSED 127\.0\.0\.1:1$/,
      );
    });
  }
});

describe('the SQLite store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parlor-sqlite-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates its folder and file and uses WAL', async () => {
    const file = join(dir, 'nested', 'a.sqlite');
    const store = await Store.open({ engine: 'sqlite', file });
    await store.close();
    const db = new Database(file, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  it('migrates the sessions of an older store to the application, so no demo purge ever deletes them', async () => {
    const file = join(dir, 'f.sqlite');
    const db = new Database(file);
    db.exec(
      migrations
        .slice(0, 2)
        .map((migration) => migrationSql(migration, 'sqlite'))
        .join(''),
    );
    db.pragma('user_version = 2');
    db.prepare("INSERT INTO projects VALUES ('1', 'opentok', 'P', 's', NULL, 1, 0)").run();
    db.prepare(
      "INSERT INTO sessions VALUES ('1_old', '1', 'relayed', 'manual', NULL, 0, NULL, NULL, 0)",
    ).run();
    db.close();
    const store = await Store.open({ engine: 'sqlite', file });
    assert.equal((await store.sessions.find('1_old'))?.origin, 'api');
    assert.equal(await store.sessions.deleteOldDemoSessions(Date.now(), []), 0);
    assert.deepEqual(
      [await store.sessions.count('1', 'api'), await store.sessions.count('1', 'demo')],
      [1, 0],
    );
    await store.close();
  });
});
