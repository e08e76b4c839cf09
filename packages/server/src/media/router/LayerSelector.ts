import type { VideoPreferences } from './Subscription.js';

/** What the selector knows of one simulcast layer of a track, lowest resolution first. */
export interface LayerView {
  /** Frame size from its last keyframe; 0 when not known yet. */
  readonly width: number;
  readonly height: number;
  /** Bits per second received with temporal layers 0..t, by t; empty when never measured. */
  readonly bitrates: readonly number[];
  /** Frames per second with temporal layers 0..t, by t; empty when never measured. */
  readonly frameRates: readonly number[];
  /** Whether the layer can be chosen: it has been seen, and is flowing or paused by the router. */
  readonly available: boolean;
}

/** What the subscriber's link tells. */
export interface LinkView {
  /** What its downlink carries for video (see `Subscription.estimatedBitrate`), bits/s; null before known. */
  readonly estimate: number | null;
  /** Share of video packets lost in its last receiver report, 0–1. */
  readonly fractionLost: number;
}

export interface LayerChoice {
  /** Index of the layer, 0 the lowest resolution. */
  readonly spatial: number;
  /** Highest temporal layer forwarded, 0 the base. */
  readonly temporal: number;
}

/**
 * When the selector moves a subscriber between layers. A bandwidth estimate only climbs to
 * about 1.5 times what arrives, so a subscriber on a low layer never sees room for
 * the next one: the selector tries it (a trial), and steps back if the link pushes back.
 */
export interface LayerSelectorSettings {
  /** Loss above which the link is congested. */
  readonly congestedLoss: number;
  /** How long a congestion signal must hold before stepping down, ms. */
  readonly downDelayMs: number;
  /** How long a higher layer must fit the estimate before stepping up, ms. */
  readonly upDelayMs: number;
  /** How long the link must show headroom before a trial, ms. */
  readonly trialHoldMs: number;
  /** How long a trial lasts before it counts as a success, ms. */
  readonly trialMs: number;
  /** Wait before the next trial after a failed one, doubled per failure up to `maxTrialBackoffMs`. */
  readonly trialBackoffMs: number;
  readonly maxTrialBackoffMs: number;
}

export const defaultLayerSelectorSettings: LayerSelectorSettings = {
  congestedLoss: 0.1,
  downDelayMs: 1000,
  upDelayMs: 2000,
  trialHoldMs: 3000,
  trialMs: 5000,
  trialBackoffMs: 8000,
  maxTrialBackoffMs: 64_000,
};

/** The estimate falling this far below its recent peak means the link pushes back. */
const fallingEstimate = 0.9;
/** How far back the recent peak of the estimate reaches, ms. */
const estimatePeakWindowMs = 3000;
/** A trial succeeds when the estimate climbed by this factor (or reached the layer's bitrate). */
const trialClimb = 1.1;
/** A higher layer fits when its bitrate is at most this share of the estimate. */
const upMargin = 0.85;
/** The estimate shows headroom above the current layer's bitrate by this factor. */
const headroom = 1.3;
/** Bitrate of a never-measured layer relative to the one below it (twice the size each way, at lower bits per pixel). */
const layerBitrateStep = 3;
/** VP8 and VP9 have at most 4 temporal layers (TID 0–3). */
const allTemporalLayers = 3;
/** Frame rate assumed for the top temporal layer before one is measured. */
const nominalFrameRate = 30;

interface Trial {
  readonly from: number;
  readonly estimate: number;
  readonly until: number;
}

/**
 * Picks, for one subscriber of one video track, the simulcast layer and temporal layer to
 * forward: the highest that fit both its wishes and its link, moving down on congestion within
 * about a second, up when the estimate shows room, and trying the next layer up when it cannot
 * tell — with hysteresis and backoff so that a steady link does not flap.
 */
export class LayerSelector {
  readonly #settings: LayerSelectorSettings;
  #current: number | null = null;
  #congestedSince: number | null = null;
  #fitsUpSince: number | null = null;
  #headroomSince: number | null = null;
  #trial: Trial | null = null;
  #nextTrialAt = 0;
  #backoffMs: number;
  #estimates: { atMs: number; value: number }[] = [];
  #lastWanted: number | null = null;
  /**
   * A wish for more not yet tried: tried straight away (no hold, no backoff) as soon as the link
   * shows room, not only at the moment it came.
   */
  #wishPending = false;

  constructor(settings: LayerSelectorSettings = defaultLayerSelectorSettings) {
    this.#settings = settings;
    this.#backoffMs = settings.trialBackoffMs;
  }

  /** Starts over from a layer (video coming back after audio fallback): it climbs from there. */
  restartAt(spatial: number): void {
    this.#current = spatial;
    this.#trial = null;
    this.#congestedSince = this.#fitsUpSince = this.#headroomSince = null;
    this.#estimates = [];
  }

  /** Chooses the layers to forward now; null when no layer can be chosen yet. */
  choose(
    layers: readonly LayerView[],
    preferences: VideoPreferences,
    link: LinkView,
    nowMs: number,
  ): LayerChoice | null {
    const available = layers.flatMap((layer, index) => (layer.available ? [index] : []));
    if (available.length === 0) return null;
    const wanted = wantedLayer(layers, available, preferences);
    if (this.#lastWanted !== null && wanted !== this.#lastWanted)
      this.#wishPending = wanted > this.#lastWanted;
    this.#lastWanted = wanted;
    this.#noteEstimate(link.estimate, nowMs);
    const current = this.#current;
    let next: number;
    if (current === null || link.estimate === null || !available.includes(current)) {
      next =
        current === null || link.estimate === null
          ? wanted
          : this.#fitting(layers, available, wanted, link.estimate);
      this.#trial = null;
    } else if (wanted < current) {
      next = wanted; // a wish for less is granted at once
      this.#trial = null;
    } else {
      next = this.#adapt(layers, available, current, wanted, link, nowMs);
    }
    if (next >= wanted) this.#wishPending = false;
    if (next !== current) {
      this.#congestedSince = this.#fitsUpSince = this.#headroomSince = null;
    }
    this.#current = next;
    return { spatial: next, temporal: temporalLayerFor(layers[next] as LayerView, preferences.frameRate) };
  }

  /** Moves within what the link carries, from the current layer toward the wanted one. */
  #adapt(
    layers: readonly LayerView[],
    available: readonly number[],
    current: number,
    wanted: number,
    link: LinkView,
    nowMs: number,
  ): number {
    const estimate = link.estimate as number;
    const settings = this.#settings;
    const rate = (index: number): number => bitrateOf(layers, index);
    const congested =
      link.fractionLost > settings.congestedLoss || estimate < fallingEstimate * this.#recentPeak();
    const trial = this.#trial;
    if (trial) {
      // A trial holds while the estimate climbs with the new layer; a link that cannot carry it
      // keeps the estimate down, or loses packets.
      const failed =
        congested ||
        (nowMs >= trial.until && estimate < trialClimb * trial.estimate && estimate < rate(current));
      if (failed) {
        this.#trial = null;
        this.#nextTrialAt = nowMs + this.#backoffMs;
        this.#backoffMs = Math.min(this.#backoffMs * 2, settings.maxTrialBackoffMs);
        return Math.min(trial.from, wanted);
      }
      if (nowMs < trial.until) return current;
      this.#trial = null;
      this.#backoffMs = settings.trialBackoffMs;
    }
    if (congested && rate(current) > estimate) {
      this.#congestedSince ??= nowMs;
      if (nowMs - this.#congestedSince < settings.downDelayMs) return current;
      return this.#fitting(layers, available, current, estimate);
    }
    this.#congestedSince = null;
    const above = available.find((index) => index > current && index <= wanted);
    if (above === undefined) return current;
    if (rate(above) <= upMargin * estimate) {
      this.#fitsUpSince ??= nowMs;
      if (nowMs - this.#fitsUpSince >= settings.upDelayMs) return above;
    } else {
      this.#fitsUpSince = null;
    }
    const roomy = estimate >= headroom * rate(current) && link.fractionLost <= settings.congestedLoss / 5;
    if (!roomy) {
      this.#headroomSince = null;
      return current;
    }
    this.#headroomSince ??= nowMs;
    // A new wish for more is tried at once, straight to it; otherwise one layer up, when due.
    const wish = this.#wishPending;
    if (!wish && (nowMs - this.#headroomSince < settings.trialHoldMs || nowMs < this.#nextTrialAt))
      return current;
    this.#wishPending = false;
    this.#trial = { from: current, estimate, until: nowMs + settings.trialMs };
    return wish ? wanted : above;
  }

  /** The highest available layer up to `ceiling` whose bitrate fits the estimate; the lowest if none. */
  #fitting(
    layers: readonly LayerView[],
    available: readonly number[],
    ceiling: number,
    estimate: number,
  ): number {
    let chosen = available[0] as number;
    for (const index of available)
      if (index <= ceiling && bitrateOf(layers, index) <= estimate) chosen = index;
    return chosen;
  }

  #noteEstimate(estimate: number | null, nowMs: number): void {
    if (estimate === null) return;
    const last = this.#estimates.at(-1);
    if (last?.value !== estimate || nowMs - last.atMs > 500)
      this.#estimates.push({ atMs: nowMs, value: estimate });
    while ((this.#estimates[0]?.atMs ?? nowMs) < nowMs - estimatePeakWindowMs) this.#estimates.shift();
  }

  #recentPeak(): number {
    let peak = 0;
    for (const { value } of this.#estimates) peak = Math.max(peak, value);
    return peak;
  }
}

/** The layer nearest the wished size (on a log scale of area, the larger on a tie); the top without a wish. */
function wantedLayer(
  layers: readonly LayerView[],
  available: readonly number[],
  preferences: VideoPreferences,
): number {
  const top = available.at(-1) as number;
  const wish = preferences.resolution;
  if (!wish || wish.width <= 0 || wish.height <= 0) return top;
  const wishedArea = wish.width * wish.height;
  let best = top;
  let bestDistance = Infinity;
  for (const index of available) {
    const { width, height } = sizeOf(layers, index);
    if (width === 0) return top;
    const distance = Math.abs(Math.log((width * height) / wishedArea));
    if (distance <= bestDistance + 1e-9) {
      best = index;
      bestDistance = distance;
    }
  }
  return best;
}

/** A layer's size: measured, or halved per step down from a measured one. */
function sizeOf(layers: readonly LayerView[], index: number): { width: number; height: number } {
  const own = layers[index] as LayerView;
  if (own.width > 0) return own;
  for (let other = 0; other < layers.length; other++) {
    const known = layers[other] as LayerView;
    if (known.width === 0) continue;
    const scale = 2 ** (index - other);
    return { width: known.width * scale, height: known.height * scale };
  }
  return { width: 0, height: 0 };
}

/** A layer's bitrate at its full frame rate: measured, or estimated from a measured neighbour. */
export function bitrateOf(layers: readonly LayerView[], index: number): number {
  const measured = layers[index]?.bitrates.at(-1);
  if (measured) return measured;
  for (let other = 0; other < layers.length; other++) {
    const known = layers[other]?.bitrates.at(-1);
    if (known) return known * layerBitrateStep ** (index - other);
  }
  return 150_000 * layerBitrateStep ** index;
}

/** The highest temporal layer whose frame rate does not exceed the wish (by more than a fifth). */
export function temporalLayerFor(layer: LayerView, frameRate: number | null): number {
  const count = layer.frameRates.length;
  // Before the layers are measured, all of them: the first keyframe comes soon after.
  if (count === 0) return allTemporalLayers;
  if (count === 1 || frameRate === null) return count - 1;
  let chosen = 0;
  for (let t = 0; t < count; t++) {
    const rate = layer.frameRates[t] || nominalFrameRate / 2 ** (count - 1 - t);
    if (rate <= frameRate * 1.2) chosen = t;
  }
  return chosen;
}
