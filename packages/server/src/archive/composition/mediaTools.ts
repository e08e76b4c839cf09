import { ffprobeBeside, run } from './ffmpeg.js';

/** How long `-version` may take before a tool counts as unusable, in ms. */
const versionTimeoutMs = 10_000;

/**
 * Whether archives can be made with this ffmpeg and the ffprobe beside it: each is run with
 * `-version`. Resolves to why they cannot (naming the program), or null when both run.
 */
export async function mediaToolsProblem(ffmpegPath: string): Promise<string | null> {
  for (const program of [ffmpegPath, ffprobeBeside(ffmpegPath)]) {
    try {
      await run(program, ['-version'], AbortSignal.timeout(versionTimeoutMs));
    } catch (error) {
      return (error as Error).message;
    }
  }
  return null;
}
