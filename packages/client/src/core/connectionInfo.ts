import { connectionInfoPath } from '@parlor/protocol';
import type { Logger } from './Logger.js';

/**
 * Where the session's clients connect: the node hosting it, which any node of the server tells
 * (as OpenTok.js asks the API for a session's messaging server before it connects). The base
 * URL of the node, or `apiUrl` itself when the server answers that it is the host, or when it
 * does not answer: the connect that follows then reports what is wrong (token, session, network)
 * exactly as it always has.
 */
export async function hostOf(
  apiUrl: string,
  sessionId: string,
  token: string,
  timeoutMs: number,
  logger: Logger,
): Promise<string> {
  const url = `${apiUrl.replace(/\/+$/, '')}${connectionInfoPath(sessionId)}`;
  try {
    const response = await fetch(url, {
      headers: { 'X-TB-TOKEN-AUTH': token },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) {
      logger.debug(`connection info for ${sessionId}: HTTP ${response.status}`);
      return apiUrl;
    }
    const info = (await response.json()) as { apiUrl?: unknown };
    return typeof info.apiUrl === 'string' ? info.apiUrl : apiUrl;
  } catch (error) {
    logger.debug(`connection info for ${sessionId} failed`, error);
    return apiUrl;
  }
}
