import { join } from 'node:path';
import type { SessionSummary } from '../console/recentSessions.js';
import type { CallbackKindName } from '../console/testCallback.js';

/**
 * The local control channel (docs/console.md): how the `parlor` CLI reaches the server running
 * on the same data directory, with no network door. A Unix domain socket in a directory only
 * the data directory's owner may enter; one request per connection: a JSON object on one line
 * (at most `maxControlRequestBytes`), answered by one JSON line, then closed.
 */
export function controlSocketPath(dataDir: string): string {
  return join(dataDir, 'control', 'parlor.sock');
}

/** The longest request line, newline included. */
export const maxControlRequestBytes = 4096;

/** What the CLI may ask, and what each answers besides `ok`. */
export interface ControlOperations {
  /** Disconnects the project's clients connected to this node (it was suspended). */
  disconnectProject: { request: { apiKey: string }; answer: { disconnected: number } };
  /** Queues a test event to the project's callback URL of that kind, as the console does. */
  testCallback: { request: { apiKey: string; kind: CallbackKindName }; answer: { url: string } };
  /** The project's newest sessions with their live state, as the console lists them. */
  recentSessions: { request: { apiKey: string }; answer: { sessions: SessionSummary[] } };
  /** Deletes an available archive of the project, as REST's DELETE does. */
  deleteArchive: { request: { apiKey: string; archiveId: string }; answer: Record<string, never> };
}

export type ControlOperation = keyof ControlOperations;

export type ControlRequest<Op extends ControlOperation = ControlOperation> = {
  readonly op: Op;
} & ControlOperations[Op]['request'];

/** An answer: `{"ok":true,…}`, or `{"ok":false,"error":ID,"message":…}` with an ID of the error catalogue. */
export type ControlAnswer<Op extends ControlOperation = ControlOperation> =
  | ({ readonly ok: true } & ControlOperations[Op]['answer'])
  | { readonly ok: false; readonly error: string; readonly message: string };
