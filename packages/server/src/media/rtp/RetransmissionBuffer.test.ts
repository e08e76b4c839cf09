import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetransmissionBuffer } from './RetransmissionBuffer.js';

describe('the retransmission buffer', () => {
  it('returns the packets it still keeps, and nothing for overwritten or unknown ones', () => {
    const buffer = new RetransmissionBuffer(4);
    for (const sequence of [65534, 65535, 0, 1, 2]) buffer.store(sequence, Buffer.from([sequence & 0xff]));
    assert.equal(buffer.get(65534), undefined, 'overwritten by 2');
    assert.deepEqual(buffer.get(65535), Buffer.from([0xff]));
    assert.deepEqual(buffer.get(2), Buffer.from([2]));
    assert.equal(buffer.get(3), undefined);
  });

  it('refuses a capacity that is not a power of two', () => {
    assert.throws(() => new RetransmissionBuffer(1000), TypeError);
  });
});
