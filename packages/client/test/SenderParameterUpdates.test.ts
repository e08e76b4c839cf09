import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SenderParameterUpdates, type ParameterChange } from '../src/core/SenderParameterUpdates.js';
import { probeBitrate, sendVideo, type VideoSendPlan } from '../src/core/videoSendPlan.js';

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

/** The change that sets `active` of the encodings named, by RID. */
const activate =
  (wanted: Record<string, boolean>): ParameterChange =>
  (parameters) => {
    for (const encoding of parameters.encodings) {
      const active = encoding.rid === undefined ? undefined : wanted[encoding.rid];
      if (active !== undefined) encoding.active = active;
    }
  };

const states = (sender: FakeSender) =>
  sender.encodings.map((e) => `${e.rid ?? ''}:${e.active ? 'on' : 'off'}`).join(' ');

describe('SenderParameterUpdates', () => {
  it('makes one setParameters at a time; what is asked meanwhile goes in one next call, the latest winning', async () => {
    const sender = new FakeSender();
    const errors: unknown[] = [];
    const updates = new SenderParameterUpdates(sender, (error) => errors.push(error));
    const first = updates.update(activate({ f: false }));
    const second = updates.update(activate({ h: false }));
    const third = updates.update(activate({ h: true, q: false }));
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
    const refused = updates.update(activate({ q: false }));
    const later = updates.update(activate({ f: false }));
    await sender.finish();
    await sender.finish();
    await Promise.all([refused, later]);
    assert.equal(errors.length, 1);
    assert.equal(states(sender), 'q:on h:on f:off');
    // Idle again: the next change starts a call of its own at once.
    void updates.update(activate({ f: true }));
    assert.equal(sender.calls.at(-1), 'q:on h:on f:on');
    await sender.finish();
  });
});

describe('sendVideo', () => {
  const simulcast = (): RTCRtpSendParameters => ({
    transactionId: '0',
    encodings: ['q', 'h', 'f'].map((rid) => ({ rid, active: true, maxBitrate: 1000 })),
    codecs: [],
    headerExtensions: [],
    rtcp: {},
  });
  const single = (): RTCRtpSendParameters => ({
    ...simulcast(),
    encodings: [{ active: true, maxBitrate: 600_000 }],
  });
  const plan = (changes: Partial<VideoSendPlan>): VideoSendPlan => ({
    wanted: new Map(),
    limit: 'all',
    maxBitrate: 600_000,
    paused: false,
    ...changes,
  });
  const applied = (parameters: RTCRtpSendParameters, change: ParameterChange) => {
    change(parameters);
    return parameters.encodings.map(
      (e) => `${e.rid ?? ''}:${e.active ? 'on' : 'off'}:${e.maxBitrate ?? '-'}`,
    );
  };

  it('a paused sender (adaptive routing, the path not in use) sends no encoding, whatever the router wants', () => {
    const wanted = new Map([['f', true]]);
    assert.deepEqual(applied(simulcast(), sendVideo(plan({ wanted, paused: true }))), [
      'q:off:1000',
      'h:off:1000',
      'f:off:1000',
    ]);
    assert.deepEqual(applied(single(), sendVideo(plan({ paused: true }))), [':off:600000']);
  });

  it('sends the simulcast encodings the router wants, and those it does not name, without touching their caps', () => {
    const wanted = new Map([['f', false]]);
    assert.deepEqual(applied(simulcast(), sendVideo(plan({ wanted }))), [
      'q:on:1000',
      'h:on:1000',
      'f:off:1000',
    ]);
  });

  it('sends only the lowest simulcast encoding while probing, and none when video is off, whatever the router wants', () => {
    const wanted = new Map([
      ['q', true],
      ['h', true],
      ['f', true],
    ]);
    assert.deepEqual(applied(simulcast(), sendVideo(plan({ wanted, limit: 'lowest' }))), [
      'q:on:1000',
      'h:off:1000',
      'f:off:1000',
    ]);
    assert.deepEqual(applied(simulcast(), sendVideo(plan({ wanted, limit: 'none' }))), [
      'q:off:1000',
      'h:off:1000',
      'f:off:1000',
    ]);
  });

  it('probes with one encoding at a low cap, and gives it its full cap back after', () => {
    const parameters = single();
    assert.deepEqual(applied(parameters, sendVideo(plan({ limit: 'lowest' }))), [`:on:${probeBitrate}`]);
    assert.deepEqual(applied(parameters, sendVideo(plan({ limit: 'none' }))), [':off:600000']);
    assert.deepEqual(applied(parameters, sendVideo(plan({}))), [':on:600000']);
    assert.deepEqual(applied(parameters, sendVideo(plan({ maxBitrate: undefined }))), [':on:-']);
    assert.deepEqual(applied(parameters, sendVideo(plan({ limit: 'lowest', maxBitrate: 80_000 }))), [
      ':on:80000',
    ]);
  });
});
