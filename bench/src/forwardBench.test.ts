import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runForwardBench } from './forwardBench.js';

describe('the forwarding benchmark', () => {
  it('connects a publisher and subscribers to a real router and counts every packet forwarded to each', async () => {
    const [step] = await runForwardBench({ subscriberCounts: [3], publisherRate: 200, seconds: 1 });
    assert.ok(step);
    assert.equal(step.subscribers, 3);
    assert.equal(step.lossPercent, 0);
    assert.ok(step.forwardedPerSecond > 300, `${step.forwardedPerSecond} forwarded/s`);
    assert.ok(step.microsPerPacket > 0);
  });
});
