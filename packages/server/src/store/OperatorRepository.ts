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

/** An operator's API token for the console's JSON API: the token is never stored, only its SHA-256. */
export interface OperatorToken {
  /** Public, names the token in the list and when revoking it. */
  readonly tokenId: string;
  readonly tokenHash: string;
  /** The operator it acts as. */
  readonly name: string;
  /** What the operator called it ("CI deploys"). */
  readonly label: string;
  /** Unix milliseconds. */
  readonly createdAt: number;
  /** Unix milliseconds, to the minute; null when never used. */
  readonly lastUsedAt: number | null;
}

interface TokenRow {
  token_id: string;
  token_hash: string;
  name: string;
  label: string;
  created_at: number;
  last_used_at: number | null;
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

  async addToken(token: OperatorToken): Promise<void> {
    const { tokenId, tokenHash, name, label, createdAt } = token;
    await this.#sql.run(
      'INSERT INTO operator_tokens (token_id, token_hash, name, label, created_at) VALUES (?, ?, ?, ?, ?)',
      [tokenId, tokenHash, name, label, createdAt],
    );
  }

  async findToken(tokenHash: string): Promise<OperatorToken | undefined> {
    const row = await this.#sql.get<TokenRow>('SELECT * FROM operator_tokens WHERE token_hash = ?', [
      tokenHash,
    ]);
    return row && tokenOf(row);
  }

  /** Every API token, of every operator, oldest first. */
  async listTokens(): Promise<OperatorToken[]> {
    const rows = await this.#sql.all<TokenRow>('SELECT * FROM operator_tokens ORDER BY created_at, token_id');
    return rows.map(tokenOf);
  }

  async countTokens(): Promise<number> {
    const row = await this.#sql.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM operator_tokens');
    return Number(row?.n ?? 0);
  }

  /** Records a use at `at` (Unix ms) when the last one recorded is older than `before`: one write a minute at most. */
  async touchToken(tokenId: string, at: number, before: number): Promise<void> {
    await this.#sql.run(
      'UPDATE operator_tokens SET last_used_at = ? WHERE token_id = ? AND (last_used_at IS NULL OR last_used_at < ?)',
      [at, tokenId, before],
    );
  }

  /** Whether there was such a token. */
  async deleteToken(tokenId: string): Promise<boolean> {
    return (await this.#sql.run('DELETE FROM operator_tokens WHERE token_id = ?', [tokenId])) > 0;
  }

  /** Keeps a setup token's hash, until `takeSetupToken` or an operator exists. */
  async addSetupToken(tokenHash: string, createdAt: number): Promise<void> {
    await this.#sql.run('INSERT INTO console_setup_tokens (token_hash, created_at) VALUES (?, ?)', [
      tokenHash,
      createdAt,
    ]);
  }

  /** Takes the setup token with this hash if it exists and was made after `since` (Unix ms): true once. */
  async takeSetupToken(tokenHash: string, since: number): Promise<boolean> {
    const taken = await this.#sql.run(
      'DELETE FROM console_setup_tokens WHERE token_hash = ? AND created_at > ?',
      [tokenHash, since],
    );
    return taken > 0;
  }

  /** Forgets every setup token (an operator exists), or those made before `before` (Unix ms). */
  async deleteSetupTokens(before = Number.MAX_SAFE_INTEGER): Promise<void> {
    await this.#sql.run('DELETE FROM console_setup_tokens WHERE created_at < ?', [before]);
  }
}

function tokenOf(row: TokenRow): OperatorToken {
  return {
    tokenId: row.token_id,
    tokenHash: row.token_hash,
    name: row.name,
    label: row.label,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}
