import type { SessionService } from '../sessions/SessionService.js';
import type { SessionRecord } from '../store/SessionRepository.js';
import type { LiveSessions, LiveState } from './LiveSessions.js';

/** A session as the console's list (and `parlor session list`) shows it. */
export interface SessionSummary {
  readonly sessionId: string;
  readonly mediaMode: string;
  readonly archiveMode: string;
  readonly location: string | null;
  /** Unix milliseconds. */
  readonly createdAt: number;
  /** Who is in it now, on the node hosting it; null when nobody is. */
  readonly live: LiveState | null;
}

/** Sessions and archives a project's lists show, newest first. */
export const recentCount = 50;

export function sessionSummary(session: SessionRecord, live: LiveState | null): SessionSummary {
  const { sessionId, mediaMode, archiveMode, location, createdAt } = session;
  return { sessionId, mediaMode, archiveMode, location, createdAt, live };
}

/** The project's newest API sessions, each with its live state asked of the node hosting it. */
export async function recentSessions(
  sessions: SessionService,
  live: LiveSessions,
  apiKey: string,
): Promise<SessionSummary[]> {
  const recent = await sessions.recent(apiKey, recentCount);
  const states = await live.stateOf(recent.map((session) => session.sessionId));
  return recent.map((session) => sessionSummary(session, states.get(session.sessionId) ?? null));
}
