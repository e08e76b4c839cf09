import type { UplinkReading } from './uplinkReading.js';
import type { VideoSendLimit } from './videoSendPlan.js';

/**
 * Publisher audio fallback's judgement of the uplink: when it cannot carry even the lowest video
 * the publisher would send, warn, then stop video (audio goes on), probe with the lowest video
 * from time to time, and turn video back on when a probe goes through.
 *
 * OpenTok publishes no thresholds; these are ours, measured with Chromium behind a token bucket
 * a packet or two deep (64 kbit/s, 3 % loss: room for the audio, none for video).
 *
 * What tells of a narrow uplink. A connection is congested when a receiver report loses more than
 * 15 % (of audio or video: the router uses the same figure for subscribers), or, when its
 * estimate follows delay, when the browser's estimate of what it can send is below 100 kbit/s and
 * not rising: audio takes 50 kbit/s or so on the wire, and the lowest simulcast layer is
 * unwatchable below 50. Peer to peer (transport-wide feedback) Chromium's delay-based estimate
 * falls below that within about a second of a narrowing, and the encoder then sends so little
 * that little is lost. The router gives no transport-wide feedback: there Chromium's estimate is
 * loss-based, follows the loss seconds late (it climbs 8 % a second once loss stops, and a single
 * lossy report cuts it), so it is not judged at all, and the router's receiver reports, twice a
 * second, tell first. A video encoding's reports in its first second after a pause (ours, or the
 * router's dynacast) are left out: they count what the link lost as it paused. Round-trip times
 * are not used: Chromium sends audio sender reports every few seconds, and a receiver report
 * echoes the last, so its round trip is seconds stale. The uplink is congested when every
 * connection is: they share it, so one congested connection among good ones is that subscriber's
 * downlink, which its own congestion control (or the router's subscriber fallback) deals with,
 * whereas OpenTok's publisher fallback stops video to everyone.
 *
 * Timing. Statistics are read every 250 ms (`PublisherFallback`). The first congested reading
 * raises the warning (`warnAfterMs` 0), and a congested reading at least 400 ms later turns
 * video off: with the router's reports half a second apart that is the next report, so two
 * reports in a row must tell loss. The first lossy report comes 1–1.7 s after a narrowing (the
 * link's queue delays the gaps the receiver sees by up to 400 ms, the router reports every 500
 * ms, and a report whose interval the narrowing only ends counts too little loss): waiting for a
 * second would put video off at 1.6–2.6 s, past the aim of 2 s. So a warning raised by severe
 * loss, more than 40 % of every connection's packets in one report, turns video off at the next
 * reading unless it is clear: a link losing that much of its load for half a second is far below
 * it (the first reports after our narrowings lost 50–95 %), and a video stopped for a shorter
 * outage costs one probe cycle (about 5 s). A reading that brings no new report (and no low
 * estimate) is no news: it interrupts no state and ends none. A warning is lifted after 2 s
 * without congestion.
 *
 * Probes. The first comes 2.5 s after video went off; the wait doubles after each failed probe
 * up to 4 s, so that a link that recovers gets video back within the aim of 10 s (at worst a
 * probe that began just before the recovery fails a second or two in, then the longest wait, a
 * 2.5 s probe and a read: about 9 s) while a steady bad link spends a quarter of its time on
 * probes, each of which costs its audio some loss for a second or so. A probe sends the lowest
 * video: it fails at the first reading of congestion by loss (audio at once; its own video once
 * past the first second, as above), or, with a delay-based estimate, once the estimate has been
 * below the floor for a second and is not rising; and after 5 s if it has not passed. It passes
 * after 2.5 s without any of that, once a report since the first second tells low loss and a
 * delay-based estimate is back above the floor. A probe that fails never turns video on.
 */
export interface UplinkFallbackSettings {
  /** A delay-based estimate below this, bits/s, cannot carry video beside the audio. */
  readonly minAvailableBitrate: number;
  /** Loss (0–1) in a receiver report above which the connection is congested. */
  readonly congestedLoss: number;
  /** Congestion lasting this long raises the warning, ms (0: the first congested reading). */
  readonly warnAfterMs: number;
  /** A congested reading at least this long after the warning, still unlifted, turns video off, ms. */
  readonly disableAfterMs: number;
  /** Loss (0–1) above which one report, in every connection, tells of a link far below its load. */
  readonly severeLoss: number;
  /** After a warning raised by severe loss, video goes off this long later unless a reading is clear, ms. */
  readonly severeDisableAfterMs: number;
  /** A warning is lifted after this long without congestion, ms. */
  readonly liftAfterMs: number;
  /** The first probe comes this long after video went off; the wait doubles per failed probe, ms. */
  readonly probeIntervalMs: number;
  readonly maxProbeIntervalMs: number;
  /** A probe's estimate is judged, and its video's reports counted, after this long, ms. */
  readonly probeSettleMs: number;
  /** How long a probe lasts at least, ms. */
  readonly probeMs: number;
  /** A probe that has not passed by then fails, ms. */
  readonly maxProbeMs: number;
}

export const defaultUplinkFallbackSettings: UplinkFallbackSettings = {
  minAvailableBitrate: 100_000,
  congestedLoss: 0.15,
  warnAfterMs: 0,
  disableAfterMs: 400,
  severeLoss: 0.4,
  severeDisableAfterMs: 250,
  liftAfterMs: 2000,
  probeIntervalMs: 2500,
  maxProbeIntervalMs: 4000,
  probeSettleMs: 1000,
  probeMs: 2500,
  maxProbeMs: 5000,
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
 * receiver report, and no low estimate), which neither starts nor ends a congestion.
 */
type Verdict = 'congested' | 'clear' | 'unknown';

/** How a reading is judged: outside probes, or in a probe before and after it settled. */
type Judging = 'watch' | 'probe' | 'settledProbe';

/** The state machine of publisher audio fallback, fed with readings of every sending connection. */
export class UplinkFallback {
  readonly #settings: UplinkFallbackSettings;
  #state: UplinkFallbackState = 'on';
  /** The user turned video off: nothing is judged until `resume`. */
  #paused = false;
  #congestedSince: number | null = null;
  #clearSince: number | null = null;
  #warnedAt = 0;
  /** Whether the warning came of severe loss. */
  #severeWarning = false;
  #probeStartedAt: number | null = null;
  /** Whether a report since the probe settled told of low loss (and a good estimate). */
  #probeCleared = false;
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
   * connection, or while paused, there is nothing to judge, and nothing changes.
   */
  update(readings: readonly UplinkReading[], nowMs: number): UplinkFallbackChange | null {
    if (readings.length === 0 || this.#paused) return null;
    if (this.#state === 'off') return this.#probe(readings, nowMs);
    const verdict = this.#verdict(readings, 'watch');
    if (verdict === 'congested') {
      this.#congestedSince ??= nowMs;
      this.#clearSince = null;
    } else if (verdict === 'clear') {
      this.#clearSince ??= nowMs;
      this.#congestedSince = null;
    }
    const settings = this.#settings;
    if (this.#state === 'on') {
      if (!this.#lasted(verdict, 'congested', this.#congestedSince, nowMs, settings.warnAfterMs)) return null;
      this.#warnedAt = nowMs;
      this.#severeWarning = readings.every(
        ({ audioLoss, videoLoss }) => Math.max(audioLoss ?? 0, videoLoss ?? 0) > settings.severeLoss,
      );
      return this.#change('warning', 'videoDisableWarning');
    }
    if (this.#lasted(verdict, 'clear', this.#clearSince, nowMs, settings.liftAfterMs))
      return this.#change('on', 'videoDisableWarningLifted');
    const severe =
      this.#severeWarning &&
      this.#clearSince === null &&
      nowMs - this.#warnedAt >= settings.severeDisableAfterMs;
    if (!severe && !this.#lasted(verdict, 'congested', this.#warnedAt, nowMs, settings.disableAfterMs))
      return null;
    this.#probeIntervalMs = settings.probeIntervalMs;
    this.#nextProbeAt = nowMs + this.#probeIntervalMs;
    return this.#change('off', 'videoDisabled');
  }

  /**
   * The user turned video off: nothing is judged until `resume`. A warning is lifted (video can
   * no longer go off for quality); video the fallback turned off stays off, without probes.
   */
  pause(): UplinkFallbackChange | null {
    if (this.#paused) return null;
    this.#paused = true;
    this.#probeStartedAt = null;
    return this.#state === 'warning' ? this.#change('on', 'videoDisableWarningLifted') : null;
  }

  /**
   * The user turned video on again: judging goes on, and video the fallback turned off is probed
   * at the next reading (the uplink may have recovered meanwhile), the waits starting over.
   */
  resume(nowMs: number): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#congestedSince = this.#clearSince = null;
    this.#probeIntervalMs = this.#settings.probeIntervalMs;
    this.#nextProbeAt = nowMs;
  }

  #probe(readings: readonly UplinkReading[], nowMs: number): UplinkFallbackChange | null {
    const settings = this.#settings;
    if (this.#probeStartedAt === null) {
      if (nowMs < this.#nextProbeAt) return null;
      this.#probeStartedAt = nowMs;
      this.#probeCleared = false;
      return 'probeStarted';
    }
    const probedMs = nowMs - this.#probeStartedAt;
    const settled = probedMs >= settings.probeSettleMs;
    const verdict = this.#verdict(readings, settled ? 'settledProbe' : 'probe');
    if (verdict === 'congested' || probedMs >= settings.maxProbeMs) {
      this.#probeStartedAt = null;
      this.#probeIntervalMs = Math.min(this.#probeIntervalMs * 2, settings.maxProbeIntervalMs);
      this.#nextProbeAt = nowMs + this.#probeIntervalMs;
      return 'probeFailed';
    }
    if (settled && verdict === 'clear') this.#probeCleared = true;
    if (probedMs < settings.probeMs || !this.#probeCleared) return null;
    this.#probeStartedAt = null;
    return this.#change('on', 'videoEnabled');
  }

  /** Whether this reading finds the uplink `expected`, and `since` is long enough ago. */
  #lasted(verdict: Verdict, expected: Verdict, since: number | null, nowMs: number, ms: number): boolean {
    return verdict === expected && since !== null && nowMs - since >= ms;
  }

  /** The uplink is congested when every connection is, and clear when one is. */
  #verdict(readings: readonly UplinkReading[], judging: Judging): Verdict {
    const verdicts = readings.map((reading) => this.#judge(reading, judging));
    if (verdicts.every((verdict) => verdict === 'congested')) return 'congested';
    return verdicts.includes('clear') ? 'clear' : 'unknown';
  }

  /**
   * One connection. Its loss always counts. A delay-based estimate below the floor counts as
   * congestion when it is not rising, except in a probe's first moments (a probe starts from
   * the estimate of audio alone); and a settled probe is clear only with the estimate above it.
   */
  #judge(reading: UplinkReading, judging: Judging): Verdict {
    const { audioLoss, videoLoss, availableBitrate, estimateRising, delayBasedEstimate } = reading;
    if (Math.max(audioLoss ?? 0, videoLoss ?? 0) > this.#settings.congestedLoss) return 'congested';
    const low =
      delayBasedEstimate &&
      availableBitrate !== null &&
      availableBitrate < this.#settings.minAvailableBitrate;
    if (low && !estimateRising && judging !== 'probe') return 'congested';
    if (low && judging === 'settledProbe') return 'unknown';
    if (judging === 'settledProbe' && videoLoss === null) return 'unknown';
    return audioLoss === null && videoLoss === null ? 'unknown' : 'clear';
  }

  #change(state: UplinkFallbackState, change: UplinkFallbackChange): UplinkFallbackChange {
    this.#state = state;
    this.#congestedSince = null;
    this.#clearSince = null;
    return change;
  }
}
