/**
 * Quality scores on OpenTok's scale: 1 (bad) to 4.5 (excellent), as a mean opinion score. The
 * thresholds are the Inspector's: 4 and up is excellent, 3 good, 2 fair, below 2 poor.
 */
export const maxQualityScore = 4.5;
export const minQualityScore = 1;

/** Audio frames are 20 ms: what the sender and the jitter buffer add to the network's delay, ms. */
const localDelayMs = 20;

/**
 * The audio score: ITU-T G.107's E-model reduced to delay and loss, with the loss impairment of
 * a robust wideband codec (Opus), as OpenTok's network test computes it. `rttMs` is the round
 * trip; `lossRatio` the packets lost over those expected, 0–1.
 */
export function audioQualityScore(rttMs: number, lossRatio: number): number {
  const delay = Math.max(0, rttMs) + localDelayMs;
  const delayImpairment = 0.024 * delay + (delay > 177.3 ? 0.11 * (delay - 177.3) : 0);
  const lossImpairment = 19.8 * Math.log(1 + 29.7 * Math.min(1, Math.max(0, lossRatio)));
  return mosOf(93.2 - delayImpairment - lossImpairment);
}

/** G.107's mapping of the transmission rating R to a mean opinion score. */
function mosOf(r: number): number {
  if (r <= 0) return minQualityScore;
  if (r >= 100) return maxQualityScore;
  return Math.min(
    maxQualityScore,
    Math.max(minQualityScore, 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)),
  );
}

/** What the video score is computed from. */
export interface VideoScoreInput {
  /** Video bits per second received (or sent). */
  readonly bitrate: number;
  readonly width: number;
  readonly height: number;
  /** Frames per second decoded (or encoded). */
  readonly frameRate: number;
  /** The frame rate the stream is meant to have. */
  readonly targetFrameRate: number;
  readonly rttMs: number;
}

/** Bits per pixel per frame at and below which video scores 1, and at and above which it scores 4.5 (VP8, H.264). */
const poorBitsPerPixel = 0.01;
const excellentBitsPerPixel = 0.1;
/** The score taken off per whole frame-rate shortfall: half the frames cost 1. */
const frameRatePenalty = 2;
/** Round trips up to this long cost nothing; each further `delayStepMs` costs one point, ms. */
const delayFreeMs = 300;
const delayStepMs = 400;

/**
 * The video score: how many bits each pixel of each frame gets (on a log scale from
 * `poorBitsPerPixel` to `excellentBitsPerPixel`), less the frame-rate shortfall against the
 * stream's own rate and the delay past 300 ms of round trip. No frames is the lowest score.
 */
export function videoQualityScore(input: VideoScoreInput): number {
  const pixelsPerSecond = input.width * input.height * input.frameRate;
  if (pixelsPerSecond <= 0 || input.bitrate <= 0) return minQualityScore;
  const bitsPerPixel = input.bitrate / pixelsPerSecond;
  const span = Math.log(excellentBitsPerPixel / poorBitsPerPixel);
  const base =
    minQualityScore +
    (maxQualityScore - minQualityScore) * (Math.log(bitsPerPixel / poorBitsPerPixel) / span);
  const shortfall = input.targetFrameRate > 0 ? Math.max(0, 1 - input.frameRate / input.targetFrameRate) : 0;
  const delay = Math.max(0, input.rttMs - delayFreeMs) / delayStepMs;
  const score = Math.min(base, maxQualityScore) - frameRatePenalty * shortfall - delay;
  return Math.min(maxQualityScore, Math.max(minQualityScore, score));
}
