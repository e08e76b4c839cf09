import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { G722Decoder, G722Encoder } from './g722.js';

// Vectors from another implementation: ffmpeg's G.722 encoder and decoder (Debian's ffmpeg).

const rate = 16000;

function sine(frequencies: readonly number[], seconds: number): Int16Array {
  return Int16Array.from({ length: rate * seconds }, (_, i) =>
    Math.round(frequencies.reduce((sum, hz) => sum + 6000 * Math.sin((2 * Math.PI * hz * i) / rate), 0)),
  );
}

function ffmpeg(args: readonly string[], input: Buffer): Buffer {
  return execFileSync('ffmpeg', ['-v', 'error', ...args], { input, maxBuffer: 16 * 1024 * 1024 });
}

function pcmBytes(samples: Int16Array): Buffer {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}

function samplesOf(bytes: Buffer): Int16Array {
  return Int16Array.from({ length: bytes.length / 2 }, (_, i) => bytes.readInt16LE(2 * i));
}

/** Signal-to-noise ratio of `actual` against `expected`, in dB. */
function snr(expected: Int16Array, actual: Int16Array): number {
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < expected.length; i += 1) {
    const e = expected[i] ?? 0;
    signal += e * e;
    noise += (e - (actual[i] ?? 0)) ** 2;
  }
  return 10 * Math.log10(signal / Math.max(noise, 1));
}

describe('G.722', () => {
  const input = sine([440, 3300], 1);
  const ffmpegBitstream = ffmpeg(
    ['-f', 's16le', '-ar', '16000', '-ac', '1', '-i', 'pipe:0', '-c:a', 'g722', '-f', 'g722', 'pipe:1'],
    pcmBytes(input),
  );

  it("decodes ffmpeg's bitstream as ffmpeg's decoder does", () => {
    const ours = new G722Decoder().decode(ffmpegBitstream);
    const theirs = samplesOf(
      ffmpeg(['-f', 'g722', '-i', 'pipe:0', '-f', 's16le', 'pipe:1'], ffmpegBitstream),
    );
    assert.equal(ours.length, theirs.length);
    assert.ok(snr(theirs, ours) > 90, `our decoding against ffmpeg's: ${snr(theirs, ours).toFixed(1)} dB`);
  });

  it("encodes, frame by frame, ffmpeg's bitstream, which decodes back to the input", () => {
    const encoder = new G722Encoder();
    const frames: Buffer[] = [];
    for (let offset = 0; offset < input.length; offset += 320)
      frames.push(encoder.encode(input.subarray(offset, offset + 320)));
    const ours = Buffer.concat(frames);
    assert.equal(ours.length, input.length / 2);
    assert.ok(ours.equals(ffmpegBitstream), "our bitstream is the same as ffmpeg's");
    const decoded = samplesOf(ffmpeg(['-f', 'g722', '-i', 'pipe:0', '-f', 's16le', 'pipe:1'], ours));
    // The codec's filters delay the signal by 22 samples.
    const delay = 22;
    const quality = snr(input.subarray(0, input.length - delay), decoded.subarray(delay));
    assert.ok(quality > 20, `input against ffmpeg's decoding of ours: ${quality.toFixed(1)} dB`);
    const roundTrip = new G722Decoder().decode(ours);
    assert.ok(snr(decoded, roundTrip) > 40);
  });
});
