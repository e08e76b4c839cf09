import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { VideoType } from '@parlor/protocol';
import {
  compositionArgs,
  placements,
  type CompositionInput,
  type CompositionSpec,
} from './compositionPlan.js';
import { run } from './ffmpeg.js';
import { layoutTiles } from './layoutTiles.js';

// Composition with ffmpeg from per-stream WebM files, checked with ffprobe and with frames read
// back as grey pixels: streams where the layout puts them, black elsewhere.

const dir = mkdtempSync(join(tmpdir(), 'parlor-compose-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Makes a VP8/Opus WebM of a solid colour (and a tone), as a recorder would have written it. */
function recording(
  name: string,
  color: string,
  seconds: number,
  size = '320x240',
  tone: number | null = 440,
): string {
  const file = join(dir, `${name}.webm`);
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `color=c=${color}:s=${size}:r=15:d=${seconds}`],
    ...(tone === null ? [] : ['-f', 'lavfi', '-i', `sine=frequency=${tone}:sample_rate=48000:d=${seconds}`]),
    ...['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k'],
    ...(tone === null ? [] : ['-c:a', 'libopus']),
    file,
  ]);
  return file;
}

function input(
  file: string,
  offsetMs: number,
  durationMs: number,
  videoType: VideoType | null = null,
  hasAudio = true,
): CompositionInput {
  return { file, videoType, offsetMs, durationMs, hasVideo: true, hasAudio };
}

function spec(
  inputs: CompositionInput[],
  layout: CompositionSpec['layouts'][number]['layout'],
  durationMs: number,
  output: string,
): CompositionSpec {
  return {
    inputs,
    layouts: [{ atMs: 0, layout }],
    durationMs,
    width: 640,
    height: 480,
    hasVideo: true,
    hasAudio: true,
    maxBitrate: null,
    quantizationParameter: null,
    output: join(dir, output),
  };
}

/** The mean grey level (0-255) of a rectangle of the frame at `seconds`. */
function brightness(
  file: string,
  seconds: number,
): (x: number, y: number, width: number, height: number) => number {
  const frame = execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-ss', String(seconds), '-i', file],
    ...['-frames:v', '1', '-vf', 'format=gray', '-f', 'rawvideo', '-'],
  ]);
  return (x, y, width, height) => {
    let sum = 0;
    for (let row = y; row < y + height; row++) {
      for (let column = x; column < x + width; column++) sum += frame[row * 640 + column] as number;
    }
    return sum / (width * height);
  };
}

function probe(file: string): { width: number; height: number; duration: number; codecs: string[] } {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file]);
  const probed = JSON.parse(out.toString()) as {
    streams: { codec_name: string; width?: number; height?: number }[];
    format: { duration: string };
  };
  const video = probed.streams.find((stream) => stream.width !== undefined);
  return {
    width: video?.width ?? 0,
    height: video?.height ?? 0,
    duration: Number(probed.format.duration),
    codecs: probed.streams.map((stream) => stream.codec_name).sort(),
  };
}

/** The loudest sample between two times, in dB. */
function loudness(file: string, from: number, seconds: number): number {
  const { stderr } = spawnSync(
    'ffmpeg',
    [
      '-hide_banner',
      '-ss',
      String(from),
      '-t',
      String(seconds),
      '-i',
      file,
      '-af',
      'volumedetect',
      '-vn',
      '-f',
      'null',
      '-',
    ],
    { encoding: 'utf8' },
  );
  const match = /max_volume: (-?[\d.]+) dB/.exec(stderr);
  return match ? Number(match[1]) : -Infinity;
}

let white: string;
let gray: string;
let widescreen: string;

before(() => {
  white = recording('white', 'white', 4);
  gray = recording('gray', 'gray', 3, '320x240', 660);
  widescreen = recording('wide', 'white', 3, '640x360', null);
});

describe('composition', () => {
  it('makes one MP4 of the requested resolution and duration, streams placed at their offsets in a bestFit grid, black where no one is', async () => {
    const composed = spec(
      [input(white, 0, 4000), input(gray, 2000, 3000)],
      { type: 'bestFit' },
      6000,
      'grid.mp4',
    );
    await run('ffmpeg', compositionArgs(composed));
    const probed = probe(composed.output);
    assert.deepEqual([probed.width, probed.height], [640, 480]);
    assert.ok(Math.abs(probed.duration - 6) < 0.1, `duration ${probed.duration}`);
    assert.deepEqual(probed.codecs, ['aac', 'h264']);

    // 0-2 s: the first stream alone fills the picture.
    assert.ok(brightness(composed.output, 1)(0, 0, 640, 480) > 200);
    // 2-4 s: two tiles of 320x480, each 4:3 picture letterboxed to 320x240 in its middle.
    const both = brightness(composed.output, 3);
    assert.ok(both(20, 140, 280, 200) > 200, 'white tile on the left');
    const right = both(340, 140, 280, 200);
    assert.ok(right > 90 && right < 170, `gray tile on the right: ${right}`);
    assert.ok(both(0, 0, 640, 110) < 20, 'black above the tiles');
    assert.ok(both(0, 370, 640, 110) < 20, 'black below the tiles');
    // 4-5 s: the second stream alone; 5-6 s: nobody.
    const alone = brightness(composed.output, 4.5)(0, 0, 640, 480);
    assert.ok(alone > 90 && alone < 170, `gray alone: ${alone}`);
    assert.ok(brightness(composed.output, 5.5)(0, 0, 640, 480) < 20);

    // Sound while streams are there, silence after.
    assert.ok(loudness(composed.output, 0.5, 1) > -30);
    assert.ok(loudness(composed.output, 5.2, 0.6) < -60);
  });

  it('puts the second stream small in the lower right corner in pip', async () => {
    const composed = spec([input(white, 0, 3000), input(gray, 0, 3000)], { type: 'pip' }, 3000, 'pip.mp4');
    await run('ffmpeg', compositionArgs(composed));
    const [, small] = layoutTiles('pip', 2, 640, 480);
    assert.ok(small);
    const frame = brightness(composed.output, 1.5);
    const inside = frame(small.x + 10, small.y + 10, small.width - 20, small.height - 20);
    assert.ok(inside > 90 && inside < 170, `small gray tile: ${inside}`);
    assert.ok(frame(0, 0, 400, 300) > 200, 'the large stream around it');
  });

  it('puts a screen-sharing stream in focus in verticalPresentation, the others in a column on the right', async () => {
    const composed = spec(
      [input(gray, 0, 3000), input(white, 0, 3000, 'screen'), input(gray, 0, 3000)],
      { type: 'verticalPresentation' },
      3000,
      'vertical.mp4',
    );
    await run('ffmpeg', compositionArgs(composed));
    const tiles = layoutTiles('verticalPresentation', 3, 640, 480);
    const [focus, first] = tiles;
    assert.ok(focus && first);
    const frame = brightness(composed.output, 1.5);
    // The focus tile (512x480) holds a 4:3 picture: 512x384, letterboxed.
    assert.ok(frame(focus.x + 20, 120, focus.width - 40, 240) > 200, 'the screen in focus, on the left');
    assert.ok(frame(focus.x, 0, focus.width, 40) < 20, 'black above it');
    const column = frame(first.x + 10, first.y + 80, first.width - 20, 60);
    assert.ok(column > 90 && column < 170, `a gray tile in the column: ${column}`);
  });

  it('keeps a widescreen stream in proportion in horizontalPresentation, with bands where it does not fill its tile', async () => {
    const composed = spec(
      [input(widescreen, 0, 3000, null, false), input(gray, 0, 3000)],
      { type: 'horizontalPresentation' },
      3000,
      'horizontal.mp4',
    );
    await run('ffmpeg', compositionArgs(composed));
    const [focus, below] = layoutTiles('horizontalPresentation', 2, 640, 480);
    assert.ok(focus && below);
    const frame = brightness(composed.output, 1.5);
    // 640x360 into a 640x384 tile: full width, 12 px bands above and below.
    assert.ok(frame(0, 20, 640, 340) > 200);
    assert.ok(frame(0, 0, 640, 10) < 20);
    const bottom = frame(below.width / 2 - 20, below.y + 20, 40, below.height - 40);
    assert.ok(bottom > 90 && bottom < 170, `the other stream below: ${bottom}`);
  });

  it('switches layout where a layout change says, and draws custom as bestFit', () => {
    const changed: CompositionSpec = {
      ...spec(
        [input(white, 0, 4000), input(gray, 0, 4000)],
        { type: 'custom', stylesheet: 'x' },
        4000,
        'x.mp4',
      ),
      layouts: [
        { atMs: 0, layout: { type: 'custom', stylesheet: 'x' } },
        { atMs: 2000, layout: { type: 'pip' } },
      ],
    };
    const shown = placements(changed);
    const grid = layoutTiles('bestFit', 2, 640, 480);
    const pip = layoutTiles('pip', 2, 640, 480);
    assert.deepEqual(
      shown.map(({ input: index, startMs, endMs, tile }) => [index, startMs, endMs, tile]),
      [
        [0, 0, 2000, grid[0]],
        [1, 0, 2000, grid[1]],
        [0, 2000, 4000, pip[0]],
        [1, 2000, 4000, pip[1]],
      ],
    );
  });
});
