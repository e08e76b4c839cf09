import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { composeArchive, type CompositionInput } from '@parlor/server/archive';

export interface ComposeFigures {
  readonly streams: number;
  /** Seconds of archive composed. */
  readonly archiveSeconds: number;
  /** Wall-clock seconds the composition took. */
  readonly composeSeconds: number;
  /** Archive seconds per wall-clock second. */
  readonly realTimeMultiple: number;
  /** CPU seconds ffmpeg used (user and system, all threads). */
  readonly cpuSeconds: number;
  /** Archive seconds per CPU second: the speed on one free core, whatever else runs. */
  readonly realTimeMultiplePerCore: number;
  /** The peer: decoding the same files and nothing else, as a multiple of real time. */
  readonly decodeOnlyMultiple: number;
}

const seconds = 30;
const streams = 4;

/**
 * Composition speed: four 640x480 VP8/Opus recordings of 30 s composed in a bestFit grid into a
 * 640x480 H.264/AAC MP4, as a multiple of real time, beside the bare decoding of the same files.
 */
export async function runComposeBench(): Promise<ComposeFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'parlor-compose-bench-'));
  try {
    const inputs: CompositionInput[] = [];
    for (let index = 0; index < streams; index++) {
      const file = join(dir, `stream-${index}.webm`);
      ffmpeg([
        ...['-f', 'lavfi', '-i', `testsrc2=size=640x480:rate=30:d=${seconds}`],
        ...['-f', 'lavfi', '-i', `sine=frequency=${300 + 100 * index}:sample_rate=48000:d=${seconds}`],
        ...['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '800k', '-c:a', 'libopus'],
        file,
      ]);
      inputs.push({
        file,
        videoType: null,
        offsetMs: 0,
        durationMs: seconds * 1000,
        hasVideo: true,
        hasAudio: true,
      });
    }

    const decodeStart = performance.now();
    ffmpeg([
      ...inputs.flatMap((input) => ['-i', input.file]),
      ...inputs.flatMap((_, i) => ['-map', `${i}`]),
      '-f',
      'null',
      '-',
    ]);
    const decodeSeconds = (performance.now() - decodeStart) / 1000;

    const start = performance.now();
    const cpuBefore = childCpuSeconds();
    await composeArchive('ffmpeg', {
      inputs,
      layouts: [{ atMs: 0, layout: { type: 'bestFit' } }],
      durationMs: seconds * 1000,
      width: 640,
      height: 480,
      hasVideo: true,
      hasAudio: true,
      maxBitrate: null,
      quantizationParameter: null,
      output: join(dir, 'archive.mp4'),
    });
    const composeSeconds = (performance.now() - start) / 1000;
    const cpuSeconds = childCpuSeconds() - cpuBefore;
    return {
      streams,
      archiveSeconds: seconds,
      composeSeconds,
      realTimeMultiple: seconds / composeSeconds,
      cpuSeconds,
      realTimeMultiplePerCore: seconds / cpuSeconds,
      decodeOnlyMultiple: seconds / decodeSeconds,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU time of the child processes that ended, from /proc (cutime and cstime, in clock ticks of 10 ms). */
function childCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

function ffmpeg(args: string[]): void {
  const result = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
  if (result.status !== 0) throw new Error(`ffmpeg failed: ${result.stderr.toString()}`);
}
