import type { UplinkReading } from './uplinkReading.js';
import type { VideoSendLimit } from './videoSendPlan.js';

/**
 * Publisher audio fallback's judgement of the uplink: when it cannot carry even the lowest video
 * the publisher would send, warn, then stop video (audio goes on), probe with the lowest video
 * from time to time, and turn video back on when a probe goes through.
 *
 * OpenTok publishes no thresholds; these are ours, measured with Chromium behind a token bucket.
 * A connection is congested when its receiver reports lose more than 15 % (of audio or video:
 * the router uses the same figure for subscribers), or when the browser's estimate of what it can
 * send is below 100 kbit/s: audio takes 50 kbit/s or so on the wire, and the lowest simulcast
 * layer is unwatchable below 50. Both are needed: routed sessions get no transport-wide feedback,
 * so Chromium's estimate there follows loss slowly (seconds per halving) and loss tells first,
 * while peer to peer its delay-based estimate falls within a second and the encoder then sends so
 * little that nothing is lost. The uplink is congested when every connection is: they share it,
 * so one congested connection among good ones is that subscriber's downlink, which its own
 * congestion control (or the router's subscriber fallback) deals with, whereas OpenTok's publisher
 * fallback stops video to everyone.
 *
 * Timing follows the router's subscriber fallback: statistics are read twice a second, and the
 * router reports twice a second; congestion in two readings half a second apart raises the
 * warning, and video goes off a second later if it lasts. A read that brings no new report (and
 * an estimate above the floor) is no news: it interrupts no state, and ends none either. A warning is lifted after 2 s
 * without congestion. Probes start 4 s after video went off and back off to 32 s while the
 * uplink stays bad. A probe sends the lowest video for at least 3 s: loss lasting half a second
 * fails it, and it passes once a report says the loss is low and the estimate is back above the
 * floor (a routed publisher's estimate climbs about 8 % a second after loss stops), or fails
 * after 8 s if it is not, so that video does not come back only to go again.
 */
export interface UplinkFallbackSettings {
  /** An estimate below this, bits/s, cannot carry video beside the audio. */
  readonly minAvailableBitrate: number;
  /** Loss (0–1) in a receiver report above which the connection is congested. */
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
  /** How long a probe lasts at least, ms. */
  readonly probeMs: number;
  /** A probe whose estimate has not reached the floor by then fails, ms. */
  readonly maxProbeMs: number;
}

export const defaultUplinkFallbackSettings: UplinkFallbackSettings = {
  minAvailableBitrate: 100_000,
  congestedLoss: 0.15,
  warnAfterMs: 500,
  disableAfterMs: 1000,
  liftAfterMs: 2000,
  probeIntervalMs: 4000,
  maxProbeIntervalMs: 32_000,
  probeMs: 3000,
  maxProbeMs: 8000,
};

/** What changed: OpenTok's four Publisher events (reason `quality`), and the probes between. */
export type UplinkFallbackChange =
  | 'videoDisableWarning'
  | 'videoDisableWarningLifted'
  | 'videoDisabled'
  | 'videoEnabled'
  | 'probeStarted'
  | 'probeFailed';

export type UplinkFallbackState = 'on' | 'warning' | 'off';

/**
 * How a reading finds a connection, or the uplink: `unknown` when it brings no news (no new
 * receiver report, and an estimate above the floor), which neither starts nor ends a congestion.
 */
type Verdict = 'congested' | 'clear' | 'unknown';

/** The state machine of publisher audio fallback, fed with readings of every sending connection. */
export class UplinkFallback {
  readonly #settings: UplinkFallbackSettings;
  #state: UplinkFallbackState = 'on';
  #congestedSince: number | null = null;
  #clearSince: number | null = null;
  /** While probing: since when the uplink has been losing, by receiver reports alone. */
  #lossySince: number | null = null;
  #warnedAt = 0;
  #probeStartedAt: number | null = null;
  #nextProbeAt = 0;
  #probeIntervalMs: number;

  constructor(settings: UplinkFallbackSettings = defaultUplinkFallbackSettings) {
    this.#settings = settings;
    this.#probeIntervalMs = settings.probeIntervalMs;
  }

  get state(): UplinkFallbackState {
    return this.#state;
  }

  get probing(): boolean {
    return this.#probeStartedAt !== null;
  }

  /** How much video the connections may send now. */
  get sendLimit(): VideoSendLimit {
    if (this.#state !== 'off') return 'all';
    return this.probing ? 'lowest' : 'none';
  }

  /**
   * Takes a reading of each sending connection; returns what changed, if anything. Without any
   * connection there is nothing to judge, and nothing changes.
   */
  update(readings: readonly UplinkReading[], nowMs: number): UplinkFallbackChange | null {
    if (readings.length === 0) return null;
    const verdict = uplinkVerdict(readings.map((reading) => this.#judge(reading, true)));
    if (verdict === 'congested') {
      this.#congestedSince ??= nowMs;
      this.#clearSince = null;
    } else if (verdict === 'clear') {
      this.#clearSince ??= nowMs;
      this.#congestedSince = null;
    }
    const settings = this.#settings;
    switch (this.#state) {
      case 'on':
        if (this.#lasted(verdict, 'congested', this.#congestedSince, nowMs, settings.warnAfterMs)) {
          this.#warnedAt = nowMs;
          return this.#change('warning', 'videoDisableWarning');
        }
        return null;
      case 'warning':
        if (this.#lasted(verdict, 'clear', this.#clearSince, nowMs, settings.liftAfterMs))
          return this.#change('on', 'videoDisableWarningLifted');
        if (this.#lasted(verdict, 'congested', this.#warnedAt, nowMs, settings.disableAfterMs)) {
          this.#probeIntervalMs = settings.probeIntervalMs;
          this.#nextProbeAt = nowMs + this.#probeIntervalMs;
          return this.#change('off', 'videoDisabled');
        }
        return null;
      case 'off':
        return this.#probe(readings, verdict, nowMs);
    }
  }

  /** Back to video on, without a word: the user took video over (`publishVideo`). */
  reset(): void {
    this.#state = 'on';
    this.#congestedSince = this.#clearSince = this.#probeStartedAt = null;
  }

  /**
   * A probe fails when the uplink loses for as long as it takes to warn: the first report after
   * video resumes may count what the last burst lost at its end, which only the resumed stream
   * reveals.
   */
  #probe(readings: readonly UplinkReading[], verdict: Verdict, nowMs: number): UplinkFallbackChange | null {
    const settings = this.#settings;
    if (this.#probeStartedAt === null) {
      if (nowMs < this.#nextProbeAt) return null;
      this.#probeStartedAt = nowMs;
      this.#lossySince = null;
      return 'probeStarted';
    }
    const probedMs = nowMs - this.#probeStartedAt;
    const losing = uplinkVerdict(readings.map((reading) => this.#judge(reading, false)));
    if (losing === 'congested') this.#lossySince ??= nowMs;
    else if (losing === 'clear') this.#lossySince = null;
    const lossy = this.#lasted(losing, 'congested', this.#lossySince, nowMs, settings.warnAfterMs);
    if (lossy || probedMs >= settings.maxProbeMs) {
      this.#probeStartedAt = null;
      this.#probeIntervalMs = Math.min(this.#probeIntervalMs * 2, settings.maxProbeIntervalMs);
      this.#nextProbeAt = nowMs + this.#probeIntervalMs;
      return 'probeFailed';
    }
    if (probedMs < settings.probeMs || verdict !== 'clear') return null;
    this.#probeStartedAt = null;
    return this.#change('on', 'videoEnabled');
  }

  /**
   * Whether this reading finds the uplink `expected`, and `since` is long enough ago: a run ends
   * on a reading with news, so that one report followed by silence is no lasting state.
   */
  #lasted(verdict: Verdict, expected: Verdict, since: number | null, nowMs: number, ms: number): boolean {
    return verdict === expected && since !== null && nowMs - since >= ms;
  }

  /** One connection: congested by its loss, or by its estimate too when `byEstimate`. */
  #judge(reading: UplinkReading, byEstimate: boolean): Verdict {
    const { audioLoss, videoLoss, availableBitrate } = reading;
    if (Math.max(audioLoss ?? 0, videoLoss ?? 0) > this.#settings.congestedLoss) return 'congested';
    if (byEstimate && availableBitrate !== null && availableBitrate < this.#settings.minAvailableBitrate)
      return 'congested';
    return audioLoss === null && videoLoss === null ? 'unknown' : 'clear';
  }

  #change(state: UplinkFallbackState, change: UplinkFallbackChange): UplinkFallbackChange {
    this.#state = state;
    this.#congestedSince = null;
    this.#clearSince = null;
    return change;
  }
}

/** The uplink is congested when every connection is, and clear when one is. */
function uplinkVerdict(verdicts: readonly Verdict[]): Verdict {
  if (verdicts.every((verdict) => verdict === 'congested')) return 'congested';
  return verdicts.includes('clear') ? 'clear' : 'unknown';
}
