import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import sip, { type SipMessage } from 'sip';
import { CallMedia } from './CallMedia.js';
import { callOffer } from './callSdp.js';
import { SipCall } from './SipCall.js';
import type { SipStack } from './SipStack.js';

// A call's timers against a far end that answers and then sends no media: the call ends by
// itself, with a BYE, and holds no timer or socket after. A hang-up before the far end's first
// provisional response: no CANCEL until one comes (RFC 3261 §9.1).

/** A stack that records what the call sends and lets the test answer its INVITE. */
function recordingStack(): {
  stack: SipStack;
  sent: SipMessage[];
  abandoned: SipMessage[];
  answer: (status: number, sdp?: string) => void;
} {
  const sent: SipMessage[] = [];
  const abandoned: SipMessage[] = [];
  let onInviteResponse: ((response: SipMessage) => void) | null = null;
  const stack = {
    send: (message: SipMessage, callback?: (response: SipMessage) => void) => {
      sent.push(message);
      // As the stack's transaction layer does: the request's Via, which its CANCEL copies.
      if (message.method !== 'ACK') message.headers.via = [{ params: { branch: `z9hG4bK${sent.length}` } }];
      if (message.method === 'INVITE' && callback) onInviteResponse = callback;
    },
    abandon: (request: SipMessage) => {
      abandoned.push(request);
    },
    destroy: () => undefined,
  } as unknown as SipStack;
  return {
    stack,
    sent,
    abandoned,
    answer: (status, sdp) => {
      const invite = sent.find((message) => message.method === 'INVITE');
      assert.ok(invite && onInviteResponse);
      const response = sip.makeResponse(invite, status, 'OK');
      response.headers.to = { ...invite.headers.to, uri: String(invite.uri), params: { tag: 'far' } };
      response.headers.contact = [{ uri: 'sip:far@127.0.0.1:5999', params: {} }];
      if (sdp) response.content = sdp;
      onInviteResponse(response);
    },
  };
}

/** A dialled call, not answered yet. */
async function dialled(limits: {
  inactivityMs: number;
  maxDurationMs: number;
}): Promise<
  ReturnType<typeof recordingStack> & { sipCall: SipCall; media: CallMedia; ended: Promise<[number, string]> }
> {
  const recording = recordingStack();
  const media = await CallMedia.open({
    host: '127.0.0.1',
    ports: [0, 0],
    nextFrame: (n) => new Int16Array(n),
    srtpKey: null,
  });
  const sipCall = new SipCall({
    stack: recording.stack,
    local: { address: '127.0.0.1', port: 5998, tlsPort: null },
    target: 'sip:far@127.0.0.1:5999',
    from: 'sip:parlor@127.0.0.1',
    headers: {},
    auth: null,
    media,
    srtpKey: null,
    ringTimeoutMs: 5000,
    logger: pino({ level: 'silent' }),
    ...limits,
  });
  const ended = new Promise<[number, string]>((resolve) => {
    sipCall.on('ended', (code, message) => {
      resolve([code, message]);
    });
  });
  sipCall.dial();
  return { ...recording, sipCall, media, ended };
}

/** The far end's answer, sending its RTP to a port where nothing is. */
const farAnswer = callOffer({ address: '127.0.0.1', port: 9, sessionId: '1', version: 1, codecs: ['pcmu'] });

async function call(limits: {
  inactivityMs: number;
  maxDurationMs: number;
}): Promise<{ ended: Promise<[number, string]>; sent: SipMessage[]; sipCall: SipCall; media: CallMedia }> {
  const { ended, sent, answer, sipCall, media } = await dialled(limits);
  answer(200, farAnswer);
  return { ended, sent, sipCall, media };
}

/** Nothing left behind: no timer of the call, no RTP socket or timer of its media. */
function assertReleased(sipCall: SipCall, media: CallMedia): void {
  assert.equal(sipCall.pendingTimers, 0);
  assert.deepEqual(media.resources, { sockets: 0, timers: 0 });
}

const longLimits = { inactivityMs: 60_000, maxDurationMs: 60_000 };

describe('SipCall', () => {
  it('ends a call whose far end sends no media, with a BYE (706)', async () => {
    const { ended, sent, sipCall, media } = await call({ inactivityMs: 300, maxDurationMs: 60_000 });
    assert.equal(sipCall.pendingTimers, 4, 'no answer, ring and duration timers, and the media check');
    assert.deepEqual(media.resources, { sockets: 1, timers: 1 });
    assert.equal((await ended)[0], 706);
    assertReleased(sipCall, media);
    assert.deepEqual(
      sent.map((message) => message.method),
      ['INVITE', 'ACK', 'BYE'],
    );
  });

  it('ends a call at its maximum duration, with a BYE (705)', async () => {
    const { ended, sent, sipCall, media } = await call({ inactivityMs: 60_000, maxDurationMs: 300 });
    assert.equal((await ended)[0], 705);
    assertReleased(sipCall, media);
    assert.equal(sent.at(-1)?.method, 'BYE');
    assert.equal(sent.at(-1)?.uri, 'sip:far@127.0.0.1:5999');
  });

  it('a call hung up before any provisional response sends its CANCEL only once the far end rings', async () => {
    const { sipCall, media, ended, sent, answer } = await dialled(longLimits);
    sipCall.hangUp();
    assert.equal((await ended)[0], 700);
    assert.equal(sipCall.pendingTimers, 1, 'the wait for a provisional response');
    assert.deepEqual(
      sent.map((message) => message.method),
      ['INVITE'],
    );
    answer(180);
    assert.deepEqual(
      sent.map((message) => message.method),
      ['INVITE', 'CANCEL'],
    );
    assertReleased(sipCall, media);
  });

  it('a call hung up before any response, and answered then, is acknowledged and ended with a BYE, not cancelled', async () => {
    const { sipCall, media, sent, answer } = await dialled(longLimits);
    sipCall.hangUp();
    answer(200, farAnswer);
    assert.deepEqual(
      sent.map((message) => message.method),
      ['INVITE', 'ACK', 'BYE'],
    );
    assertReleased(sipCall, media);
  });

  it('a call hung up before any response that never comes gives its INVITE up, with no CANCEL', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { sipCall, media, sent, abandoned } = await dialled(longLimits);
    sipCall.hangUp();
    t.mock.timers.tick(4000);
    assert.equal(abandoned.length, 0);
    assert.equal(sipCall.pendingTimers, 1);
    t.mock.timers.tick(1000);
    assertReleased(sipCall, media);
    assert.deepEqual(
      abandoned.map((message) => message.method),
      ['INVITE'],
    );
    assert.deepEqual(
      sent.map((message) => message.method),
      ['INVITE'],
    );
  });
});
