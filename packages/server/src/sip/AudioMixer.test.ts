import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AudioMixer } from './AudioMixer.js';

test('the mixer sums its sources and clamps, without dividing by their number', () => {
  const mixer = new AudioMixer({ frameSamples: 4, maxQueuedSamples: 16 });
  mixer.push('a', Int16Array.from([1000, -1000, 30000, -30000]));
  mixer.push('b', Int16Array.from([2000, -2000, 30000, -30000]));
  assert.deepEqual([...mixer.mix()], [3000, -3000, 32767, -32768]);
  assert.deepEqual([...mixer.mix()], [0, 0, 0, 0]);
});

test('a source is mixed across chunk boundaries, and its oldest samples go past the bound', () => {
  const mixer = new AudioMixer({ frameSamples: 3, maxQueuedSamples: 4 });
  mixer.push('a', Int16Array.from([1, 2]));
  mixer.push('a', Int16Array.from([3, 4]));
  mixer.push('a', Int16Array.from([5, 6]));
  assert.deepEqual([...mixer.mix()], [3, 4, 5]);
  assert.deepEqual([...mixer.mix()], [6, 0, 0]);
  mixer.push('a', Int16Array.from([7]));
  mixer.remove('a');
  assert.deepEqual([...mixer.mix()], [0, 0, 0]);
});

test('with a jitter buffer, a source is mixed once it has enough queued, and again after it ran dry', () => {
  const mixer = new AudioMixer({ frameSamples: 2, maxQueuedSamples: 16, prebufferSamples: 4 });
  mixer.push('a', Int16Array.from([1, 2]));
  assert.deepEqual([...mixer.mix()], [0, 0]);
  mixer.push('a', Int16Array.from([3, 4]));
  assert.deepEqual([...mixer.mix()], [1, 2]);
  assert.deepEqual([...mixer.mix()], [3, 4]);
  mixer.push('a', Int16Array.from([5, 6]));
  assert.deepEqual([...mixer.mix()], [0, 0]);
});

test('a source whose queue stayed past its jitter buffer for a whole window is cut back to it (its audio no later than needed)', () => {
  const mixer = new AudioMixer({ frameSamples: 2, maxQueuedSamples: 64, prebufferSamples: 4 });
  // 20 samples queued at once, then exactly one frame in per frame out: 10 frames late for good.
  for (let n = 0; n < 10; n += 1) mixer.push('a', Int16Array.from([n, n]));
  for (let frame = 0; frame < 50; frame += 1) {
    mixer.push('a', Int16Array.from([100 + frame, 100 + frame]));
    mixer.mix();
  }
  // The window ended: what is left is the jitter buffer's 4 samples, the newest.
  mixer.push('a', Int16Array.from([150, 150]));
  assert.deepEqual([...mixer.mix()], [148, 148]);
  assert.deepEqual([...mixer.mix()], [149, 149]);
  assert.deepEqual([...mixer.mix()], [150, 150]);
});
