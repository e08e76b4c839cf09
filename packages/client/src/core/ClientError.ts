/**
 * Why a media device could not be used: the `DOMException` name `getUserMedia` failed with,
 * reduced to the cases applications tell apart.
 */
export type MediaFailure =
  'accessDenied' | 'notFound' | 'unavailable' | 'overconstrained' | 'screenSharingNotSupported' | 'other';

/**
 * Every failure the engine reports. `code` is OpenTok's numeric error code (client-api.md
 * §1.10), which the server's wire errors already carry; a facade turns it into its own errors.
 */
export class ClientError extends Error {
  override readonly name = 'ClientError';
  readonly code: number;
  /** Set when a media device failed, for the facade to name the failure. */
  readonly media: MediaFailure | undefined;

  constructor(code: number, message: string, options?: { media?: MediaFailure; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.media = options?.media;
  }

  /** The operation needs a connected session. */
  static notConnected(operation: string): ClientError {
    return new ClientError(clientErrorCodes.notConnected, `${operation}: not connected to the session`);
  }

  /** The server did not answer in time. */
  static timeout(what: string): ClientError {
    return new ClientError(clientErrorCodes.timeout, `${what}: no answer from the server in time`);
  }
}

/** The codes the engine itself raises (the server's come over the wire). */
export const clientErrorCodes = {
  connectFailed: 1006,
  notConnected: 1010,
  invalidParameter: 1011,
  timeout: 1021,
  unableToPublish: 1500,
  unableToSubscribe: 1501,
  iceWorkflowFailed: 1553,
  negotiationFailed: 1600,
  encryptionSecretMissing: 6000,
  invalidEncryptionSecret: 6004,
} as const;
