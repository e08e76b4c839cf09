/**
 * Every error Parlor reports: a stable id, the HTTP status the REST API answers with, and the
 * message. A `ParlorError` may add a detail after the message. Signaling clients see `code`:
 * OpenTok.js's numeric code (client-api.md §1.10), or the status where the entry names none.
 */
export const errorCatalogue = {
  AUTH_FAILED: { status: 403, code: 1004, message: 'Authentication failed' },
  INVALID_REQUEST: { status: 400, code: 1011, message: 'Invalid request' },
  SESSION_NOT_FOUND: { status: 404, code: 1005, message: 'Session not found' },
  ROUTE_NOT_FOUND: { status: 404, message: 'Not found' },
  TOKEN_REFUSED: { status: 403, code: 1004, message: 'Invalid token' },
  INTERNAL: { status: 500, code: 2000, message: 'Internal server error' },

  // Signaling and moderation (client-api.md §1.10; REST statuses per server-api.md §7).
  INVALID_SESSION_ID: { status: 400, code: 1005, message: 'Invalid session ID' },
  CONNECT_FAILED: { status: 400, code: 1006, message: 'Connect failed' },
  NOT_CONNECTED: { status: 409, code: 1010, message: 'Not connected' },
  MESSAGE_TOO_LARGE: { status: 413, message: 'Message too large' },
  RATE_LIMITED: { status: 429, message: 'Rate limit exceeded' },
  CONNECTION_LIMIT: { status: 429, code: 1027, message: 'Connection limit exceeded' },
  PUBLISH_NOT_PERMITTED: { status: 403, code: 1500, message: 'Unable to publish' },
  SUBSCRIBE_FAILED: { status: 403, code: 1501, message: 'Unable to subscribe' },
  // A media worker past its load thresholds (--media-admission-*). OpenTok.js documents no code
  // of its own for a full media server (client-api.md §1.10): what cannot be published or
  // subscribed fails with 1500 "Unable to Publish" or 1501 "Unable to Subscribe", which its
  // callbacks report; 503 as the cause is the server's, and passes.
  MEDIA_OVERLOADED_PUBLISH: {
    status: 503,
    code: 1500,
    message: 'Unable to publish: the media server is at capacity, try again later',
  },
  MEDIA_OVERLOADED_SUBSCRIBE: {
    status: 503,
    code: 1501,
    message: 'Unable to subscribe: the media server is at capacity, try again later',
  },
  FORCE_DISCONNECT_NOT_PERMITTED: { status: 403, code: 1520, message: 'Unable to force disconnect' },
  FORCE_UNPUBLISH_NOT_PERMITTED: { status: 403, code: 1530, message: 'Unable to force unpublish' },
  FORCE_UNPUBLISH_INVALID_STREAM: {
    status: 404,
    code: 1535,
    message: 'Force unpublish on an invalid stream',
  },
  FORCE_MUTE_NOT_PERMITTED: { status: 403, code: 1540, message: 'Unable to force mute' },
  SIGNAL_NOT_PERMITTED: { status: 403, message: 'Not permitted to signal' },
  SIGNAL_INVALID: { status: 400, message: 'Invalid signal' },
  SIGNAL_TOO_LARGE: { status: 413, message: 'Signal too large' },
  CONNECTION_NOT_FOUND: { status: 404, message: 'Connection not found' },
  STREAM_NOT_FOUND: { status: 404, message: 'Stream not found' },
  SUBSCRIPTION_NOT_FOUND: { status: 404, message: 'Subscription not found' },

  // Cluster (docs/cluster.md). A client that reached a node not hosting its session asks any
  // node for the session's connection info again (421: Misdirected Request, as HTTP/2 has it).
  SESSION_ELSEWHERE: {
    status: 421,
    message: 'The session is hosted by another node: ask for its connection info again',
  },
  CLUSTER_UNAVAILABLE: { status: 503, message: 'No node can host the session now, try again later' },
  // A REST call made again on the session's node (or a download streamed from the archive's)
  // that did not answer in time: 504, as a gateway whose upstream timed out.
  NODE_UNREACHABLE: { status: 504, message: 'The node hosting the session did not answer, try again' },

  // Archives (server-api.md §6) and callbacks (§7).
  ARCHIVE_NOT_FOUND: { status: 404, message: 'Archive not found' },
  ARCHIVE_STREAM_NOT_FOUND: { status: 404, message: 'Stream not found in the session' },
  ARCHIVE_SESSION_NOT_ROUTED: {
    status: 409,
    message: 'The session does not use the Media Router: only routed sessions can be archived',
  },
  // OpenTok documents no status for this; 409 as for a relayed session: the session's media cannot be recorded.
  ARCHIVE_SESSION_E2EE: {
    status: 409,
    message: 'The session is end-to-end encrypted: the Media Router cannot decode its media to archive it',
  },
  ARCHIVE_IN_PROGRESS: { status: 409, message: 'Recording already in progress' },
  ARCHIVE_NOT_RECORDING: { status: 409, message: 'The archive is not being recorded' },
  ARCHIVE_NOT_DELETABLE: {
    status: 409,
    message: 'Only an archive whose status is available or uploaded can be deleted',
  },
  // server-api.md names no answer for a server that cannot record: 503, as the cause is the
  // server's and lasts until its operator fixes it (409 would read as OpenTok's "already in
  // progress" in opentok-node, which drops the message; other statuses keep it).
  ARCHIVING_UNAVAILABLE: { status: 503, message: 'This server cannot record archives' },
  ARCHIVE_NOT_MANUAL: {
    status: 405,
    message: 'Unsupported stream mode: the archive is not in manual stream mode',
  },
  DOWNLOAD_REFUSED: { status: 403, message: 'Invalid or expired download link' },
  CALLBACK_NOT_FOUND: { status: 404, message: 'Callback not found' },

  // The console (/console): its operators' logins, and the projects it manages.
  CONSOLE_LOGIN_REQUIRED: { status: 401, message: 'Log in to the console first' },
  CONSOLE_LOGIN_FAILED: { status: 401, message: 'Wrong operator name or password' },
  CONSOLE_CSRF: { status: 403, message: 'Missing or wrong X-CSRF-Token header' },
  CONSOLE_SETUP_REFUSED: { status: 403, message: 'The setup link is wrong, used or no longer needed' },
  CONSOLE_TOKEN_REFUSED: { status: 401, message: 'The console API token is wrong or revoked' },
  CONSOLE_TOKEN_NOT_FOUND: { status: 404, message: 'Console API token not found' },
  CONSOLE_TOO_MANY_TOKENS: { status: 409, message: 'Too many console API tokens: revoke one first' },
  PROJECT_NOT_FOUND: { status: 404, message: 'Project not found' },

  // SIP interconnect (server-api.md §9.2).
  SIP_SESSION_NOT_ROUTED: {
    status: 409,
    message: 'The session does not use the Media Router: only routed sessions can dial out',
  },
  SIP_UNAVAILABLE: { status: 503, message: 'SIP interconnect is off on this server (--sip-port)' },
  SIP_CALL_NOT_FOUND: { status: 404, message: 'No SIP call' },
  SIP_CALL_LIMIT: { status: 429, message: 'Too many SIP calls in progress on this server' },
  SIP_SESSION_CALL_LIMIT: { status: 429, message: 'Too many SIP calls in progress in this session' },
} as const satisfies Record<string, { status: number; code?: number; message: string }>;

export type ErrorId = keyof typeof errorCatalogue;

/** The one error class of the catalogue; subclasses exist only where callers branch on them. */
export class ParlorError extends Error {
  override readonly name: string = 'ParlorError';
  readonly id: ErrorId;
  /** HTTP status of the REST answer. */
  readonly status: number;
  /** Code a signaling client sees. */
  readonly code: number;

  constructor(id: ErrorId, detail?: string, options?: ErrorOptions) {
    const entry = errorCatalogue[id];
    super(detail ? `${entry.message}: ${detail}` : entry.message, options);
    this.id = id;
    this.status = entry.status;
    this.code = 'code' in entry ? entry.code : entry.status;
  }
}
