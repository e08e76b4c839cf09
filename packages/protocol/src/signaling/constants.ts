/** Version of the signaling protocol this package describes; `connect` and `resume` carry it. */
export const signalingProtocolVersion = 1;

/** Path of the signaling WebSocket endpoint on a Parlor server. */
export const signalingPath = '/v2/signaling';

/** Sizes a signaling message must keep to. */
export const signalingLimits = {
  /** Largest text frame a client may send, in bytes; a larger one is refused with an error. */
  maxMessageBytes: 64 * 1024,
  /** Longest signal `type`, in UTF-8 bytes. */
  maxSignalTypeBytes: 128,
  /** Longest signal `data`, in UTF-8 bytes (8 kB). */
  maxSignalDataBytes: 8 * 1024,
  /** Longest stream name, in characters. */
  maxStreamNameLength: 1000,
  /** Records in one `telemetry` request. */
  maxTelemetryRecords: 50,
  /**
   * Invalid frames (not JSON, not a request, an unknown method, bad params, binary, too large) a
   * client may send within `invalidFrameWindowMs`: each gets an error answer, and the next
   * closes the socket with `policyViolation`.
   */
  maxInvalidFrames: 10,
  invalidFrameWindowMs: 10_000,
} as const;

/**
 * WebSocket close codes the server uses. A client that closes with `normal` or `goingAway`
 * (what browsers send when a page unloads) has left; any other close leaves its connection
 * resumable for the server's reconnection grace period.
 */
export const signalingCloseCodes = {
  /** The connection ended: the client disconnected or was disconnected by a moderator. */
  normal: 1000,
  /** The server is shutting down. */
  goingAway: 1001,
  /** The client did not connect in time, or sent too many invalid frames. */
  policyViolation: 1008,
  /** A frame exceeded the transport's hard size limit. */
  messageTooBig: 1009,
  /** Another socket resumed this socket's connection. */
  resumedElsewhere: 4001,
  /**
   * The session moved to another node of a cluster (this node is draining, or lost the session):
   * the connection has ended here; the client asks for the session's connection info again and
   * joins it there as a new connection (OpenTok's session migration).
   */
  moved: 4002,
} as const;
