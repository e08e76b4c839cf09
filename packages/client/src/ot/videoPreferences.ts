import { invalidParameter } from './errors.js';

/** A size in pixels. */
export interface Dimensions {
  width: number;
  height: number;
}

/** A subscriber's preferred resolution: a size, or `auto` for the size it is rendered at. */
export type PreferredResolution = Dimensions | 'auto';

/** The largest size the signaling protocol carries, in pixels per side. */
const maxSide = 16384;
/** The frame rates the protocol carries. */
const frameRateRange = { min: 1, max: 240 };

/**
 * Checks a `preferredResolution` given by the application: `auto`, `{width, height}` in whole
 * pixels, or null/undefined for none. Throws OT_INVALID_PARAMETER naming the property otherwise.
 */
export function checkPreferredResolution(value: unknown): PreferredResolution | null {
  if (value === undefined || value === null) return null;
  if (value === 'auto') return 'auto';
  if (typeof value === 'object' && 'width' in value && 'height' in value) {
    const { width, height } = value;
    if (isSide(width) && isSide(height)) return { width, height };
  }
  throw invalidParameter('preferredResolution must be "auto" or {width, height} in whole pixels');
}

/** Checks a `preferredFrameRate` (OpenTok: 30, 15, 7 or 1): a number from 1 to 240, or null/undefined for none. */
export function checkPreferredFrameRate(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' && value >= frameRateRange.min && value <= frameRateRange.max) return value;
  throw invalidParameter(
    `preferredFrameRate must be a number from ${frameRateRange.min} to ${frameRateRange.max}`,
  );
}

function isSide(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= maxSide;
}
