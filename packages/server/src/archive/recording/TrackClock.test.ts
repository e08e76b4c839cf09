import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrackClock } from './TrackClock.js';

describe('TrackClock', () => {
  it('places the first timestamp at its arrival and the next ones by RTP distance, across the 32-bit wrap', () => {
    const clock = new TrackClock(90_000);
    assert.equal(clock.toMs(2 ** 32 - 4500, 1000), 1000);
    assert.equal(clock.toMs(2 ** 32 - 1500, 1040), 1033.3333333333333, 'arrival jitter does not matter');
    assert.equal(clock.toMs(1500, 1070), 1066.6666666666667);
    assert.equal(clock.toMs(0, 1060), 1050, 'an earlier timestamp maps earlier');
  });

  it('anchors afresh after a reset', () => {
    const clock = new TrackClock(48_000);
    clock.toMs(0, 0);
    clock.reset();
    assert.equal(clock.toMs(123_456, 500), 500);
    assert.equal(clock.toMs(123_456 + 960, 530), 520);
  });
});
