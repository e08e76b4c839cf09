import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activateEncodings, SenderParameterUpdates } from '../src/core/SenderParameterUpdates.js';

/**
 * A sender whose `setParameters` calls wait until the test finishes them, and which refuses
 * parameters that were not read since the last call, as browsers do (`transactionId`).
 */
class FakeSender {
  encodings: RTCRtpEncodingParameters[] = [
    { rid: 'q', active: true },
    { rid: 'h', active: true },
    { rid: 'f', active: true },
  ];
  /** The `active` flags each call asked for, by RID. */
  readonly calls: string[] = [];
  readonly #waiting: (() => void)[] = [];
  #transaction = 0;
  refuseNext = false;

  getParameters(): RTCRtpSendParameters {
    return {
      transactionId: String(this.#transaction),
      encodings: this.encodings.map((encoding) => ({ ...encoding })),
      codecs: [],
      headerExtensions: [],
      rtcp: {},
    };
  }

  setParameters(parameters: RTCRtpSendParameters): Promise<void> {
    this.calls.push(parameters.encodings.map((e) => `${e.rid ?? ''}:${e.active ? 'on' : 'off'}`).join(' '));
    if (this.#waiting.length > 0) return Promise.reject(new Error('InvalidStateError: a call is under way'));
    if (parameters.transactionId !== String(this.#transaction))
      return Promise.reject(new Error('InvalidModificationError: stale parameters'));
    return new Promise((resolve, reject) => {
      this.#waiting.push(() => {
        this.#transaction += 1;
        if (this.refuseNext) {
          this.refuseNext = false;
          reject(new Error('OperationError'));
          return;
        }
        this.encodings = parameters.encodings;
        resolve();
      });
    });
  }

  /** Completes the call under way; resolves once the updater has moved on. */
  async finish(): Promise<void> {
    const next = this.#waiting.shift();
    assert.ok(next, 'no setParameters under way');
    next();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const states = (sender: FakeSender) =>
  sender.encodings.map((e) => `${e.rid ?? ''}:${e.active ? 'on' : 'off'}`).join(' ');

describe('SenderParameterUpdates', () => {
  it('makes one setParameters at a time; what is asked meanwhile goes in one next call, the latest winning', async () => {
    const sender = new FakeSender();
    const errors: unknown[] = [];
    const updates = new SenderParameterUpdates(sender, (error) => errors.push(error));
    const first = updates.update(activateEncodings([{ rid: 'f', active: false }]));
    const second = updates.update(activateEncodings([{ rid: 'h', active: false }]));
    const third = updates.update(
      activateEncodings([
        { rid: 'h', active: true },
        { rid: 'q', active: false },
      ]),
    );
    assert.deepEqual(sender.calls, ['q:on h:on f:off']);
    await sender.finish();
    assert.deepEqual(sender.calls, ['q:on h:on f:off', 'q:off h:on f:off']);
    await sender.finish();
    await Promise.all([first, second, third]);
    assert.equal(states(sender), 'q:off h:on f:off');
    assert.deepEqual(errors, []);
  });

  it('reports a refused call and goes on with the changes asked after it', async () => {
    const sender = new FakeSender();
    const errors: unknown[] = [];
    const updates = new SenderParameterUpdates(sender, (error) => errors.push(error));
    sender.refuseNext = true;
    const refused = updates.update(activateEncodings([{ rid: 'q', active: false }]));
    const later = updates.update(activateEncodings([{ rid: 'f', active: false }]));
    await sender.finish();
    await sender.finish();
    await Promise.all([refused, later]);
    assert.equal(errors.length, 1);
    assert.equal(states(sender), 'q:on h:on f:off');
    // Idle again: the next change starts a call of its own at once.
    void updates.update(activateEncodings([{ rid: 'f', active: true }]));
    assert.equal(sender.calls.at(-1), 'q:on h:on f:on');
    await sender.finish();
  });

  it('leaves encodings the change does not name, or without RID, as they are', () => {
    const parameters = new FakeSender().getParameters();
    parameters.encodings.push({ active: true });
    activateEncodings([
      { rid: 'h', active: false },
      { rid: 'x', active: false },
    ])(parameters);
    assert.deepEqual(
      parameters.encodings.map((e) => e.active),
      [true, false, true, true],
    );
  });
});
