import { ClientError, type MediaFailure } from '../core/ClientError.js';

/**
 * OpenTok's error catalogue as this SDK raises it: for each code the engine or the server uses,
 * the `name` applications test and the title of the `exception` event (client-api.md §1.10).
 */
const byCode = {
  400: { name: 'OT_INVALID_PARAMETER', title: 'Invalid Parameter' },
  403: { name: 'OT_PERMISSION_DENIED', title: 'Permission Denied' },
  404: { name: 'OT_NOT_FOUND', title: 'Not Found' },
  413: { name: 'OT_INVALID_PARAMETER', title: 'Signal Too Large' },
  429: { name: 'OT_RATE_LIMIT_EXCEEDED', title: 'Rate Limit Exceeded' },
  500: { name: 'OT_NOT_CONNECTED', title: 'Not Connected' },
  1004: { name: 'OT_AUTHENTICATION_ERROR', title: 'Authentication error' },
  1005: { name: 'OT_INVALID_SESSION_ID', title: 'Invalid Session ID' },
  1006: { name: 'OT_CONNECT_FAILED', title: 'Connect Failed' },
  1010: { name: 'OT_NOT_CONNECTED', title: 'Not Connected' },
  1011: { name: 'OT_INVALID_PARAMETER', title: 'Invalid Parameter' },
  1021: { name: 'OT_TIMEOUT', title: 'Request Timeout' },
  1027: { name: 'OT_CONNECTION_LIMIT_EXCEEDED', title: 'Connection Limit Exceeded' },
  1500: { name: 'OT_PERMISSION_DENIED', title: 'Unable to Publish' },
  1501: { name: 'OT_STREAM_NOT_FOUND', title: 'Unable to Subscribe' },
  1520: { name: 'OT_PERMISSION_DENIED', title: 'Unable to Force Disconnect' },
  1530: { name: 'OT_PERMISSION_DENIED', title: 'Unable to Force Unpublish' },
  1535: { name: 'OT_STREAM_NOT_FOUND', title: 'Force Unpublish on an invalid stream' },
  1540: { name: 'OT_PERMISSION_DENIED', title: 'Unable to Force Mute' },
  1553: { name: 'OT_ICE_WORKFLOW_FAILED', title: 'ICE workflow failed' },
  1600: { name: 'OT_SET_REMOTE_DESCRIPTION_FAILED', title: 'WebRTC negotiation error' },
  2000: { name: 'OT_UNEXPECTED_SERVER_RESPONSE', title: 'Internal Error' },
  6000: { name: 'OT_ENCRYPTION_SECRET_MISSING', title: 'Encryption Secret Missing' },
  6004: { name: 'OT_INVALID_ENCRYPTION_SECRET', title: 'Invalid Encryption Secret' },
} as const satisfies Record<number, { name: `OT_${string}`; title: string }>;

/** Device failures all carry 1500 (unable to publish); the name says which. */
const byMediaFailure = {
  accessDenied: 'OT_USER_MEDIA_ACCESS_DENIED',
  notFound: 'OT_NO_DEVICES_FOUND',
  unavailable: 'OT_HARDWARE_UNAVAILABLE',
  overconstrained: 'OT_CONSTRAINTS_NOT_SATISFIED',
  screenSharingNotSupported: 'OT_SCREEN_SHARING_NOT_SUPPORTED',
  other: 'OT_UNABLE_TO_CAPTURE_MEDIA',
} as const satisfies Record<MediaFailure, `OT_${string}`>;

const unexpected = { name: 'OT_UNEXPECTED_SERVER_RESPONSE', title: 'Unexpected Server Response' } as const;

export type OTErrorName =
  | (typeof byCode)[keyof typeof byCode]['name']
  | (typeof byMediaFailure)[MediaFailure]
  | typeof unexpected.name
  | 'OT_NOT_SUPPORTED';

/** An error as OpenTok.js reports it: test `name` (`OT_…`); `code` is the numeric code. */
export class OTError extends Error {
  override readonly name: OTErrorName;
  readonly code: number;

  constructor(name: OTErrorName, message: string, code: number) {
    super(message);
    this.name = name;
    this.code = code;
  }
}

/**
 * What this publisher, browser or build cannot do (`OT_NOT_SUPPORTED`). OpenTok.js gives these
 * no code: 1500 (unable to publish), as they all concern publishers.
 */
export function notSupported(message: string): OTError {
  return new OTError('OT_NOT_SUPPORTED', message, 1500);
}

/** A bad argument to a method (`OT_INVALID_PARAMETER`, 1011). */
export function invalidParameter(message: string): OTError {
  return new OTError('OT_INVALID_PARAMETER', message, 1011);
}

/** The OpenTok error for a failure of the engine, the server or the browser. */
export function toOTError(error: unknown): OTError {
  if (error instanceof OTError) return error;
  if (!(error instanceof ClientError)) {
    return new OTError(unexpected.name, error instanceof Error ? error.message : String(error), 2000);
  }
  if (error.media !== undefined) return new OTError(byMediaFailure[error.media], error.message, error.code);
  return new OTError(entryOf(error.code).name, error.message, error.code);
}

/** The title an `exception` event carries for the code. */
export function titleOf(code: number): string {
  return entryOf(code).title;
}

function entryOf(code: number): { readonly name: OTErrorName; readonly title: string } {
  return code in byCode ? byCode[code as keyof typeof byCode] : unexpected;
}
