import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ParlorError } from '@parlor/protocol';
import type { VerifiedToken } from '../auth/ClientTokenVerifier.js';
import { InvalidStateError } from '../InvalidStateError.js';
import { RoomConnection, type ConnectionSink } from './RoomConnection.js';

const token: VerifiedToken = {
  format: 'jwt',
  apiKey: '12345678',
  sessionId: '1_session',
  role: 'publisher',
  connectionData: 'name=Alice',
  initialLayoutClassList: [],
  issuedAt: 0,
  expiresAt: 0,
};

/** A sink that records what it is given. */
function recordingSink(): ConnectionSink & { frames: string[]; replacedTimes: number } {
  return {
    frames: [],
    replacedTimes: 0,
    deliver(frame) {
      this.frames.push(
        typeof frame === 'string' ? frame : `${frame.head}${frame.body.toString()}${frame.tail}`,
      );
    },
    replaced() {
      this.replacedTimes += 1;
    },
  };
}

function connection(
  options: { replayBufferSize?: number; replayBufferBytes?: number; reconnectGraceMs?: number } = {},
) {
  const sink = recordingSink();
  const created = RoomConnection.create({
    token,
    tokenKey: 'token',
    sink,
    reconnectGraceMs: options.reconnectGraceMs ?? 60_000,
    replayBufferSize: options.replayBufferSize ?? 10,
    replayBufferBytes: options.replayBufferBytes ?? 1024 * 1024,
    fanOutBytesPerSecond: 1024 * 1024,
    logger: pino({ level: 'silent' }),
  });
  return { ...created, sink };
}

const signal = (data: string) => ({ from: null, type: 'n', data });

describe('RoomConnection', () => {
  it('numbers its events from 1 in frames that carry the data as sent', () => {
    const { connection: alice, sink } = connection();
    alice.send('signal', signal('a'));
    const json = JSON.stringify(signal('b'));
    alice.sendShared('signal', json, Buffer.from(json));
    alice.sendShared('signal', JSON.stringify(signal('c')), null);
    assert.deepEqual(
      sink.frames.map((frame) => JSON.parse(frame) as unknown),
      [
        { event: 'signal', seq: 1, data: signal('a') },
        { event: 'signal', seq: 2, data: signal('b') },
        { event: 'signal', seq: 3, data: signal('c') },
      ],
    );
    assert.equal(alice.info.data, 'name=Alice');
  });

  it('keeps events while away and hands the missed ones, in order, to the socket that resumes it', () => {
    const { connection: alice, resumeSecret, sink } = connection();
    alice.send('signal', signal('seen'));
    alice.send('signal', signal('lost on the wire'));
    alice.detach();
    assert.equal(alice.state, 'away');
    alice.send('signal', signal('while away'));
    assert.equal(sink.frames.length, 2);

    const next = recordingSink();
    const missed = alice.resume(resumeSecret, 1, next);
    assert.equal(alice.state, 'connected');
    assert.deepEqual(
      missed.map((frame) => (JSON.parse(frame) as { seq: number }).seq),
      [2, 3],
    );
    alice.send('signal', signal('after'));
    assert.equal((JSON.parse(next.frames[0] ?? '') as { seq: number }).seq, 4);
  });

  it('tells the old socket it was replaced when a resume comes while it is still attached', () => {
    const { connection: alice, resumeSecret, sink } = connection();
    alice.resume(resumeSecret, 0, recordingSink());
    assert.equal(sink.replacedTimes, 1);
    alice.send('signal', signal('x'));
    assert.equal(sink.frames.length, 0);
  });

  it('ends with networkDisconnected when a resume asks for more events than it kept', () => {
    const { connection: alice, resumeSecret } = connection({ replayBufferSize: 2 });
    const reasons: string[] = [];
    alice.on('close', (reason) => reasons.push(reason));
    alice.detach();
    for (const data of ['1', '2', '3']) alice.send('signal', signal(data));
    assert.throws(
      () => alice.resume(resumeSecret, 0, recordingSink()),
      (error) => error instanceof ParlorError && error.code === 1006,
    );
    assert.deepEqual(reasons, ['networkDisconnected']);
    assert.equal(alice.closed, true);
  });

  it('keeps events for a resume up to its character bound: a client that missed more cannot resume', () => {
    const { connection: alice, resumeSecret } = connection({ replayBufferBytes: 2500 });
    alice.detach();
    for (const data of ['1', '2', '3']) alice.send('signal', signal(data.repeat(1000)));
    assert.throws(
      () => alice.resume(resumeSecret, 0, recordingSink()),
      (error) => error instanceof ParlorError && error.code === 1006,
    );
    const { connection: bob, resumeSecret: bobSecret } = connection({ replayBufferBytes: 2500 });
    bob.detach();
    for (const data of ['1', '2', '3']) bob.send('signal', signal(data.repeat(1000)));
    const replayed = bob.resume(bobSecret, 1, recordingSink());
    assert.deepEqual(
      replayed.map((frame) => (JSON.parse(frame) as { seq: number }).seq),
      [2, 3],
    );
  });

  it('refuses a wrong resume secret with 1004 and stays away', () => {
    const { connection: alice } = connection();
    alice.detach();
    assert.throws(
      () => alice.resume('guess', 0, recordingSink()),
      (error) => error instanceof ParlorError && error.code === 1004,
    );
    assert.equal(alice.state, 'away');
  });

  it('ends with networkDisconnected once the grace period passes without a resume', async () => {
    const { connection: alice } = connection({ reconnectGraceMs: 20 });
    const closed = new Promise((resolve) => alice.once('close', resolve));
    alice.detach();
    assert.equal(await closed, 'networkDisconnected');
  });

  it('ends at once when it drops with no grace period', () => {
    const { connection: alice } = connection({ reconnectGraceMs: 0 });
    alice.detach();
    assert.equal(alice.closed, true);
  });

  it('closes once, emitting one close, and throws InvalidStateError when used afterwards', () => {
    const { connection: alice, resumeSecret } = connection();
    let closes = 0;
    alice.observer.on('close', () => {
      closes += 1;
    });
    alice.close('clientDisconnected');
    alice.close('forceDisconnected');
    alice.roomClosed(false);
    assert.equal(closes, 1);
    assert.throws(() => {
      alice.send('signal', signal('x'));
    }, InvalidStateError);
    assert.throws(() => alice.resume(resumeSecret, 0, recordingSink()), InvalidStateError);
  });
});
