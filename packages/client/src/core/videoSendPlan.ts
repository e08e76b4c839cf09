import type { ParameterChange } from './SenderParameterUpdates.js';

/**
 * How much of its video a sender lets out, whatever the router asks: all of it, only the lowest
 * encoding (publisher audio fallback probing whether the uplink carries video again), or none
 * (publisher audio fallback: video off, audio on).
 */
export type VideoSendLimit = 'all' | 'lowest' | 'none';

/** What decides which video encodings a sender sends, and at what cap. */
export interface VideoSendPlan {
  /** The router's wishes by RID (routed simulcast); an encoding it does not name is sent. */
  readonly wanted: ReadonlyMap<string, boolean>;
  readonly limit: VideoSendLimit;
  /** Adaptive routing: the peer connection sends nothing while its path is not used. */
  readonly paused: boolean;
  /** A sender of one encoding: its bitrate cap at full quality, bits/s; undefined for none. */
  readonly maxBitrate: number | undefined;
}

/**
 * The cap of one encoding while it probes, bits/s: what the lowest simulcast layer of a 640×480
 * camera gets (see `videoEncodings`), so that a relayed probe weighs about what a routed one does.
 */
export const probeBitrate = 150_000;

/**
 * The change that sends what the plan allows: each simulcast encoding as the router wants it,
 * only the lowest (the first) while probing, none when the limit says so. A sender of one
 * encoding (relayed, or simulcast declined) probes with it capped at `probeBitrate`.
 */
export function sendVideo(plan: VideoSendPlan): ParameterChange {
  return (parameters) => {
    const single = parameters.encodings.length === 1;
    parameters.encodings.forEach((encoding, index) => {
      const wanted = encoding.rid === undefined || (plan.wanted.get(encoding.rid) ?? true);
      encoding.active =
        !plan.paused && (plan.limit === 'all' ? wanted : plan.limit === 'lowest' && index === 0);
      if (!single) return;
      const cap =
        plan.limit === 'lowest' ? Math.min(probeBitrate, plan.maxBitrate ?? probeBitrate) : plan.maxBitrate;
      if (cap === undefined) delete encoding.maxBitrate;
      else encoding.maxBitrate = cap;
    });
  };
}
