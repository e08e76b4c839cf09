import { connectionInfoPath } from '@parlor/protocol';
import type { Logger } from './Logger.js';

/** The node hosting a session, as the server said. */
export interface SessionHost {
  /** The node's base URL. */
  readonly url: string;
  /** Whether the server is a cluster (the answer named a node): the host may change. */
  readonly clustered: boolean;
}

/**
 * Where the session's clients connect: the node hosting it, which any node of the server tells
 * (as OpenTok.js asks the API for a session's messaging server before it connects). `apiUrl`
 * itself when the server answers that it is the host; null when it does not answer (the
 * session's host may be failing over, or the token is refused: the caller decides).
 */
export async function locateHost(
  apiUrl: string,
  sessionId: string,
  token: string,
  timeoutMs: number,
  logger: Logger,
): Promise<SessionHost | null> {
  const url = `${apiUrl.replace(/\/+$/, '')}${connectionInfoPath(sessionId)}`;
  try {
    const response = await fetch(url, {
      headers: { 'X-TB-TOKEN-AUTH': token },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) {
      logger.debug(`connection info for ${sessionId}: HTTP ${response.status}`);
      return null;
    }
    const info = (await response.json()) as { apiUrl?: unknown; nodeId?: unknown };
    return {
      url: typeof info.apiUrl === 'string' ? info.apiUrl : apiUrl,
      clustered: typeof info.nodeId === 'string',
    };
  } catch (error) {
    logger.debug(`connection info for ${sessionId} failed`, error);
    return null;
  }
}
