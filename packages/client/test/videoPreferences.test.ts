import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OTError } from '../src/ot/errors.js';
import { checkPreferredFrameRate, checkPreferredResolution } from '../src/ot/videoPreferences.js';

const invalidParameter = (property: string) => (error: unknown) => {
  assert.ok(error instanceof OTError);
  assert.deepEqual([error.name, error.code], ['OT_INVALID_PARAMETER', 1011]);
  assert.match(error.message, new RegExp(property));
  return true;
};

describe('subscriber video preferences', () => {
  it('take a size in whole pixels, auto, or nothing for a resolution', () => {
    assert.deepEqual(checkPreferredResolution({ width: 320, height: 240 }), { width: 320, height: 240 });
    assert.equal(checkPreferredResolution('auto'), 'auto');
    assert.equal(checkPreferredResolution(null), null);
    assert.equal(checkPreferredResolution(undefined), null);
    for (const bad of [
      '640x480',
      { width: 320 },
      { width: 320.5, height: 240 },
      { width: -1, height: 240 },
      7,
    ])
      assert.throws(() => checkPreferredResolution(bad), invalidParameter('preferredResolution'));
  });

  it('take a frame rate from 1 to 240, or nothing', () => {
    assert.equal(checkPreferredFrameRate(7), 7);
    assert.equal(checkPreferredFrameRate(null), null);
    for (const bad of [0, 241, '15', Number.NaN])
      assert.throws(() => checkPreferredFrameRate(bad), invalidParameter('preferredFrameRate'));
  });
});
