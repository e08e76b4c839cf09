/**
 * Audio fallback for one subscriber of one video track: when its link cannot carry even the
 * lowest layer, the router warns, then stops forwarding video to it (audio goes on), probes with
 * the lowest layer from time to time, and turns video back on when a probe goes through.
 *
 * OpenTok publishes no thresholds; these are ours. Receiver reports come about once a second,
 * each telling the loss of the second before: congestion in two readings half a second apart (a
 * report and the REMB or report after it) rules out a one-off burst, and warns before the picture
 * freezes; another second before video goes off keeps the reaction (impairment to videoDisabled,
 * the first report's delay included) near 2 s, about when a user takes a picture for frozen. Probes start
 * 4 s after video went off (a link that recovers at once comes back in 4–7 s) and back off to
 * 32 s while the link stays bad, so a steady bad link sees a few seconds of probe per half minute.
 */
export interface VideoFallbackSettings {
  /** Loss (0–1) on the subscriber's link above which it is congested. */
  readonly congestedLoss: number;
  /** Congestion lasting this long raises the warning, ms. */
  readonly warnAfterMs: number;
  /** Congestion lasting this long after the warning turns video off, ms. */
  readonly disableAfterMs: number;
  /** A warning is lifted after this long without congestion, ms. */
  readonly liftAfterMs: number;
  /** The first probe comes this long after video went off; the wait doubles per failed probe, ms. */
  readonly probeIntervalMs: number;
  readonly maxProbeIntervalMs: number;
  /** How long the lowest layer must go through without congestion for video to come back, ms. */
  readonly probeMs: number;
}

export const defaultVideoFallbackSettings: VideoFallbackSettings = {
  congestedLoss: 0.15,
  warnAfterMs: 500,
  disableAfterMs: 1000,
  liftAfterMs: 2000,
  probeIntervalMs: 4000,
  maxProbeIntervalMs: 32_000,
  probeMs: 3000,
};

/** What the subscriber is told (OpenTok's Subscriber events, all with reason `quality`). */
export type VideoFallbackEvent =
  'videoDisableWarning' | 'videoDisableWarningLifted' | 'videoDisabled' | 'videoEnabled';

export type VideoFallbackState = 'on' | 'warning' | 'off';

/** A link reading for the fallback: its estimate, the freshest loss, and the lowest layer's bitrate. */
export interface FallbackReading {
  /** REMB, bits/s; null before one came. */
  readonly estimate: number | null;
  /** Highest loss (0–1) in the receiver reports of the last couple of seconds, over all tracks. */
  readonly fractionLost: number;
  /**
   * Whether the subscriber gets the lowest layer already (or nothing): loss on a higher layer
   * is for the layer selector to cure by stepping down.
   */
  readonly atLowestLayer: boolean;
  /** The bitrate of the lowest layer at its base frame rate: the least video there is. */
  readonly lowestBitrate: number;
}

export class VideoFallback {
  readonly #settings: VideoFallbackSettings;
  #state: VideoFallbackState = 'on';
  #congestedSince: number | null = null;
  #clearSince: number | null = null;
  #warnedAt = 0;
  #probeStartedAt: number | null = null;
  #nextProbeAt = 0;
  #probeIntervalMs: number;
  /** When and why the state last changed, for stats. */
  #lastChange: { readonly atMs: number; readonly event: VideoFallbackEvent } | null = null;

  constructor(settings: VideoFallbackSettings = defaultVideoFallbackSettings) {
    this.#settings = settings;
    this.#probeIntervalMs = settings.probeIntervalMs;
  }

  get state(): VideoFallbackState {
    return this.#state;
  }

  /** Whether video goes to the subscriber now: when on, warned, or probing. */
  get forwardsVideo(): boolean {
    return this.#state !== 'off' || this.#probeStartedAt !== null;
  }

  get lastChange(): { readonly atMs: number; readonly event: VideoFallbackEvent } | null {
    return this.#lastChange;
  }

  /** Takes a link reading; returns what to tell the subscriber, if anything changed. */
  update(reading: FallbackReading, nowMs: number): VideoFallbackEvent | null {
    const settings = this.#settings;
    const congested =
      (reading.atLowestLayer && reading.fractionLost > settings.congestedLoss) ||
      (this.#state !== 'off' && reading.estimate !== null && reading.estimate < reading.lowestBitrate);
    if (congested) {
      this.#congestedSince ??= nowMs;
      this.#clearSince = null;
    } else {
      this.#clearSince ??= nowMs;
      this.#congestedSince = null;
    }
    switch (this.#state) {
      case 'on':
        if (this.#congestedSince !== null && nowMs - this.#congestedSince >= settings.warnAfterMs) {
          this.#warnedAt = nowMs;
          return this.#change('warning', 'videoDisableWarning', nowMs);
        }
        return null;
      case 'warning':
        if (this.#clearSince !== null && nowMs - this.#clearSince >= settings.liftAfterMs)
          return this.#change('on', 'videoDisableWarningLifted', nowMs);
        if (this.#congestedSince !== null && nowMs - this.#warnedAt >= settings.disableAfterMs) {
          this.#probeIntervalMs = settings.probeIntervalMs;
          this.#nextProbeAt = nowMs + this.#probeIntervalMs;
          return this.#change('off', 'videoDisabled', nowMs);
        }
        return null;
      case 'off':
        return this.#probe(congested, nowMs);
    }
  }

  #probe(congested: boolean, nowMs: number): VideoFallbackEvent | null {
    const settings = this.#settings;
    if (this.#probeStartedAt === null) {
      if (nowMs >= this.#nextProbeAt) {
        this.#probeStartedAt = nowMs;
        this.#clearSince = nowMs;
      }
      return null;
    }
    if (congested) {
      this.#probeStartedAt = null;
      this.#probeIntervalMs = Math.min(this.#probeIntervalMs * 2, settings.maxProbeIntervalMs);
      this.#nextProbeAt = nowMs + this.#probeIntervalMs;
      return null;
    }
    if (nowMs - this.#probeStartedAt < settings.probeMs) return null;
    this.#probeStartedAt = null;
    return this.#change('on', 'videoEnabled', nowMs);
  }

  #change(state: VideoFallbackState, event: VideoFallbackEvent, nowMs: number): VideoFallbackEvent {
    this.#state = state;
    this.#congestedSince = null;
    this.#clearSince = null;
    this.#lastChange = { atMs: nowMs, event };
    return event;
  }
}
