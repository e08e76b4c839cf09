import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { LocalPublication } from '../src/core/LocalPublication.js';
import { Logger } from '../src/core/Logger.js';
import type { PeerTransport } from '../src/core/PeerTransport.js';
import { PublisherFallback } from '../src/core/PublisherFallback.js';
import { TypedEmitter } from '../src/core/TypedEmitter.js';
import type { VideoSendLimit } from '../src/core/videoSendPlan.js';

/** A routed sender whose receiver reports (one per statistics read) lose `loss`. */
class FakeTransport {
  readonly closed = false;
  readonly transportFeedback = false;
  loss = 0;
  limit: VideoSendLimit = 'all';
  #reports = 0;

  getStats(): Promise<Map<string, Record<string, unknown>>> {
    this.#reports++;
    const active = this.limit !== 'none';
    return Promise.resolve(
      new Map<string, Record<string, unknown>>([
        ['OV', { id: 'OV', type: 'outbound-rtp', kind: 'video', active, bytesSent: 0, packetsSent: 0 }],
        [
          'RA',
          {
            id: 'RA',
            type: 'remote-inbound-rtp',
            kind: 'audio',
            fractionLost: this.loss,
            roundTripTimeMeasurements: this.#reports,
          },
        ],
        [
          'RV',
          {
            id: 'RV',
            type: 'remote-inbound-rtp',
            kind: 'video',
            localId: 'OV',
            fractionLost: this.loss,
            roundTripTimeMeasurements: this.#reports,
          },
        ],
      ]),
    );
  }

  setVideoLimit(limit: VideoSendLimit): Promise<void> {
    this.limit = limit;
    return Promise.resolve();
  }
}

class FakePublication extends TypedEmitter<{ subscriberAdded: [PeerTransport]; closed: [string] }> {
  readonly transport = new FakeTransport();
  readonly updates: { hasVideo?: boolean; videoReason?: string }[] = [];

  get transports(): PeerTransport[] {
    return [this.transport as unknown as PeerTransport];
  }

  update(changes: { hasVideo?: boolean; videoReason?: string }): Promise<void> {
    this.updates.push(changes);
    return Promise.resolve();
  }
}

/** Lets the timers run for `ms`, a read (250 ms) at a time, its promises settling between. */
async function elapse(ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 250) {
    mock.timers.tick(250);
    for (let i = 0; i < 10; i++) await Promise.resolve();
  }
}

describe('PublisherFallback and the user turning video off and on', () => {
  let publication: FakePublication;
  let fallback: PublisherFallback;
  let changes: string[];

  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    publication = new FakePublication();
    fallback = new PublisherFallback({
      publication: publication as unknown as LocalPublication,
      logger: new Logger(),
    });
    changes = [];
    fallback.on('change', ({ change }) => {
      changes.push(change);
    });
  });
  afterEach(() => {
    fallback.close();
    mock.timers.reset();
  });

  it('keeps video it turned off off, silently, while the user has video off, and turns it on after a probe once the user does', async () => {
    fallback.setActive(true);
    publication.transport.loss = 0.5;
    await elapse(1000);
    assert.deepEqual(changes, ['videoDisableWarning', 'videoDisabled']);
    assert.deepEqual(publication.updates, [{ hasVideo: false, videoReason: 'quality' }]);

    fallback.setActive(false);
    publication.transport.loss = 0;
    await elapse(20_000);
    assert.deepEqual(
      changes,
      ['videoDisableWarning', 'videoDisabled'],
      'no videoEnabled while the user has video off',
    );
    assert.equal(fallback.videoOff, true);
    assert.equal(publication.transport.limit, 'none');

    fallback.setActive(true);
    await elapse(250);
    assert.equal(publication.transport.limit, 'lowest', 'a probe at once');
    await elapse(3000);
    assert.deepEqual(changes.slice(2), ['probeStarted', 'videoEnabled']);
    assert.deepEqual(publication.updates.at(-1), { hasVideo: true, videoReason: 'quality' });
    assert.equal(publication.transport.limit, 'all');
  });

  it('lifts its warning when the user turns video off', async () => {
    fallback.setActive(true);
    publication.transport.loss = 0.5;
    await elapse(250);
    assert.deepEqual(changes, ['videoDisableWarning']);
    fallback.setActive(false);
    assert.deepEqual(changes, ['videoDisableWarning', 'videoDisableWarningLifted']);
    await elapse(5000);
    assert.equal(changes.length, 2);
    assert.deepEqual(publication.updates, []);
  });
});
