import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { avcDecoderConfiguration, parseSps, unescapeRbsp } from './h264.js';
import { vp8KeyframeSize } from './vp8.js';
import { vp9KeyframeSize, writeSuperframeIndex } from './vp9.js';

const hex = (bytes: string): Buffer => Buffer.from(bytes.replace(/ /g, ''), 'hex');

describe('H.264 parameter sets', () => {
  it('reads the size of x264 SPSs, cropping included', () => {
    // Constrained baseline 1920 x 1080: 1088 coded lines, 8 cropped.
    assert.deepEqual(parseSps(hex('6742c028da01e0089f970110000003001000000303c0f1832a')), {
      profileIdc: 66,
      chromaFormatIdc: 1,
      bitDepthLumaMinus8: 0,
      bitDepthChromaMinus8: 0,
      width: 1920,
      height: 1080,
    });
    // High profile 1280 x 720, with chroma format and bit depths.
    const high = parseSps(hex('6764001facd9405005bb0110000003001000000303c0f1831960'));
    assert.deepEqual([high?.profileIdc, high?.width, high?.height], [100, 1280, 720]);
  });

  it('refuses what is not an SPS or is cut short, and unescapes emulation prevention', () => {
    assert.equal(parseSps(hex('68ce0fc8')), null);
    assert.equal(parseSps(hex('6742c0')), null);
    assert.deepEqual(Buffer.from(unescapeRbsp(hex('0000030100000300'))), hex('00000100 0000'));
  });

  it('makes the avcC record with the high-profile extension', () => {
    const sps = hex('6764001facd9405005bb0110000003001000000303c0f1831960');
    const pps = hex('68eae3cb22c0');
    const parameters = parseSps(sps);
    assert.ok(parameters);
    const record = avcDecoderConfiguration(sps, pps, parameters);
    assert.equal(
      record.toString('hex'),
      `0164001fffe1001a${sps.toString('hex')}010006${pps.toString('hex')}fdf8f800`,
    );
  });
});

describe('VP8 and VP9 frame headers', () => {
  it('reads keyframe sizes, and nothing from inter frames', () => {
    assert.deepEqual(vp8KeyframeSize(hex('500100 9d012a 8002 e001'), 0, 10), { width: 640, height: 480 });
    assert.equal(vp8KeyframeSize(hex('510100 9d012a 8002 e001'), 0, 10), null);
    assert.deepEqual(vp9KeyframeSize(hex('82 49 83 42 00 13 f0 0e f6'), 0, 9), { width: 320, height: 240 });
    assert.equal(vp9KeyframeSize(hex('86 00 00'), 0, 3), null);
    assert.equal(vp9KeyframeSize(hex('82 49 83'), 0, 3), null);
  });

  it('writes a superframe index with as many bytes per size as the largest frame needs', () => {
    const index = Buffer.alloc(8);
    assert.equal(writeSuperframeIndex(index, 0, [300, 5]), 6);
    assert.equal(index.subarray(0, 6).toString('hex'), 'c92c010500c9');
  });
});
