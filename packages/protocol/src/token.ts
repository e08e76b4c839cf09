/** Limits on client tokens, as the official SDKs enforce them. */
export const tokenLimits = {
  /** Longest `connection_data` a token may carry, in characters. */
  maxConnectionDataLength: 1024,
  /** Longest space-joined `initial_layout_class_list`, in characters. */
  maxLayoutClassListLength: 1024,
  /** Lifetime of a token that names no expiry, in seconds (24 hours). */
  defaultLifetimeSeconds: 24 * 60 * 60,
  /** Longest lifetime a token may have, in seconds (30 days). */
  maxLifetimeSeconds: 30 * 24 * 60 * 60,
} as const;

/** The only scope a client token may carry. */
export const tokenScope = 'session.connect';
