import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maxPacketsPerFeedback, TransportFeedbackRecorder } from './TransportFeedbackRecorder.js';

describe('the transport-wide feedback recorder', () => {
  it('tells of every number since the last feedback, the missing ones as null, across the wrap', () => {
    const recorder = new TransportFeedbackRecorder();
    recorder.onPacket(65534, 10);
    recorder.onPacket(65535, 11);
    recorder.onPacket(1, 13.5);
    assert.deepEqual(recorder.takeFeedback(), [
      { baseSequence: 65534, feedbackCount: 0, arrivals: [10, 11, null, 13.5] },
    ]);
    assert.deepEqual(recorder.takeFeedback(), []);
    recorder.onPacket(3, 20);
    recorder.onPacket(2, 21);
    assert.deepEqual(recorder.takeFeedback(), [{ baseSequence: 2, feedbackCount: 1, arrivals: [21, 20] }]);
  });

  it('leaves out a packet that came after the feedback covering it, and takes one reordered before the first', () => {
    const recorder = new TransportFeedbackRecorder();
    recorder.onPacket(100, 1);
    recorder.onPacket(99, 2);
    assert.deepEqual(recorder.takeFeedback(), [{ baseSequence: 99, feedbackCount: 0, arrivals: [2, 1] }]);
    recorder.onPacket(98, 3);
    assert.deepEqual(recorder.takeFeedback(), []);
    recorder.onPacket(102, 4);
    assert.deepEqual(recorder.takeFeedback(), [{ baseSequence: 101, feedbackCount: 1, arrivals: [null, 4] }]);
  });

  it('splits a long run into feedbacks of at most the maximum, their counts wrapping at 256', () => {
    const recorder = new TransportFeedbackRecorder();
    for (let round = 0; round < 255; round++) {
      recorder.onPacket(round, round);
      recorder.takeFeedback();
    }
    const count = maxPacketsPerFeedback * 2 + 3;
    for (let i = 0; i < count; i++) recorder.onPacket(255 + i, i);
    const feedbacks = recorder.takeFeedback();
    assert.deepEqual(
      feedbacks.map((feedback) => [feedback.baseSequence, feedback.feedbackCount, feedback.arrivals.length]),
      [
        [255, 255, maxPacketsPerFeedback],
        [255 + maxPacketsPerFeedback, 0, maxPacketsPerFeedback],
        [255 + 2 * maxPacketsPerFeedback, 1, 3],
      ],
    );
    assert.equal(feedbacks[2]?.arrivals[2], count - 1);
  });

  it('forgets what it can no longer hold: a jump far ahead is told of from the history it keeps', () => {
    const recorder = new TransportFeedbackRecorder();
    recorder.onPacket(0, 0);
    recorder.onPacket(10_000, 1);
    const feedbacks = recorder.takeFeedback();
    const arrivals = feedbacks.flatMap((feedback) => feedback.arrivals);
    assert.ok(arrivals.length <= 1 << 12, `${arrivals.length} numbers told`);
    assert.equal(arrivals.at(-1), 1);
    assert.ok(arrivals.slice(0, -1).every((arrival) => arrival === null));
    // A lap of the history later, the slots it skipped hold no stale arrivals.
    recorder.onPacket(10_000 + (1 << 12) + 1, 2);
    const next = recorder.takeFeedback().flatMap((feedback) => feedback.arrivals);
    assert.deepEqual(
      next.filter((arrival) => arrival !== null),
      [2],
    );
  });
});
