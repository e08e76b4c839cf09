/** The engines the store runs on: embedded SQLite (one node) or PostgreSQL (a cluster). */
export type SqlDialect = 'sqlite' | 'postgres';

/** A value bound to a statement's `?` placeholder; booleans are 0/1 on SQLite. */
export type SqlValue = string | number | boolean | null;

/**
 * What the repositories run their SQL on: a database, or one transaction of it. Statements are
 * written once with `?` placeholders in the SQL both engines share; where they differ the
 * repository asks `dialect`. Integers come back as numbers on both (see `parseBigint`).
 */
export interface SqlClient {
  readonly dialect: SqlDialect;
  /** Every row the statement returns. */
  all<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** The first row, if any. */
  get<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row | undefined>;
  /** Runs a write; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

/** A boolean column: INTEGER 0/1 on SQLite, BOOLEAN on PostgreSQL. */
export function flag(value: number | boolean): boolean {
  return value === true || value === 1;
}
