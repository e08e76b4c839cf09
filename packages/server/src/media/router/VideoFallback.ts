/**
 * Audio fallback for one subscriber of one video track: when its link cannot carry even the
 * lowest layer, the router warns, then stops forwarding video to it (audio goes on), probes with
 * the lowest layer from time to time, and turns video back on when a probe goes through.
 *
 * OpenTok publishes no thresholds; these are ours, tuned with Chromium behind a 60 kbit/s
 * bottleneck with 10 % loss (e2e/audioFallback.test.ts) for a reaction within 2 s and a recovery
 * within 10 s. Congestion shows first in the subscriber's transport-wide feedback (every 100 ms
 * or so): its bottleneck's queue builds up, the estimate drops to what the link still delivers,
 * 0.4–0.8 s after the link degrades. Without that feedback it shows 0.7–1.3 s after, in its
 * receiver report or REMB (about once a second), or the share of packets it NACKs over the last
 * second (a second of samples, so that a burst of loss counts only when it outweighs the good
 * packets around it). The first congested reading warns, and one a quarter of a second later,
 * ruling out a single burst, turns video off: the router decides within 0.6–1.1 s (1.2–1.8 s
 * without transport-wide feedback), and the subscriber hears of it 0.4–0.9 s later, the
 * signaling's TCP having backed off in the queue the video flooded. Probes start 2 s after video
 * went off and back off to 5 s; each sends the lowest layer for 2.5 s and fails as soon as its
 * own NACKs tell of congestion (a link narrower than the lowest layer fills its queue within half
 * a second), so that a repaired link sees video within 5 + 2.5 s and a steady bad one loses a
 * little of its audio for about half a second every 5 s. A link that buffers more than a probe lasts (a token
 * bucket's burst) lets a probe through and fails it later: video that goes off again within
 * 10 s of coming back counts as a failed probe, and the next probes wait the longest and last
 * twice as long, up to four times.
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
  /**
   * How long the lowest layer must go through without congestion for video to come back, ms;
   * twice, up to four times as long after video came back and went again.
   */
  readonly probeMs: number;
}

export const defaultVideoFallbackSettings: VideoFallbackSettings = {
  congestedLoss: 0.15,
  warnAfterMs: 0,
  disableAfterMs: 250,
  liftAfterMs: 2000,
  probeIntervalMs: 2000,
  maxProbeIntervalMs: 5000,
  probeMs: 2500,
};

/** What the subscriber is told (OpenTok's Subscriber events, all with reason `quality`). */
export type VideoFallbackEvent =
  'videoDisableWarning' | 'videoDisableWarningLifted' | 'videoDisabled' | 'videoEnabled';

export type VideoFallbackState = 'on' | 'warning' | 'off';

/** A change of state, with the link reading it came on: when and why, for stats. */
export interface VideoFallbackChange {
  readonly atMs: number;
  readonly event: VideoFallbackEvent;
  /** The estimate for video then, bits/s; null before one. */
  readonly estimate: number | null;
  /** The loss it judged by then, 0–1. */
  readonly loss: number;
  /** The least video the subscriber gets (the lowest layer, smoothed), bits/s. */
  readonly lowestBitrate: number;
}

/** A link reading for the fallback: its estimate, the freshest loss, and the lowest layer's bitrate. */
export interface FallbackReading {
  /** What the subscriber's downlink carries for video (see `Subscription.estimatedBitrate`), bits/s; null before known. */
  readonly estimate: number | null;
  /**
   * Highest loss (0–1) the subscriber told of lately (NACKs, receiver reports), over all tracks,
   * from the reports whose span began at `lossCountsFromMs` or later.
   */
  readonly fractionLost: number;
  /**
   * The share (0–1) of this video's packets NACKed over the last second: what a probe is judged
   * by from its start, audio's receiver reports coming every five seconds and telling of the
   * time before it.
   */
  readonly videoNackLoss: number;
  /** The loss (0–1) this video's latest receiver report told, while fresh; 0 without one. */
  readonly videoReportLoss: number;
  /**
   * Whether the subscriber gets the lowest layer already (or nothing): loss on a higher layer
   * is for the layer selector to cure by stepping down, unless what the link still delivers of
   * it falls short of the lowest layer.
   */
  readonly atLowestLayer: boolean;
  /** The bitrate of the video forwarded now (its layer at its frame rate), bits/s. */
  readonly forwardedBitrate: number;
  /** The bitrate of the lowest layer at the frame rate the subscriber wants: the least video it gets. */
  readonly lowestBitrate: number;
  /** When the subscriber's latest receiver report on this video came, ms; 0 before one. */
  readonly reportAtMs: number;
}

/**
 * How far an estimate must pass the lowest layer's bitrate to count again after video came back;
 * the estimate climbs to at most about 1.5 times what the subscriber receives.
 */
const estimateHeadroom = 1.25;

/**
 * The time constant the lowest layer's bitrate is smoothed with, ms: measured over a second, it
 * swings with keyframes (up by half and more), and an estimate near it would count as congestion
 * in one second and not the next.
 */
const lowestBitrateSmoothingMs = 5000;

/**
 * The receiver report on the video from which a probe tells: the first after it starts also
 * covers the time before it, silence, and the losses of when video went off (browsers send no
 * report on a source that sends nothing), so neither its loss nor its lack of loss counts.
 */
const probeReports = 2;

/** Video going off this soon after it came back counts as a failed probe, ms. */
const flapWindowMs = 10_000;

/** How many times its setting a probe lasts at most, after video came back and went again. */
const maxProbeStretch = 4;

export class VideoFallback {
  readonly #settings: VideoFallbackSettings;
  #state: VideoFallbackState = 'on';
  #congestedSince: number | null = null;
  #clearSince: number | null = null;
  #warnedAt = 0;
  #probeStartedAt: number | null = null;
  /** Receiver reports on the video since the probe started. */
  #probeReportCount = 0;
  #lastReportAtMs = 0;
  #nextProbeAt = 0;
  #probeIntervalMs: number;
  #probeMs: number;
  /** When video last came back, ms; null before. */
  #enabledAt: number | null = null;
  #lossCountsFromMs = 0;
  /**
   * Whether an estimate below the lowest layer counts as congestion: not from video turning off
   * until the estimate passes the lowest layer by `estimateHeadroom`. An estimate knows a link
   * only as far as it is used (it climbs to about 1.5 times what arrives), so it stays low while
   * only audio flows, and climbs back (about 8 % a second) once video is on again, long after the
   * link recovered.
   */
  #estimateCounts = true;
  /** The lowest layer's bitrate, smoothed; null before a reading. */
  #lowestBitrate: number | null = null;
  #lowestBitrateAtMs = 0;
  /** When and why the state last changed, for stats. */
  #lastChange: VideoFallbackChange | null = null;
  /** The reading being taken, for the change it may bring. */
  #reading: Omit<VideoFallbackChange, 'atMs' | 'event'> = { estimate: null, loss: 0, lowestBitrate: 0 };

  constructor(settings: VideoFallbackSettings = defaultVideoFallbackSettings) {
    this.#settings = settings;
    this.#probeIntervalMs = settings.probeIntervalMs;
    this.#probeMs = settings.probeMs;
  }

  get state(): VideoFallbackState {
    return this.#state;
  }

  /** Whether video goes to the subscriber now: when on, warned, or probing. */
  get forwardsVideo(): boolean {
    return this.#state !== 'off' || this.#probeStartedAt !== null;
  }

  get lastChange(): VideoFallbackChange | null {
    return this.#lastChange;
  }

  /**
   * The loss of receiver reports whose span began before this counts not, ms: from video coming
   * back, the start of the probe that let it through. Audio is reported every five seconds, so
   * its first report after a repair may still tell of the losses of the bad link before it.
   */
  get lossCountsFromMs(): number {
    return this.#lossCountsFromMs;
  }

  /** Takes a link reading; returns what to tell the subscriber, if anything changed. */
  update(reading: FallbackReading, nowMs: number): VideoFallbackEvent | null {
    const settings = this.#settings;
    const newReport = reading.reportAtMs > this.#lastReportAtMs;
    this.#lastReportAtMs = reading.reportAtMs;
    if (newReport && this.#probeStartedAt !== null) this.#probeReportCount++;
    const lowestBitrate = this.#smoothLowestBitrate(reading.lowestBitrate, nowMs);
    if (reading.estimate !== null && reading.estimate >= lowestBitrate * estimateHeadroom)
      this.#estimateCounts = true;
    const loss = this.#state === 'off' ? this.#probeLoss(reading) : reading.fractionLost;
    this.#reading = { estimate: reading.estimate, loss, lowestBitrate };
    const lossCounts = reading.atLowestLayer || reading.forwardedBitrate * (1 - loss) < lowestBitrate;
    const congested =
      (lossCounts && loss > settings.congestedLoss) ||
      (this.#estimateCounts && reading.estimate !== null && reading.estimate < lowestBitrate);
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
          if (this.#enabledAt !== null && nowMs - this.#enabledAt < flapWindowMs) {
            this.#probeIntervalMs = settings.maxProbeIntervalMs;
            this.#probeMs = Math.min(this.#probeMs * 2, settings.probeMs * maxProbeStretch);
          } else {
            this.#probeIntervalMs = settings.probeIntervalMs;
            this.#probeMs = settings.probeMs;
          }
          this.#nextProbeAt = nowMs + this.#probeIntervalMs;
          this.#estimateCounts = false;
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
        this.#probeReportCount = 0;
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
    if (this.#probeReportCount < probeReports || nowMs - this.#probeStartedAt < this.#probeMs) return null;
    this.#lossCountsFromMs = this.#probeStartedAt;
    this.#probeStartedAt = null;
    this.#enabledAt = nowMs;
    return this.#change('on', 'videoEnabled', nowMs);
  }

  /**
   * The loss a probe is judged by: its NACKs from the start, and the video's receiver reports
   * from the second after it started on (see `probeReports`); none between probes.
   */
  #probeLoss(reading: FallbackReading): number {
    if (this.#probeStartedAt === null) return 0;
    const reportLoss = this.#probeReportCount >= probeReports ? reading.videoReportLoss : 0;
    return Math.max(reading.videoNackLoss, reportLoss);
  }

  #smoothLowestBitrate(measured: number, nowMs: number): number {
    const previous = this.#lowestBitrate;
    const weight = Math.min(1, (nowMs - this.#lowestBitrateAtMs) / lowestBitrateSmoothingMs);
    this.#lowestBitrateAtMs = nowMs;
    this.#lowestBitrate = previous === null ? measured : previous + (measured - previous) * weight;
    return this.#lowestBitrate;
  }

  #change(state: VideoFallbackState, event: VideoFallbackEvent, nowMs: number): VideoFallbackEvent {
    this.#state = state;
    this.#congestedSince = null;
    this.#clearSince = null;
    this.#lastChange = { atMs: nowMs, event, ...this.#reading };
    return event;
  }
}
