import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Test media made by ffmpeg and read back frame by frame, to be packetized into RTP. A file made
 * before in the same folder with the same options is read back rather than encoded again, so
 * that a folder can serve as a cache.
 */

const execFileAsync = promisify(execFile);

export type VideoCodec = 'vp8' | 'vp9' | 'h264';

/** One encoded frame: a VP8/VP9 frame, or an H.264 access unit as its NAL units. */
export interface VideoFrame {
  readonly data: Buffer;
  /** H.264 only: the NAL units of the access unit, without start codes. */
  readonly nalUnits: readonly Buffer[];
  readonly keyframe: boolean;
  /** 0, 1, 2… in display order (no B-frames here, so also in decode order). */
  readonly index: number;
}

export interface VideoClip {
  readonly codec: VideoCodec;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly frames: readonly VideoFrame[];
}

export interface VideoClipOptions {
  readonly seconds: number;
  /** Default: 320. */
  readonly width?: number;
  /** Default: 240. */
  readonly height?: number;
  /** Default: 30. */
  readonly fps?: number;
  /** Frames from one keyframe to the next. Default: 60. */
  readonly keyframeInterval?: number;
  /** Default: 600k. */
  readonly bitrate?: string;
  /**
   * Strength (0–100) of random noise added to every frame, new in each (ffmpeg's `noise`
   * filter), so that the encoder spends its whole bitrate, as it does on a real camera. Default: 0.
   */
  readonly noise?: number;
}

/** Encodes a moving test pattern the way a WebRTC sender would: no B-frames, no hidden frames. */
export async function makeVideoClip(
  folder: string,
  codec: VideoCodec,
  options: VideoClipOptions,
): Promise<VideoClip> {
  const width = options.width ?? 320;
  const height = options.height ?? 240;
  const fps = options.fps ?? 30;
  const gop = String(options.keyframeInterval ?? 60);
  const bitrate = options.bitrate ?? '600k';
  const noise = options.noise ?? 0;
  const file = join(
    folder,
    `clip-${codec}-${width}x${height}-${fps}fps-${options.seconds}s-${bitrate}-g${gop}-n${noise}.${codec === 'h264' ? 'h264' : 'ivf'}`,
  );
  const source = `testsrc2=size=${width}x${height}:rate=${fps}`;
  const input = [
    '-f',
    'lavfi',
    '-i',
    noise > 0 ? `${source},noise=alls=${noise}:allf=t+u` : source,
    '-t',
    String(options.seconds),
  ];
  const encoder = {
    vp8: [
      '-c:v',
      'libvpx',
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-auto-alt-ref',
      '0',
      '-lag-in-frames',
      '0',
      '-f',
      'ivf',
    ],
    vp9: [
      '-c:v',
      'libvpx-vp9',
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-lag-in-frames',
      '0',
      '-f',
      'ivf',
    ],
    h264: [
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-tune',
      'zerolatency',
      '-profile:v',
      'baseline',
      '-pix_fmt',
      'yuv420p',
      '-x264-params',
      `keyint=${gop}:min-keyint=${gop}:scenecut=0:repeat-headers=1:aud=1`,
      '-f',
      'h264',
    ],
  }[codec];
  await encodeOnce(file, (output) => [
    '-v',
    'error',
    '-y',
    ...input,
    '-b:v',
    bitrate,
    '-g',
    gop,
    ...encoder,
    output,
  ]);
  const bytes = await readFile(file);
  const frames = codec === 'h264' ? readAnnexB(bytes) : readIvf(bytes, codec);
  return { codec, width, height, fps, frames };
}

/** Opus packets of 20 ms, stereo, at 48 kHz. */
export async function makeOpusClip(folder: string, seconds: number): Promise<Buffer[]> {
  const file = join(folder, `clip-opus-${seconds}s.ogg`);
  await encodeOnce(file, (output) => [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    String(seconds),
    '-ac',
    '2',
    '-c:a',
    'libopus',
    '-b:a',
    '48k',
    '-frame_duration',
    '20',
    '-application',
    'voip',
    '-f',
    'ogg',
    output,
  ]);
  // The first two packets are the OpusHead and OpusTags headers (RFC 7845 §3).
  return readOggPackets(await readFile(file)).slice(2);
}

/**
 * Runs ffmpeg with the arguments for an output path unless `file` exists; it writes beside it
 * and renames, so that a run cut short leaves no half file to be read back later.
 */
async function encodeOnce(file: string, ffmpegArguments: (output: string) => string[]): Promise<void> {
  if (existsSync(file)) return;
  const partial = `${file}.${process.pid}.part`;
  await execFileAsync('ffmpeg', ffmpegArguments(partial));
  await rename(partial, file);
}

/** IVF: a 32-byte file header, then per frame a 12-byte header (size, timestamp) and the frame. */
function readIvf(bytes: Buffer, codec: 'vp8' | 'vp9'): VideoFrame[] {
  const frames: VideoFrame[] = [];
  let offset = bytes.readUInt16LE(6);
  while (offset + 12 <= bytes.length) {
    const size = bytes.readUInt32LE(offset);
    const data = bytes.subarray(offset + 12, offset + 12 + size);
    offset += 12 + size;
    // VP8: frame tag bit 0 clear. VP9 profile 0: frame_marker 2, profile 0, show_existing_frame 0, frame_type 0.
    const keyframe =
      codec === 'vp8' ? ((data[0] as number) & 0x01) === 0 : ((data[0] as number) & 0xfc) === 0x80;
    frames.push({ data, nalUnits: [], keyframe, index: frames.length });
  }
  return frames;
}

/** Annex B byte stream, one access unit from each access unit delimiter (NAL type 9) to the next. */
function readAnnexB(bytes: Buffer): VideoFrame[] {
  const nals: Buffer[] = [];
  let start = -1;
  for (let i = 0; i + 2 < bytes.length; i++) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1) {
      if (start >= 0) nals.push(trimZeros(bytes.subarray(start, i)));
      start = i + 3;
      i += 2;
    }
  }
  if (start >= 0) nals.push(bytes.subarray(start));
  const frames: VideoFrame[] = [];
  let current: Buffer[] = [];
  const flush = (): void => {
    if (current.length === 0) return;
    const keyframe = current.some((nal) => ((nal[0] as number) & 0x1f) === 5);
    frames.push({ data: Buffer.concat(current), nalUnits: current, keyframe, index: frames.length });
    current = [];
  };
  for (const nal of nals) {
    if (((nal[0] as number) & 0x1f) === 9) flush();
    else current.push(nal);
  }
  flush();
  return frames;
}

/** A 4-byte start code leaves one zero at the end of the previous NAL unit. */
function trimZeros(nal: Buffer): Buffer {
  let end = nal.length;
  while (end > 0 && nal[end - 1] === 0) end--;
  return nal.subarray(0, end);
}

/** Ogg pages (RFC 3533): packets are runs of lacing values ending with one below 255. */
function readOggPackets(bytes: Buffer): Buffer[] {
  const packets: Buffer[] = [];
  let pending: Buffer[] = [];
  let offset = 0;
  while (offset + 27 <= bytes.length && bytes.toString('latin1', offset, offset + 4) === 'OggS') {
    const segments = bytes[offset + 26] as number;
    const table = bytes.subarray(offset + 27, offset + 27 + segments);
    let data = offset + 27 + segments;
    for (const lacing of table) {
      pending.push(bytes.subarray(data, data + lacing));
      data += lacing;
      if (lacing < 255) {
        packets.push(Buffer.concat(pending));
        pending = [];
      }
    }
    offset = data;
  }
  return packets;
}
