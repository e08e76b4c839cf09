import { ParlorError, type SessionSettings } from '@parlor/protocol';
import { mintSessionId } from '../auth/sessionId.js';
import type { SessionOrigin, SessionRecord } from '../store/SessionRepository.js';
import type { Store } from '../store/Store.js';

/**
 * Sessions: created with their settings. The application's never expire and are never deleted;
 * the demo's are marked as such and purged once old (`purgeDemoSessions`).
 */
export class SessionService {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** A new session; `origin` says who asked for it. Default origin: the application (`api`). */
  async create(
    apiKey: string,
    settings: SessionSettings,
    origin: SessionOrigin = 'api',
  ): Promise<SessionRecord> {
    const createdAt = Date.now();
    const sessionId = mintSessionId({ apiKey, location: settings.location, createdAt });
    const session: SessionRecord = { ...settings, sessionId, apiKey, origin, createdAt };
    await this.#store.sessions.insert(session);
    return session;
  }

  /** The session, if it exists and belongs to this project; otherwise SESSION_NOT_FOUND. */
  async get(apiKey: string, sessionId: string): Promise<SessionRecord> {
    const session = await this.#store.sessions.find(sessionId);
    if (!session || session.apiKey !== apiKey) throw new ParlorError('SESSION_NOT_FOUND', sessionId);
    return session;
  }

  /** The project's sessions created through its API, newest first, at most `limit`. */
  recent(apiKey: string, limit: number): Promise<SessionRecord[]> {
    return this.#store.sessions.recent(apiKey, limit);
  }

  /** The session whatever its project, if it exists. */
  find(sessionId: string): Promise<SessionRecord | undefined> {
    return this.#store.sessions.find(sessionId);
  }

  /** How many sessions the project has: the application's own, or with `demo` the demo's. */
  count(apiKey: string, origin: SessionOrigin = 'api'): Promise<number> {
    return this.#store.sessions.count(apiKey, origin);
  }

  /**
   * Deletes the demo sessions created before `createdBefore` (Unix ms) but those in `keep` (the
   * live ones); returns how many it deleted.
   */
  purgeDemoSessions(createdBefore: number, keep: readonly string[]): Promise<number> {
    return this.#store.sessions.deleteOldDemoSessions(createdBefore, keep);
  }
}
