import type { ArchiveLayout, VideoType } from '@parlor/protocol';
import type { LayoutChange } from '../../store/ArchiveRepository.js';
import { layoutTiles, type DrawnLayoutType, type Tile } from './layoutTiles.js';

/** One recorded file, placed on the archive's timeline. */
export interface CompositionInput {
  readonly file: string;
  readonly videoType: VideoType | null;
  /** Milliseconds from the archive's start to the file's time zero. */
  readonly offsetMs: number;
  readonly durationMs: number;
  /** Which tracks the file has. */
  readonly hasVideo: boolean;
  readonly hasAudio: boolean;
}

export interface CompositionSpec {
  readonly inputs: readonly CompositionInput[];
  /** At least one; the first from 0. */
  readonly layouts: readonly LayoutChange[];
  readonly durationMs: number;
  readonly width: number;
  readonly height: number;
  readonly hasVideo: boolean;
  readonly hasAudio: boolean;
  /** Caps the video bitrate (bits per second); null for constant quality. */
  readonly maxBitrate: number | null;
  /** A fixed H.264 quantizer instead of constant quality; null for none. */
  readonly quantizationParameter: number | null;
  /** The MP4 to write. */
  readonly output: string;
}

/** A stream's tile over a stretch of the timeline. */
export interface Placement {
  readonly input: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly tile: Tile;
}

/** Frame rate of composed archives. */
export const composedFrameRate = 25;

/** Samples per frame of the AAC encoder that composed archives' audio goes through. */
const aacFrameSamples = 1024;

/**
 * Where each video input is shown and when: the timeline is cut wherever a stream starts or
 * stops or the layout changes, and each stretch gets the layout in force with the streams
 * present. The focus of `pip` and the presentations is a screen-sharing stream if there is one,
 * else the stream that started first; a `screenshareType` applies while a screen is shared.
 */
export function placements(spec: CompositionSpec): Placement[] {
  const video = spec.inputs
    .map((input, index) => ({ input, index, start: input.offsetMs, end: input.offsetMs + input.durationMs }))
    .filter(({ input, start, end }) => input.hasVideo && end > 0 && start < spec.durationMs && end > start)
    .sort((a, b) => a.start - b.start || a.index - b.index);
  const cuts = new Set([0, spec.durationMs]);
  for (const { start, end } of video) {
    cuts.add(clamp(start, spec.durationMs));
    cuts.add(clamp(end, spec.durationMs));
  }
  for (const change of spec.layouts) cuts.add(clamp(change.atMs, spec.durationMs));
  const times = [...cuts].sort((a, b) => a - b);

  const result: Placement[] = [];
  /** The placement each input had in the previous stretch, to extend when it stays put. */
  const previous = new Map<number, Placement>();
  for (let i = 0; i + 1 < times.length; i++) {
    const startMs = times[i] as number;
    const endMs = times[i + 1] as number;
    const present = video.filter(({ start, end }) => start <= startMs && end >= endMs);
    const screen = present.find(({ input }) => input.videoType === 'screen');
    const layout = layoutAt(spec.layouts, startMs);
    const type = drawnType(screen && layout.screenshareType ? layout.screenshareType : layout.type);
    const ordered = screen ? [screen, ...present.filter((each) => each !== screen)] : present;
    const tiles = layoutTiles(type, ordered.length, spec.width, spec.height);
    ordered.forEach(({ index }, order) => {
      const tile = tiles[order] as Tile;
      const last = previous.get(index);
      if (last && last.endMs === startMs && sameTile(last.tile, tile)) {
        const extended = { ...last, endMs };
        result[result.indexOf(last)] = extended;
        previous.set(index, extended);
        return;
      }
      const placement = { input: index, startMs, endMs, tile };
      result.push(placement);
      previous.set(index, placement);
    });
  }
  return result;
}

/**
 * ffmpeg's arguments for the composition: each file shifted to its offset (`-itsoffset`), a black
 * picture at the archive's resolution with each placement overlaid (scaled to fit its tile,
 * letterboxed, kept in proportion), the audio of every file mixed (silence before and between),
 * H.264 and AAC in an MP4 whose index is at the front.
 */
export function compositionArgs(spec: CompositionSpec): string[] {
  const seconds = (ms: number): string => (ms / 1000).toFixed(3);
  const durationMs = Math.max(spec.durationMs, 1000);
  const filters: string[] = [];
  const maps: string[] = [];

  if (spec.hasVideo) {
    const shown = placements(spec);
    const uses = new Map<number, string[]>();
    shown.forEach((placement, index) => {
      const labels = uses.get(placement.input) ?? [];
      labels.push(`s${index}`);
      uses.set(placement.input, labels);
    });
    for (const [input, labels] of uses) {
      const split = labels.length > 1 ? `,split=${labels.length}` : '';
      filters.push(`[${input}:v]fps=${composedFrameRate}${split}${labels.map((l) => `[${l}]`).join('')}`);
    }
    filters.push(
      `color=c=black:s=${spec.width}x${spec.height}:r=${composedFrameRate}:d=${seconds(durationMs)}[base]`,
    );
    let base = 'base';
    shown.forEach(({ startMs, endMs, tile }, index) => {
      const { width: w, height: h } = tile;
      filters.push(
        `[s${index}]trim=start=${seconds(startMs)}:end=${seconds(endMs)},` +
          `scale=${w}:${h}:force_original_aspect_ratio=decrease:force_divisible_by=2:flags=bilinear,` +
          `pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=black[t${index}]`,
      );
      const out = index === shown.length - 1 ? 'vout' : `o${index}`;
      filters.push(`[${base}][t${index}]overlay=${tile.x}:${tile.y}:eof_action=pass[${out}]`);
      base = out;
    });
    if (shown.length === 0) filters.push('[base]null[vout]');
    maps.push('-map', '[vout]');
  }

  if (spec.hasAudio) {
    const audio = spec.inputs.flatMap((input, index) => (input.hasAudio ? [index] : []));
    audio.forEach((input) => {
      // Silence from the archive's start to the file's first sample, and in its gaps.
      filters.push(
        `[${input}:a]aresample=async=1:first_pts=0,aformat=sample_rates=48000:channel_layouts=stereo[a${input}]`,
      );
    });
    // Frames of exactly the AAC encoder's 1,024 samples: ffmpeg 5.1 does not always split larger
    // ones for it, and fails the whole composition ("more samples than frame size").
    const aacFrames = `asetnsamples=n=${aacFrameSamples}`;
    if (audio.length === 0) filters.push(`anullsrc=r=48000:cl=stereo,${aacFrames}[aout]`);
    else if (audio.length === 1) filters.push(`[a${audio[0] as number}]apad,${aacFrames}[aout]`);
    else {
      const labels = audio.map((input) => `[a${input}]`).join('');
      filters.push(
        `${labels}amix=inputs=${audio.length}:duration=longest:normalize=0,apad,${aacFrames}[aout]`,
      );
    }
    maps.push('-map', '[aout]');
  }

  const inputs = spec.inputs.flatMap((input) => ['-itsoffset', seconds(input.offsetMs), '-i', input.file]);
  const quality =
    spec.quantizationParameter !== null
      ? ['-qp', String(spec.quantizationParameter)]
      : ['-crf', '23', ...(spec.maxBitrate === null ? [] : bitrateCap(spec.maxBitrate))];
  const videoCodec = spec.hasVideo
    ? ['-c:v', 'libx264', '-preset', 'veryfast', ...quality, '-pix_fmt', 'yuv420p']
    : [];
  const audioCodec = spec.hasAudio ? ['-c:a', 'aac', '-b:a', '128k', '-ar', '48000'] : [];
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    ...inputs,
    '-filter_complex',
    filters.join(';'),
    ...maps,
    ...videoCodec,
    ...audioCodec,
    '-t',
    seconds(durationMs),
    '-movflags',
    '+faststart',
    spec.output,
  ];
}

function bitrateCap(bitsPerSecond: number): string[] {
  return ['-maxrate', String(bitsPerSecond), '-bufsize', String(2 * bitsPerSecond)];
}

function layoutAt(layouts: readonly LayoutChange[], atMs: number): ArchiveLayout {
  let current = layouts[0]?.layout ?? { type: 'bestFit' };
  for (const change of layouts) if (change.atMs <= atMs) current = change.layout;
  return current;
}

function drawnType(type: ArchiveLayout['type']): DrawnLayoutType {
  return type === 'custom' ? 'bestFit' : type;
}

function sameTile(a: Tile, b: Tile): boolean {
  return a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
}

function clamp(ms: number, max: number): number {
  return Math.min(Math.max(ms, 0), max);
}
