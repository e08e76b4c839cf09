import { spawn } from 'node:child_process';
import { basename, dirname, join } from 'node:path';
import { compositionArgs, type CompositionSpec } from './compositionPlan.js';

/** ffmpeg or ffprobe failed: its exit status and the end of what it printed. */
export class FfmpegError extends Error {
  override readonly name = 'FfmpegError';
}

/** The tracks and length of a media file, as ffprobe reads them. */
export interface MediaInfo {
  readonly hasVideo: boolean;
  readonly hasAudio: boolean;
  readonly durationMs: number;
}

/** Where ffprobe is: beside the given ffmpeg, or on the PATH when ffmpeg is. */
export function ffprobeBeside(ffmpegPath: string): string {
  return ffmpegPath.includes('/')
    ? join(dirname(ffmpegPath), basename(ffmpegPath).replace('ffmpeg', 'ffprobe'))
    : 'ffprobe';
}

/**
 * Runs a program to its end, off the event loop; resolves to its standard output. `signal`
 * kills it outright: ffmpeg given SIGTERM goes on writing its output, and a stuck one may never end.
 */
export function run(program: string, args: readonly string[], signal?: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(signal ? { signal, killSignal: 'SIGKILL' } : {}),
    });
    const out: Buffer[] = [];
    let errText = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      // Only the end matters: that is where ffmpeg says what went wrong.
      errText = (errText + chunk.toString('utf8')).slice(-2000);
    });
    child.once('error', (error) => {
      reject(new FfmpegError(`${program} could not run: ${error.message}`, { cause: error }));
    });
    child.once('close', (code, killedBy) => {
      if (code === 0) resolve(Buffer.concat(out));
      else {
        const status = killedBy ? `was killed by ${killedBy}` : `exited with ${String(code)}`;
        reject(
          new FfmpegError(
            `${basename(program)} ${status}: ${errText.trim().split('\n').slice(-3).join(' / ')}`,
          ),
        );
      }
    });
  });
}

/** Composes an archive's MP4 with ffmpeg, in a child process. */
export async function composeArchive(
  ffmpegPath: string,
  spec: CompositionSpec,
  signal?: AbortSignal,
): Promise<void> {
  await run(ffmpegPath, compositionArgs(spec), signal);
}

/** Reads a media file's tracks and duration. */
export async function probeMedia(ffprobePath: string, file: string): Promise<MediaInfo> {
  const out = await run(ffprobePath, [
    '-v',
    'error',
    '-show_entries',
    'stream=codec_type:format=duration',
    '-of',
    'json',
    file,
  ]);
  const probed = JSON.parse(out.toString('utf8')) as {
    streams?: { codec_type?: string }[];
    format?: { duration?: string };
  };
  const types = new Set((probed.streams ?? []).map((stream) => stream.codec_type));
  const seconds = Number(probed.format?.duration ?? 0);
  return {
    hasVideo: types.has('video'),
    hasAudio: types.has('audio'),
    durationMs: Number.isFinite(seconds) ? Math.round(seconds * 1000) : 0,
  };
}
