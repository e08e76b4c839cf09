import pg from 'pg';
import type { Logger } from 'pino';
import { migrationSql, migrations, type Migration } from './migrations.js';
import type { SqlClient, SqlValue } from './SqlClient.js';
import type { StoreDatabase } from './StoreDatabase.js';

export interface PostgresOptions {
  /** `postgres://user:password@host:port/database` (or `postgresql://`). */
  readonly url: string;
  /** Connections the pool opens at most. Default: 10. */
  readonly poolSize?: number;
  /** Longest a statement may run before the server cancels it, in ms. Default: 10000. */
  readonly statementTimeoutMs?: number;
  /** Longest a statement waits for a connection (or a new one takes to open), in ms. Default: 10000. */
  readonly connectTimeoutMs?: number;
  /** Where the pool's errors on idle connections (the server went away) are logged. */
  readonly logger?: Logger;
}

/** The advisory lock nodes take while migrating, so that each migration is applied once. */
const migrationLock = 0x7061726c; // "parl"

/**
 * A cluster's engine: a pool of connections to one PostgreSQL database. Statements are sent
 * with their parameters apart (`$n`), never spliced in; a transaction holds one connection of
 * the pool from BEGIN to COMMIT or ROLLBACK. At open, the migrations the database lacks are
 * applied under an advisory lock, so that nodes starting together apply each once.
 */
export class PostgresDatabase implements StoreDatabase {
  readonly dialect = 'postgres';
  readonly schemaVersion: number;
  readonly #pool: pg.Pool;
  readonly #client: SqlClient;
  #closed: Promise<void> | null = null;

  private constructor(pool: pg.Pool, schemaVersion: number) {
    this.#pool = pool;
    this.schemaVersion = schemaVersion;
    this.#client = clientOn(pool);
  }

  /**
   * Connects, brings the schema up to date and returns the database; a database that cannot be
   * reached (refused, wrong password, missing) is an error naming the server and the cause.
   */
  static async open(options: PostgresOptions): Promise<PostgresDatabase> {
    const url = new URL(options.url);
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      statement_timeout: options.statementTimeoutMs ?? 10_000,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      application_name: 'parlor',
      types,
    });
    pool.on('error', (error) => {
      options.logger?.warn({ err: error }, 'a PostgreSQL connection of the pool failed');
    });
    try {
      return new PostgresDatabase(pool, await migrate(pool));
    } catch (error) {
      await pool.end().catch(() => undefined);
      if (error instanceof SchemaError) throw error;
      const host = url.hostname || (url.searchParams.get('host') ?? 'localhost');
      const where = `${host}:${url.port || 5432}${url.pathname}`;
      throw new Error(`PostgreSQL at ${where} cannot be used: ${describe(error)}`, { cause: error });
    }
  }

  all<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]> {
    return this.#client.all<Row>(sql, params);
  }

  get<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row | undefined> {
    return this.#client.get<Row>(sql, params);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.#client.run(sql, params);
  }

  async transaction<T>(fn: (client: SqlClient) => Promise<T>): Promise<T> {
    const connection = await this.#pool.connect();
    // A connection that fails between two statements would otherwise throw on the process.
    let failure: Error | undefined;
    const onError = (error: Error): void => {
      failure = error;
    };
    connection.on('error', onError);
    try {
      // Serializable, as SQLite's are: a transaction that raced another fails rather than
      // writing over what the other read (two nodes each making their project the default).
      await connection.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      try {
        const value = await fn(clientOn(connection));
        await connection.query('COMMIT');
        return value;
      } catch (error) {
        await connection.query('ROLLBACK').catch((rollbackError: unknown) => {
          failure ??= rollbackError as Error;
        });
        throw error;
      }
    } finally {
      connection.off('error', onError);
      // A broken connection is closed rather than handed to the next statement.
      connection.release(failure);
    }
  }

  /** Lets the statements under way end and closes the pool; idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#pool.end();
    return this.#closed;
  }
}

/** The store's own refusal of a database (its schema is newer than this Parlor). */
class SchemaError extends Error {}

function clientOn(queryable: pg.Pool | pg.PoolClient): SqlClient {
  const query = (sql: string, params: readonly SqlValue[] = []): Promise<pg.QueryResult> =>
    queryable.query(positional(sql), params as SqlValue[]);
  return {
    dialect: 'postgres',
    all: async <Row>(sql: string, params?: readonly SqlValue[]) => (await query(sql, params)).rows as Row[],
    get: async <Row>(sql: string, params?: readonly SqlValue[]) =>
      (await query(sql, params)).rows[0] as Row | undefined,
    run: async (sql, params) => (await query(sql, params)).rowCount ?? 0,
  };
}

/** The SQL with PostgreSQL's `$1, $2, …` for the shared `?` placeholders (none sits in a literal). */
const positionalSql = new Map<string, string>();
function positional(sql: string): string {
  let converted = positionalSql.get(sql);
  if (converted === undefined) {
    let n = 0;
    converted = sql.replace(/\?/g, () => `$${++n}`);
    positionalSql.set(sql, converted);
  }
  return converted;
}

/** BIGINTs (millisecond times, sizes, counts) arrive as text: parsed to numbers, which they fit. */
const types = new pg.TypeOverrides();
types.setTypeParser(pg.types.builtins.INT8, 'text', parseBigint);

export function parseBigint(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value))
    throw new RangeError(`${text} is beyond the integers a number holds exactly`);
  return value;
}

/** Applies the migrations the database lacks; returns its schema version. */
async function migrate(pool: pg.Pool): Promise<number> {
  const connection = await pool.connect();
  try {
    // Waiting for another node's migrations may take longer than a statement may.
    await connection.query('SET statement_timeout = 0');
    // Session-level: released by the unlock below, or by the server if this connection dies.
    await connection.query('SELECT pg_advisory_lock($1)', [migrationLock]);
    try {
      await connection.query(
        'CREATE TABLE IF NOT EXISTS parlor_schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
      );
      const { rows } = await connection.query<{ version: number }>(
        'SELECT COALESCE(MAX(version), 0) AS version FROM parlor_schema_migrations',
      );
      const applied = rows[0]?.version ?? 0;
      if (applied > migrations.length) {
        throw new SchemaError(
          `The store's schema version ${applied} is newer than this Parlor knows (${migrations.length})`,
        );
      }
      for (let version = applied + 1; version <= migrations.length; version++) {
        await connection.query('BEGIN');
        try {
          await connection.query(migrationSql(migrations[version - 1] as Migration, 'postgres'));
          await connection.query(
            'INSERT INTO parlor_schema_migrations (version, applied_at) VALUES ($1, $2)',
            [version, Date.now()],
          );
          await connection.query('COMMIT');
        } catch (error) {
          await connection.query('ROLLBACK');
          throw error;
        }
      }
      return migrations.length;
    } finally {
      await connection.query('SELECT pg_advisory_unlock($1)', [migrationLock]);
      await connection.query('RESET statement_timeout');
    }
  } finally {
    connection.release();
  }
}

/** What went wrong, in one line: node gives an AggregateError without a message when every address refused. */
function describe(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') return describe(error.errors[0]);
  if (error instanceof Error) return error.message || ((error as { code?: string }).code ?? error.name);
  return String(error);
}
