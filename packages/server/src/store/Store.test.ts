import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { migrations } from './migrations.js';
import { Store } from './Store.js';

const dir = mkdtempSync(join(tmpdir(), 'parlor-store-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the store', () => {
  it('creates its folder and file, applies every migration and uses WAL', () => {
    const file = join(dir, 'nested', 'a.sqlite');
    const store = Store.open(file);
    assert.equal(store.schemaVersion, migrations.length);
    store.close();
    const db = new Database(file, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  it('reopens an existing file without applying migrations again, keeping its rows', () => {
    const file = join(dir, 'b.sqlite');
    const first = Store.open(file);
    first.projects.insert({ apiKey: '1', name: 'P', apiSecret: 's', isDefault: false, createdAt: 1 });
    first.close();
    const second = Store.open(file);
    assert.equal(second.projects.find('1')?.name, 'P');
    second.close();
  });

  it('refuses a file whose schema is newer than this Parlor knows', () => {
    const file = join(dir, 'c.sqlite');
    const db = new Database(file);
    db.pragma(`user_version = ${migrations.length + 1}`);
    db.close();
    assert.throws(() => Store.open(file), /schema version .* is newer/);
  });

  it('rolls back a transaction whose function throws', () => {
    const store = Store.open(join(dir, 'd.sqlite'));
    assert.throws(() =>
      store.transaction(() => {
        store.projects.insert({ apiKey: '2', name: 'Q', apiSecret: 's', isDefault: false, createdAt: 1 });
        throw new Error('boom');
      }),
    );
    assert.equal(store.projects.find('2'), undefined);
    store.close();
  });

  it('migrates the sessions of an older store to the application, so no demo purge ever deletes them', () => {
    const file = join(dir, 'f.sqlite');
    const db = new Database(file);
    db.exec(migrations.slice(0, 2).join(''));
    db.pragma('user_version = 2');
    db.prepare("INSERT INTO projects VALUES ('1', 'opentok', 'P', 's', NULL, 1, 0)").run();
    db.prepare(
      "INSERT INTO sessions VALUES ('1_old', '1', 'relayed', 'manual', NULL, 0, NULL, NULL, 0)",
    ).run();
    db.close();
    const store = Store.open(file);
    assert.equal(store.sessions.find('1_old')?.origin, 'api');
    assert.equal(store.sessions.deleteOldDemoSessions(Date.now(), []), 0);
    assert.deepEqual([store.sessions.count('1', 'api'), store.sessions.count('1', 'demo')], [1, 0]);
    store.close();
  });

  it('close is idempotent', () => {
    const store = Store.open(join(dir, 'e.sqlite'));
    store.close();
    store.close();
  });
});
