import { ParlorError, type SessionSettings } from '@parlor/protocol';
import { mintSessionId } from '../auth/sessionId.js';
import type { SessionRecord } from '../store/SessionRepository.js';
import type { Store } from '../store/Store.js';

/** Sessions: created with their settings, never expiring, never deleted. */
export class SessionService {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  create(apiKey: string, settings: SessionSettings): SessionRecord {
    const createdAt = Date.now();
    const sessionId = mintSessionId({ apiKey, location: settings.location, createdAt });
    const session: SessionRecord = { ...settings, sessionId, apiKey, createdAt };
    this.#store.sessions.insert(session);
    return session;
  }

  /** The session, if it exists and belongs to this project; otherwise SESSION_NOT_FOUND. */
  get(apiKey: string, sessionId: string): SessionRecord {
    const session = this.#store.sessions.find(sessionId);
    if (!session || session.apiKey !== apiKey) throw new ParlorError('SESSION_NOT_FOUND', sessionId);
    return session;
  }
}
