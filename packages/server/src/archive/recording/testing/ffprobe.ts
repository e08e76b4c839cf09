import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface ProbedStream {
  readonly codec_name: string;
  readonly codec_type: 'audio' | 'video';
  readonly width?: number;
  readonly height?: number;
  /** Frames decoded by `-count_frames`. */
  readonly nb_read_frames?: string;
}

export interface Probe {
  readonly formatName: string;
  /** Seconds, from the file's Duration. */
  readonly duration: number;
  readonly streams: readonly ProbedStream[];
}

/** ffprobe's view of a file, decoding every frame to count them. */
export async function probe(path: string): Promise<Probe> {
  const { stdout } = await execFileAsync('ffprobe', [
    '-v',
    'error',
    '-count_frames',
    '-show_entries',
    'format=duration,format_name:stream=codec_name,codec_type,width,height,nb_read_frames',
    '-of',
    'json',
    path,
  ]);
  const parsed = JSON.parse(stdout) as {
    format: { duration?: string; format_name: string };
    streams: ProbedStream[];
  };
  return {
    formatName: parsed.format.format_name,
    duration: Number(parsed.format.duration ?? 'NaN'),
    streams: parsed.streams,
  };
}

/** What `ffmpeg -v error` prints while decoding the whole file: "" when it decodes cleanly. */
export async function decodeErrors(path: string): Promise<string> {
  const { stderr } = await execFileAsync('ffmpeg', ['-v', 'error', '-i', path, '-f', 'null', '-']);
  return stderr.trim();
}
