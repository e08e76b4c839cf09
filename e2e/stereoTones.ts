import assert from 'node:assert/strict';
import type { JSHandle } from 'playwright-core';

/** The tones of the stereo tests, one per channel, in Hz. */
export const stereoTones = { left: 500, right: 1500 } as const;

/**
 * Asserts that a subscriber's `<video>` plays each of `stereoTones` on its own channel: over a
 * second, a Web Audio analyser per channel reads its tone 20 dB above the other one.
 */
export async function expectTonesOnTheirChannels(video: JSHandle<HTMLVideoElement | null>): Promise<void> {
  const channels = await video.evaluate(async (element, tones) => {
    const track = (element?.srcObject as MediaStream | null)?.getAudioTracks()[0];
    if (!track) return null;
    const context = new AudioContext({ sampleRate: 48_000 });
    const splitter = context.createChannelSplitter(2);
    context.createMediaStreamSource(new MediaStream([track])).connect(splitter);
    const analysers = [0, 1].map((channel) => {
      const analyser = context.createAnalyser();
      analyser.fftSize = 4096;
      splitter.connect(analyser, channel);
      return analyser;
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const bin = (frequency: number) => Math.round((frequency / 48_000) * 4096);
    const levels = analysers.map((analyser) => {
      const spectrum = new Float32Array(analyser.frequencyBinCount);
      analyser.getFloatFrequencyData(spectrum);
      return {
        left: spectrum[bin(tones.left)] ?? -Infinity,
        right: spectrum[bin(tones.right)] ?? -Infinity,
      };
    });
    void context.close();
    return levels;
  }, stereoTones);
  assert.ok(channels, 'no audio track at the subscriber');
  const [left, right] = channels;
  assert.ok(left && left.left > left.right + 20, `left channel (dB): ${JSON.stringify(left)}`);
  assert.ok(right && right.right > right.left + 20, `right channel (dB): ${JSON.stringify(right)}`);
}
