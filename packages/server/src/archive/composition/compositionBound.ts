/**
 * How long composing an archive may take before ffmpeg is killed and the archive fails: a
 * multiple of the archive's duration, never less than a floor.
 */
export interface CompositionBound {
  /** Milliseconds of composition allowed per millisecond recorded. Default: 4. */
  readonly perRecordedMs?: number;
  /** The least time composition is allowed, whatever the archive's length, in ms. Default: 300000 (5 min). */
  readonly floorMs?: number;
}

/** The time composing an archive of `durationMs` may take, in ms. */
export function compositionTimeLimitMs(durationMs: number, bound: CompositionBound = {}): number {
  return Math.max(bound.floorMs ?? 300_000, (bound.perRecordedMs ?? 4) * Math.max(0, durationMs));
}
