import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isScalable,
  simulcastLayerCount,
  videoBitrateCap,
  videoSendEncodings,
} from '../src/core/videoEncodings.js';

describe('video encodings', () => {
  it('sends a 1280x720 camera to the router in three L1T3 layers, lowest first: q, h and f', () => {
    assert.deepEqual(
      videoSendEncodings({ size: { width: 1280, height: 720 }, frameRate: 30, simulcast: true }),
      [
        {
          rid: 'q',
          scaleResolutionDownBy: 4,
          maxFramerate: 30,
          maxBitrate: 150_000,
          scalabilityMode: 'L1T3',
        },
        {
          rid: 'h',
          scaleResolutionDownBy: 2,
          maxFramerate: 30,
          maxBitrate: 500_000,
          scalabilityMode: 'L1T3',
        },
        {
          rid: 'f',
          scaleResolutionDownBy: 1,
          maxFramerate: 30,
          maxBitrate: 1_500_000,
          scalabilityMode: 'L1T3',
        },
      ],
    );
  });

  it('sends as many layers as Chromium does for the size: three from 960x540, two from 480x270, else one', () => {
    const rids = (width: number, height: number) =>
      videoSendEncodings({ size: { width, height }, frameRate: 30, simulcast: true }).map(({ rid }) => rid);
    assert.deepEqual(rids(1920, 1080), ['q', 'h', 'f']);
    assert.deepEqual(rids(960, 540), ['q', 'h', 'f']);
    assert.deepEqual(rids(640, 480), ['h', 'f']);
    assert.deepEqual(rids(480, 270), ['h', 'f']);
    assert.deepEqual(rids(320, 240), [undefined]);
    assert.deepEqual([simulcastLayerCount(854, 480), simulcastLayerCount(320, 180)], [2, 1]);
  });

  it('sends one encoding without RID when not scalable, capped for its size', () => {
    assert.deepEqual(
      videoSendEncodings({ size: { width: 640, height: 480 }, frameRate: 30, simulcast: false }),
      [{ maxFramerate: 30, maxBitrate: 600_000 }],
    );
    assert.deepEqual(videoSendEncodings({ size: null, frameRate: 15, simulcast: true }), [
      { maxFramerate: 15 },
    ]);
  });

  it('holds every encoding to the frame rate and scales its cap by it, down to 30 kbps', () => {
    const layers = videoSendEncodings({ size: { width: 1280, height: 720 }, frameRate: 7, simulcast: true });
    assert.deepEqual(
      layers.map(({ maxFramerate, maxBitrate }) => [maxFramerate, maxBitrate]),
      [
        [7, 35_000],
        [7, 116_667],
        [7, 350_000],
      ],
    );
    assert.equal(videoBitrateCap(1920, 1080, 15), 1_250_000);
    assert.equal(videoBitrateCap(320, 180, 1), 30_000);
  });

  it('is scalable in routed sessions only: camera and custom video unless turned off, screens if turned on', () => {
    assert.equal(isScalable({ mediaMode: 'routed', videoType: 'camera' }), true);
    assert.equal(isScalable({ mediaMode: 'routed', videoType: 'custom' }), true);
    assert.equal(isScalable({ mediaMode: 'routed', videoType: 'camera', scalableVideo: false }), false);
    assert.equal(isScalable({ mediaMode: 'relayed', videoType: 'camera', scalableVideo: true }), false);
    assert.equal(isScalable({ mediaMode: 'routed', videoType: 'screen', scalableVideo: true }), false);
    assert.equal(isScalable({ mediaMode: 'routed', videoType: 'screen', scalableScreenshare: true }), true);
  });
});
