import type { SqlClient } from './SqlClient.js';

/** Someone who may log in to the console. */
export interface Operator {
  readonly name: string;
  /** The password's hash, with its function and parameters (see `console/passwords.ts`). */
  readonly passwordHash: string;
  /** Unix milliseconds. */
  readonly createdAt: number;
}

/** An operator's login session: the cookie's value is never stored, only its SHA-256. */
export interface OperatorSession {
  readonly tokenHash: string;
  readonly name: string;
  /** The value every change must carry in its `X-CSRF-Token` header. */
  readonly csrfToken: string;
  /** Unix milliseconds. */
  readonly createdAt: number;
  /** Unix milliseconds. */
  readonly expiresAt: number;
}

interface OperatorRow {
  name: string;
  password_hash: string;
  created_at: number;
}

interface SessionRow {
  token_hash: string;
  name: string;
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

/** Console operators and their login sessions. */
export class OperatorRepository {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /** Adds the operator, or sets the password of the one of that name. */
  async put(operator: Operator): Promise<void> {
    await this.#sql.run(
      `INSERT INTO operators (name, password_hash, created_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash`,
      [operator.name, operator.passwordHash, operator.createdAt],
    );
  }

  async find(name: string): Promise<Operator | undefined> {
    const row = await this.#sql.get<OperatorRow>('SELECT * FROM operators WHERE name = ?', [name]);
    return row && { name: row.name, passwordHash: row.password_hash, createdAt: row.created_at };
  }

  async count(): Promise<number> {
    const row = await this.#sql.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM operators');
    return Number(row?.n ?? 0);
  }

  async addSession(session: OperatorSession): Promise<void> {
    const { tokenHash, name, csrfToken, createdAt, expiresAt } = session;
    await this.#sql.run(
      'INSERT INTO operator_sessions (token_hash, name, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
      [tokenHash, name, csrfToken, createdAt, expiresAt],
    );
  }

  /** The session with this hash, if it has not expired at `now` (Unix ms). */
  async findSession(tokenHash: string, now: number): Promise<OperatorSession | undefined> {
    const row = await this.#sql.get<SessionRow>(
      'SELECT * FROM operator_sessions WHERE token_hash = ? AND expires_at > ?',
      [tokenHash, now],
    );
    return (
      row && {
        tokenHash: row.token_hash,
        name: row.name,
        csrfToken: row.csrf_token,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
      }
    );
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.#sql.run('DELETE FROM operator_sessions WHERE token_hash = ?', [tokenHash]);
  }

  /** Ends every session of the operator (a password change). */
  async deleteSessionsOf(name: string): Promise<void> {
    await this.#sql.run('DELETE FROM operator_sessions WHERE name = ?', [name]);
  }

  /** Forgets the sessions expired at `now` (Unix ms). */
  async deleteExpiredSessions(now: number): Promise<void> {
    await this.#sql.run('DELETE FROM operator_sessions WHERE expires_at <= ?', [now]);
  }
}
