import { readFileSync } from 'node:fs';

/** The samples of a 16-bit PCM WAV file (its first channel), and its rate. */
export function readWav(path: string): { samples: Float64Array; sampleRate: number } {
  const file = readFileSync(path);
  let offset = 12;
  let sampleRate = 0;
  let channels = 1;
  while (offset + 8 <= file.length) {
    const id = file.toString('ascii', offset, offset + 4);
    const size = file.readUInt32LE(offset + 4);
    if (id === 'fmt ') {
      channels = file.readUInt16LE(offset + 10);
      sampleRate = file.readUInt32LE(offset + 12);
    } else if (id === 'data') {
      // A file still being written has no data size in its header yet: it runs to the end.
      const end = size === 0 ? file.length : Math.min(file.length, offset + 8 + size);
      const count = Math.floor((end - offset - 8) / (2 * channels));
      const samples = new Float64Array(count);
      for (let i = 0; i < count; i += 1) samples[i] = file.readInt16LE(offset + 8 + 2 * channels * i) / 32768;
      return { samples, sampleRate };
    }
    offset += 8 + size + (size % 2);
  }
  throw new Error(`${path} has no data chunk`);
}

/**
 * The share of the signal's power at each frequency (Goertzel over a Hann window): about 0.67 for
 * a pure tone, half that for each of two equal tones, near 0 for a frequency that is absent.
 */
export function toneShares(
  samples: Float64Array,
  sampleRate: number,
  frequencies: readonly number[],
): number[] {
  const n = samples.length;
  const windowed = samples.map((value, i) => value * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1))));
  const total = samples.reduce((sum, value) => sum + value * value, 0);
  return frequencies.map((frequency) => {
    const coefficient = 2 * Math.cos((2 * Math.PI * frequency) / sampleRate);
    let s1 = 0;
    let s2 = 0;
    for (const value of windowed) {
      const s0 = value + coefficient * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
    return total === 0 ? 0 : (2 * power) / (n * total) / 0.375;
  });
}
