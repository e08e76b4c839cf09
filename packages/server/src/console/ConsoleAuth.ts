import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ParlorError } from '@parlor/protocol';
import { AddressBuckets } from '../demo/AddressBuckets.js';
import type { OperatorRepository, OperatorToken } from '../store/OperatorRepository.js';
import { hashPassword, operatorNameProblem, passwordProblem, verifyPassword } from './passwords.js';

export interface ConsoleAuthOptions {
  readonly operators: OperatorRepository;
  readonly logger: Logger;
  /** How long a login lasts, in ms. Default: 43200000 (12 hours). */
  readonly sessionLifetimeMs?: number;
  /** Login attempts one address may make per minute, and at once. Default: 5. */
  readonly loginsPerMinute?: number;
  /** Password hashes computed at once (each takes 64 MiB); past it logins are refused for a second. Default: 4. */
  readonly maxConcurrentHashes?: number;
  /** API tokens kept, of all operators together. Default: 100. */
  readonly maxTokens?: number;
  /** How long a setup link works when nobody uses it, in ms. Default: 2592000000 (30 days). */
  readonly setupLifetimeMs?: number;
}

/**
 * Who a request of the console's API comes from: an operator logged in by cookie (whose changes
 * carry `csrfToken`) or by API token (no cookie, so no CSRF token).
 */
export interface ConsoleCaller {
  readonly name: string;
  readonly via: 'cookie' | 'token';
  /** The login's CSRF token; null for a caller without a cookie. */
  readonly csrfToken: string | null;
}

/** A new API token: `token` is given once, the store keeps its SHA-256. */
export interface NewOperatorToken {
  readonly token: string;
  readonly info: OperatorTokenInfo;
}

/** An API token as the console lists it. */
export type OperatorTokenInfo = Omit<OperatorToken, 'tokenHash'>;

/** A login: the cookie's value (given to the browser only) and the CSRF token of its changes. */
export interface ConsoleLogin {
  readonly cookieValue: string;
  readonly csrfToken: string;
  readonly name: string;
  /** Seconds the login lasts. */
  readonly maxAgeSeconds: number;
}

/** Why a login attempt was not even tried, and when to come back. */
export interface LoginRefusal {
  readonly detail: string;
  readonly retryAfterSeconds: number;
}

/** How often expired logins are forgotten, in ms. */
const purgeIntervalMs = 10 * 60 * 1000;
/** An API token's last use is recorded at most this often, in ms (one write, not one per call). */
const touchIntervalMs = 60 * 1000;
/** What every API token begins with, so that secret scanners and people know it. */
const tokenPrefix = 'parlor_op_';

/**
 * Who may use the console: operators with a password, logged in by a random cookie whose
 * SHA-256 the store keeps with a CSRF token (so a logout, or a restart of any node, ends it
 * everywhere), or by an API token they made (its SHA-256 kept likewise). Logins are limited per
 * client address. While there is no operator, a one-time setup token (printed at start as a
 * link, kept in the store so that it works on any node) lets the first one be made.
 */
export class ConsoleAuth {
  readonly #operators: OperatorRepository;
  readonly #logger: Logger;
  readonly #lifetimeMs: number;
  readonly #attempts: AddressBuckets;
  readonly #maxHashes: number;
  readonly #maxTokens: number;
  readonly #setupLifetimeMs: number;
  readonly #purgeTimer: NodeJS.Timeout;
  #hashing = 0;
  /** A hash to verify against when the name is unknown, so that the answer takes as long. */
  #decoyHash: Promise<string> | null = null;

  constructor(options: ConsoleAuthOptions) {
    this.#operators = options.operators;
    this.#logger = options.logger.child({ component: 'console' });
    this.#lifetimeMs = options.sessionLifetimeMs ?? 12 * 3600 * 1000;
    const perMinute = options.loginsPerMinute ?? 5;
    this.#attempts = new AddressBuckets({ perMinute, burst: perMinute });
    this.#maxHashes = options.maxConcurrentHashes ?? 4;
    this.#maxTokens = options.maxTokens ?? 100;
    this.#setupLifetimeMs = options.setupLifetimeMs ?? 30 * 24 * 3600 * 1000;
    this.#purgeTimer = setInterval(() => {
      this.#operators.deleteExpiredSessions(Date.now()).catch((error: unknown) => {
        this.#logger.error({ err: error }, 'expired console logins could not be forgotten');
      });
    }, purgeIntervalMs).unref();
  }

  /**
   * A new one-time setup token when there is no operator yet, else null. Each node that starts
   * without an operator makes one; any of them works once, on any node, until an operator exists.
   */
  async prepareSetup(): Promise<string | null> {
    if ((await this.#operators.count()) > 0) return null;
    const token = randomBytes(24).toString('base64url');
    const now = Date.now();
    await this.#operators.deleteSetupTokens(now - this.#setupLifetimeMs);
    await this.#operators.addSetupToken(hashOf(token), now);
    return token;
  }

  /** Makes the first operator with a setup token, and logs them in; every setup token then stops working. */
  async setup(token: unknown, name: unknown, password: unknown): Promise<ConsoleLogin> {
    if (typeof token !== 'string' || token.length > 100) throw new ParlorError('CONSOLE_SETUP_REFUSED');
    const problem = operatorNameProblem(name) ?? passwordProblem(password);
    if (problem !== null) throw new ParlorError('INVALID_REQUEST', problem);
    // Taken (deleted) first, so that a token works once even when two nodes are given it at once.
    const taken = await this.#operators.takeSetupToken(hashOf(token), Date.now() - this.#setupLifetimeMs);
    if (!taken || (await this.#operators.count()) > 0) throw new ParlorError('CONSOLE_SETUP_REFUSED');
    await createOperator(this.#operators, name as string, password as string);
    await this.#operators.deleteSetupTokens();
    this.#logger.info({ operator: name }, 'first console operator made with the setup link');
    return this.#open(name as string);
  }

  /** Logs in, or refuses before checking when `address` tried too often (or too many logins are being checked). */
  async login(address: string, name: unknown, password: unknown): Promise<ConsoleLogin | LoginRefusal> {
    if (!this.#attempts.take(address))
      return {
        detail: 'too many login attempts from your address',
        retryAfterSeconds: this.#attempts.retryAfterSeconds,
      };
    if (this.#hashing >= this.#maxHashes) return { detail: 'too many logins at once', retryAfterSeconds: 1 };
    if (typeof name !== 'string' || typeof password !== 'string' || passwordProblem(password) !== null) {
      throw new ParlorError('CONSOLE_LOGIN_FAILED');
    }
    this.#hashing += 1;
    try {
      const operator = await this.#operators.find(name);
      this.#decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
      const matches = await verifyPassword(password, operator?.passwordHash ?? (await this.#decoyHash));
      if (!operator || !matches) {
        this.#logger.info({ operator: name, address }, 'console login refused');
        throw new ParlorError('CONSOLE_LOGIN_FAILED');
      }
    } finally {
      this.#hashing -= 1;
    }
    this.#logger.info({ operator: name, address }, 'console login');
    return this.#open(name);
  }

  /** The operator this cookie value is the login of, if it is current. */
  async session(cookieValue: string): Promise<ConsoleCaller | undefined> {
    const login = await this.#operators.findSession(hashOf(cookieValue), Date.now());
    return login && { name: login.name, via: 'cookie', csrfToken: login.csrfToken };
  }

  /** The operator an API token acts as, if it exists (a revoked one does not). */
  async bearer(token: string): Promise<ConsoleCaller | undefined> {
    if (!token.startsWith(tokenPrefix) || token.length > 200) return undefined;
    const found = await this.#operators.findToken(hashOf(token));
    if (!found) return undefined;
    const now = Date.now();
    this.#operators.touchToken(found.tokenId, now, now - touchIntervalMs).catch((error: unknown) => {
      this.#logger.warn({ err: error }, "an API token's use could not be recorded");
    });
    return { name: found.name, via: 'token', csrfToken: null };
  }

  /** Makes an API token acting as operator `name`; the token is in this answer only. */
  async createToken(name: string, label: unknown): Promise<NewOperatorToken> {
    const made = await createOperatorToken(this.#operators, name, label, this.#maxTokens);
    this.#logger.info({ operator: name, tokenId: made.info.tokenId }, 'console API token made');
    return made;
  }

  /** Every API token, without their hashes. */
  tokens(): Promise<OperatorTokenInfo[]> {
    return listOperatorTokens(this.#operators);
  }

  /** Revokes an API token: it is refused from now on, on every node. */
  async revokeToken(tokenId: string, by: string): Promise<void> {
    await revokeOperatorToken(this.#operators, tokenId);
    this.#logger.info({ operator: by, tokenId }, 'console API token revoked');
  }

  /** Ends the login: its cookie is refused from now on, on every node. */
  async logout(cookieValue: string): Promise<void> {
    await this.#operators.deleteSession(hashOf(cookieValue));
  }

  /** Stops forgetting expired logins; idempotent. */
  close(): void {
    clearInterval(this.#purgeTimer);
  }

  async #open(name: string): Promise<ConsoleLogin> {
    const cookieValue = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    const now = Date.now();
    await this.#operators.addSession({
      tokenHash: hashOf(cookieValue),
      name,
      csrfToken,
      createdAt: now,
      expiresAt: now + this.#lifetimeMs,
    });
    return { cookieValue, csrfToken, name, maxAgeSeconds: Math.floor(this.#lifetimeMs / 1000) };
  }
}

/** Adds an operator (or sets the password of the one of that name, ending their logins). */
export async function createOperator(
  operators: OperatorRepository,
  name: string,
  password: string,
): Promise<void> {
  const problem = operatorNameProblem(name) ?? passwordProblem(password);
  if (problem !== null) throw new ParlorError('INVALID_REQUEST', problem);
  await operators.put({ name, passwordHash: await hashPassword(password), createdAt: Date.now() });
  await operators.deleteSessionsOf(name);
}

/** Makes an API token acting as operator `name` (`parlor admin token` and the console). */
export async function createOperatorToken(
  operators: OperatorRepository,
  name: string,
  label: unknown,
  maxTokens = 100,
): Promise<NewOperatorToken> {
  if (typeof label !== 'string' || label.trim() === '' || label.length > 100)
    throw new ParlorError('INVALID_REQUEST', 'label must be 1 to 100 characters');
  if (!(await operators.find(name))) throw new ParlorError('INVALID_REQUEST', `there is no operator ${name}`);
  if ((await operators.countTokens()) >= maxTokens) throw new ParlorError('CONSOLE_TOO_MANY_TOKENS');
  const token = `${tokenPrefix}${randomBytes(32).toString('base64url')}`;
  const info = {
    tokenId: randomBytes(8).toString('hex'),
    name,
    label: label.trim(),
    createdAt: Date.now(),
    lastUsedAt: null,
  };
  await operators.addToken({ ...info, tokenHash: hashOf(token) });
  return { token, info };
}

/** Every API token, without their hashes (the console's list and `parlor admin tokens`). */
export async function listOperatorTokens(operators: OperatorRepository): Promise<OperatorTokenInfo[]> {
  return (await operators.listTokens()).map(({ tokenHash: _hash, ...info }) => info);
}

/** Revokes an API token, on every node; CONSOLE_TOKEN_NOT_FOUND when there is none of that ID. */
export async function revokeOperatorToken(operators: OperatorRepository, tokenId: string): Promise<void> {
  if (!(await operators.deleteToken(tokenId))) throw new ParlorError('CONSOLE_TOKEN_NOT_FOUND');
}

/** The SHA-256 the store keeps of a secret (cookie, API or setup token), base64url. */
function hashOf(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}
