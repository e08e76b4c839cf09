import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { ParlorError } from '@parlor/protocol';
import { AddressBuckets } from '../demo/AddressBuckets.js';
import type { OperatorRepository, OperatorSession } from '../store/OperatorRepository.js';
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
}

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

/**
 * Who may use the console: operators with a password, logged in by a random cookie whose
 * SHA-256 the store keeps with a CSRF token (so a logout, or a restart of any node, ends it
 * everywhere). Logins are limited per client address. While there is no operator, a one-time
 * setup token (printed at start as a link) lets the first one be made.
 */
export class ConsoleAuth {
  readonly #operators: OperatorRepository;
  readonly #logger: Logger;
  readonly #lifetimeMs: number;
  readonly #attempts: AddressBuckets;
  readonly #maxHashes: number;
  readonly #purgeTimer: NodeJS.Timeout;
  /** SHA-256 of the setup token, while there is one. */
  #setupTokenHash: Buffer | null = null;
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
    this.#purgeTimer = setInterval(() => {
      this.#operators.deleteExpiredSessions(Date.now()).catch((error: unknown) => {
        this.#logger.error({ err: error }, 'expired console logins could not be forgotten');
      });
    }, purgeIntervalMs).unref();
  }

  /** A new one-time setup token when there is no operator yet (replacing any earlier one); else null. */
  async prepareSetup(): Promise<string | null> {
    if ((await this.#operators.count()) > 0) return null;
    const token = randomBytes(24).toString('base64url');
    this.#setupTokenHash = sha256(token);
    return token;
  }

  /** Makes the first operator with the setup token, and logs them in; the token then stops working. */
  async setup(token: unknown, name: unknown, password: unknown): Promise<ConsoleLogin> {
    const expected = this.#setupTokenHash;
    if (typeof token !== 'string' || expected === null || !timingSafeEqual(sha256(token), expected))
      throw new ParlorError('CONSOLE_SETUP_REFUSED');
    const problem = operatorNameProblem(name) ?? passwordProblem(password);
    if (problem !== null) throw new ParlorError('INVALID_REQUEST', problem);
    if ((await this.#operators.count()) > 0) {
      this.#setupTokenHash = null;
      throw new ParlorError('CONSOLE_SETUP_REFUSED');
    }
    this.#setupTokenHash = null;
    await createOperator(this.#operators, name as string, password as string);
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

  /** The login this cookie value belongs to, if it is current. */
  session(cookieValue: string): Promise<OperatorSession | undefined> {
    return this.#operators.findSession(sha256(cookieValue).toString('base64url'), Date.now());
  }

  /** Ends the login: its cookie is refused from now on, on every node. */
  async logout(cookieValue: string): Promise<void> {
    await this.#operators.deleteSession(sha256(cookieValue).toString('base64url'));
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
      tokenHash: sha256(cookieValue).toString('base64url'),
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

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
