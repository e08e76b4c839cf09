import type { Logger } from 'pino';
import { OpenTok } from '@parlor/server-sdk';
import type { MediaMode, SessionSettings } from '@parlor/protocol';
import { InvalidStateError } from '../InvalidStateError.js';
import type { SessionService } from '../sessions/SessionService.js';
import type { SessionOrigin } from '../store/SessionRepository.js';
import { TokenBucket } from '../signaling/TokenBucket.js';
import { AddressBuckets } from './AddressBuckets.js';

/** How far the demo goes for strangers. */
const demoLimits = {
  /** How long a demo token is valid, in seconds. */
  tokenLifetimeSeconds: 3600,
  /**
   * How long the TURN credentials of a connection to a demo session are valid, in seconds (the
   * server's `--turn-credential-lifetime` when shorter): a demo call through TURN lasts an hour.
   */
  turnCredentialLifetimeSeconds: 3600,
  /** Demo tokens one address may get per minute, and at once. */
  tokensPerMinute: 10,
  tokenBurst: 10,
  /** New demo sessions one address may make per minute, and at once. */
  sessionsPerMinute: 2,
  sessionBurst: 5,
  /** New demo sessions all addresses together may make per minute, and at once. */
  globalSessionsPerMinute: 30,
  /** Addresses whose requests are remembered at most. */
  maxAddresses: 10_000,
  /** Age past which a demo session nobody is in is deleted, in ms. */
  maxSessionAgeMs: 24 * 60 * 60 * 1000,
  /** How often old demo sessions are looked for, in ms (and once at start). */
  purgeIntervalMs: 60 * 60 * 1000,
} as const;

export interface DemoServiceOptions {
  readonly sessions: SessionService;
  /** The API key of the project whose sessions and tokens the demo uses (the default project). */
  readonly apiKey: string;
  /** That project's API secret now (the console may rotate it). */
  readonly apiSecret: () => Promise<string>;
  /** The IDs of the sessions someone is connected to now: the purge keeps them. */
  readonly liveSessionIds: () => readonly string[];
  readonly logger: Logger;
}

/** A publisher token for a demo session. */
export interface DemoCredentials {
  readonly apiKey: string;
  readonly sessionId: string;
  readonly token: string;
}

/** Why the demo refused a request: over a rate limit, and when to try again. */
export interface DemoRefusal {
  readonly detail: string;
  readonly retryAfterSeconds: number;
}

/** The demo's sessions: relayed for the video chat, routed for the network test page. */
function demoSessionSettings(mediaMode: MediaMode): SessionSettings {
  return {
    mediaMode,
    archiveMode: 'manual',
    location: null,
    e2ee: false,
    archiveName: null,
    archiveResolution: null,
  };
}

/**
 * The demo's sessions and tokens. It mints short-lived publisher tokens only for sessions it
 * created itself (marked `demo` in the store), limits how many tokens and sessions
 * each client address and everyone together get, and deletes its sessions once they are old and
 * nobody is in them (at start, then periodically).
 */
export class DemoService {
  readonly #sessions: SessionService;
  readonly #apiKey: string;
  readonly #apiSecret: () => Promise<string>;
  readonly #liveSessionIds: () => readonly string[];
  readonly #logger: Logger;
  readonly #tokens: AddressBuckets;
  readonly #newSessions: AddressBuckets;
  readonly #allNewSessions: TokenBucket;
  readonly #purgeTimer: NodeJS.Timeout;
  #closed = false;

  constructor(options: DemoServiceOptions) {
    this.#sessions = options.sessions;
    this.#apiKey = options.apiKey;
    this.#apiSecret = options.apiSecret;
    this.#liveSessionIds = options.liveSessionIds;
    this.#logger = options.logger.child({ component: 'demo' });
    this.#tokens = new AddressBuckets({
      perMinute: demoLimits.tokensPerMinute,
      burst: demoLimits.tokenBurst,
      maxAddresses: demoLimits.maxAddresses,
    });
    this.#newSessions = new AddressBuckets({
      perMinute: demoLimits.sessionsPerMinute,
      burst: demoLimits.sessionBurst,
      maxAddresses: demoLimits.maxAddresses,
    });
    this.#allNewSessions = new TokenBucket({
      ratePerSecond: demoLimits.globalSessionsPerMinute / 60,
      capacity: demoLimits.globalSessionsPerMinute,
    });
    const purge = (): void => {
      this.purge().catch((error: unknown) => {
        this.#logger.error({ err: error }, 'old demo sessions could not be deleted');
      });
    };
    purge();
    this.#purgeTimer = setInterval(purge, demoLimits.purgeIntervalMs).unref();
  }

  /**
   * A publisher token for the demo session `requested` when the demo created it, else for a new
   * demo session, relayed unless `mediaMode` says routed (the network test needs the Media
   * Router); a refusal when `address` (the client's socket address) or everyone together asked
   * too often.
   */
  async credentials(
    address: string,
    requested: string | undefined,
    mediaMode: MediaMode = 'relayed',
  ): Promise<DemoCredentials | DemoRefusal> {
    if (this.#closed) throw new InvalidStateError('the demo is closed');
    if (!this.#tokens.take(address)) {
      return this.#refusal('too many demo tokens from your address', this.#tokens.retryAfterSeconds);
    }
    let sessionId = await this.#ownSession(requested);
    if (sessionId === undefined) {
      if (!this.#newSessions.take(address)) {
        return this.#refusal(
          'too many new demo sessions from your address',
          this.#newSessions.retryAfterSeconds,
        );
      }
      if (!this.#allNewSessions.take()) {
        const retryAfterSeconds = Math.ceil(60 / demoLimits.globalSessionsPerMinute);
        return this.#refusal('too many new demo sessions on this server', retryAfterSeconds);
      }
      sessionId = (await this.#sessions.create(this.#apiKey, demoSessionSettings(mediaMode), 'demo'))
        .sessionId;
    }
    const expireTime = Math.floor(Date.now() / 1000) + demoLimits.tokenLifetimeSeconds;
    const opentok = new OpenTok(this.#apiKey, await this.#apiSecret());
    const token = opentok.generateToken(sessionId, { role: 'publisher', expireTime });
    return { apiKey: this.#apiKey, sessionId, token };
  }

  /**
   * How long TURN credentials handed to a connection to a session of this origin may be valid,
   * in seconds: the demo's bound for a demo session, undefined (no bound of the demo's) for any other.
   */
  turnCredentialLifetimeFor(origin: SessionOrigin | undefined): number | undefined {
    return origin === 'demo' ? demoLimits.turnCredentialLifetimeSeconds : undefined;
  }

  /** Deletes the demo sessions older than the bound that nobody is in; returns how many. */
  async purge(): Promise<number> {
    const createdBefore = Date.now() - demoLimits.maxSessionAgeMs;
    const deleted = await this.#sessions.purgeDemoSessions(createdBefore, this.#liveSessionIds());
    if (deleted > 0) this.#logger.info({ deleted }, 'old demo sessions deleted');
    return deleted;
  }

  /** Stops the periodic purge; idempotent. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#purgeTimer);
  }

  /** The session, when it is one the demo created in its project; otherwise undefined. */
  async #ownSession(sessionId: string | undefined): Promise<string | undefined> {
    if (sessionId === undefined || sessionId === '') return undefined;
    const session = await this.#sessions.find(sessionId);
    return session?.origin === 'demo' && session.apiKey === this.#apiKey ? sessionId : undefined;
  }

  #refusal(reason: string, retryAfterSeconds: number): DemoRefusal {
    this.#logger.debug({ reason }, 'demo request refused');
    return { detail: `${reason}; try again in ${retryAfterSeconds} s`, retryAfterSeconds };
  }
}
