import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrationSql, migrations, type Migration } from './migrations.js';
import type { SqlClient, SqlValue } from './SqlClient.js';
import type { StoreDatabase } from './StoreDatabase.js';

/**
 * The embedded engine: one SQLite file (WAL) on one synchronous connection. Statements run at
 * once; a transaction's function may await, so while one is open every statement from outside
 * it waits for its end: nothing else ever lands inside it, or is rolled back with it.
 */
export class SqliteDatabase implements StoreDatabase {
  readonly dialect = 'sqlite';
  readonly schemaVersion: number;
  readonly #db: Database.Database;
  /** Prepared statements by SQL text (the repositories' statements, a bounded set). */
  readonly #statements = new Map<string, Database.Statement>();
  /** Settles when the last transaction queued has ended. */
  #transactions: Promise<void> = Promise.resolve();
  /** Transactions queued or open. */
  #pending = 0;
  /** Runs statements without waiting: the client of the transaction that is open. */
  readonly #inside: SqlClient;

  private constructor(db: Database.Database, schemaVersion: number) {
    this.#db = db;
    this.schemaVersion = schemaVersion;
    this.#inside = {
      dialect: 'sqlite',
      all: (sql, params) => settle(() => this.#statement(sql).all(...bind(params)) as never),
      get: (sql, params) => settle(() => this.#statement(sql).get(...bind(params)) as never),
      run: (sql, params) => settle(() => this.#statement(sql).run(...bind(params)).changes),
    };
  }

  /** Opens (creating if needed) the store file and brings its schema up to date. */
  static open(file: string): SqliteDatabase {
    mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      // In WAL mode NORMAL loses no committed transaction when the process crashes; only a
      // power loss may roll back the last ones. FULL would cost an fsync per session create.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      return new SqliteDatabase(db, migrate(db));
    } catch (error) {
      db.close();
      throw error;
    }
  }

  all<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]> {
    return this.#outside(() => this.#inside.all<Row>(sql, params));
  }

  get<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row | undefined> {
    return this.#outside(() => this.#inside.get<Row>(sql, params));
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.#outside(() => this.#inside.run(sql, params));
  }

  transaction<T>(fn: (client: SqlClient) => Promise<T>): Promise<T> {
    this.#pending++;
    const result = this.#transactions.then(async () => {
      try {
        this.#db.exec('BEGIN');
        try {
          const value = await fn(this.#inside);
          this.#db.exec('COMMIT');
          return value;
        } catch (error) {
          if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
          throw error;
        }
      } finally {
        this.#pending--;
      }
    });
    this.#transactions = result.then(noop, noop);
    return result;
  }

  /** Waits for the transactions under way, folds the WAL into the database file and closes it; idempotent. */
  async close(): Promise<void> {
    await this.#transactions;
    if (!this.#db.open) return;
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
    this.#db.close();
  }

  /** Runs a statement from outside any transaction: at once, or after those queued. */
  #outside<T>(statement: () => Promise<T>): Promise<T> {
    return this.#pending === 0 ? statement() : this.#transactions.then(statement);
  }

  #statement(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

function noop(): void {}

/** Runs a synchronous statement, its exception as a rejection. */
async function settle<T>(statement: () => T): Promise<T> {
  return statement();
}

/** better-sqlite3 binds no booleans: SQLite's are 0 and 1. */
function bind(params: readonly SqlValue[] = []): (string | number | null)[] {
  return params.map((value) => (typeof value === 'boolean' ? (value ? 1 : 0) : value));
}

/** Applies the migrations the file lacks, each in its own transaction; returns the schema version. */
function migrate(db: Database.Database): number {
  const applied = db.pragma('user_version', { simple: true }) as number;
  if (applied > migrations.length) {
    throw new Error(
      `The store's schema version ${applied} is newer than this Parlor knows (${migrations.length})`,
    );
  }
  for (let version = applied + 1; version <= migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrationSql(migrations[version - 1] as Migration, 'sqlite'));
      db.pragma(`user_version = ${version}`);
    })();
  }
  return migrations.length;
}
