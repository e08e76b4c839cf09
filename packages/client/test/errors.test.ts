import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParlorError } from '@parlor/protocol';
import { ClientError } from '../src/core/ClientError.js';
import { OTError, titleOf, toOTError } from '../src/ot/errors.js';

/** The OpenTok error a server refusal becomes, as the wire carries it (code and message). */
function fromServer(error: ParlorError): OTError {
  return toOTError(new ClientError(error.code, error.message));
}

describe('OpenTok errors', () => {
  it('names the server refusals with OpenTok names and keeps their codes', () => {
    const cases: [ParlorError, string, number][] = [
      [new ParlorError('TOKEN_REFUSED', 'token has expired'), 'OT_AUTHENTICATION_ERROR', 1004],
      [new ParlorError('INVALID_SESSION_ID'), 'OT_INVALID_SESSION_ID', 1005],
      [new ParlorError('NOT_CONNECTED'), 'OT_NOT_CONNECTED', 1010],
      [new ParlorError('PUBLISH_NOT_PERMITTED'), 'OT_PERMISSION_DENIED', 1500],
      [new ParlorError('SUBSCRIBE_FAILED'), 'OT_STREAM_NOT_FOUND', 1501],
      [new ParlorError('FORCE_DISCONNECT_NOT_PERMITTED'), 'OT_PERMISSION_DENIED', 1520],
      [new ParlorError('FORCE_UNPUBLISH_NOT_PERMITTED'), 'OT_PERMISSION_DENIED', 1530],
      [new ParlorError('FORCE_UNPUBLISH_INVALID_STREAM'), 'OT_STREAM_NOT_FOUND', 1535],
      [new ParlorError('FORCE_MUTE_NOT_PERMITTED'), 'OT_PERMISSION_DENIED', 1540],
      [new ParlorError('SIGNAL_INVALID'), 'OT_INVALID_PARAMETER', 400],
      [new ParlorError('CONNECTION_NOT_FOUND'), 'OT_NOT_FOUND', 404],
      [new ParlorError('SIGNAL_TOO_LARGE'), 'OT_INVALID_PARAMETER', 413],
      [new ParlorError('RATE_LIMITED'), 'OT_RATE_LIMIT_EXCEEDED', 429],
      [new ParlorError('INTERNAL'), 'OT_UNEXPECTED_SERVER_RESPONSE', 2000],
    ];
    for (const [refusal, name, code] of cases) {
      const error = fromServer(refusal);
      assert.ok(error instanceof OTError);
      assert.ok(error instanceof Error);
      assert.deepEqual({ name: error.name, code: error.code }, { name, code }, refusal.id);
      assert.equal(error.message, refusal.message);
    }
  });

  it('names the engine failures: connect, timeout, ICE, negotiation', () => {
    const cases: [ClientError, string, number][] = [
      [new ClientError(1006, 'cannot reach the server'), 'OT_CONNECT_FAILED', 1006],
      [ClientError.timeout('publish'), 'OT_TIMEOUT', 1021],
      [ClientError.notConnected('publish'), 'OT_NOT_CONNECTED', 1010],
      [new ClientError(1553, 'ICE failed'), 'OT_ICE_WORKFLOW_FAILED', 1553],
      [new ClientError(1600, 'bad SDP'), 'OT_SET_REMOTE_DESCRIPTION_FAILED', 1600],
    ];
    for (const [failure, name, code] of cases) {
      assert.deepEqual({ name: toOTError(failure).name, code: toOTError(failure).code }, { name, code });
    }
  });

  it('names device failures by what went wrong, all with code 1500', () => {
    const cases = [
      ['accessDenied', 'OT_USER_MEDIA_ACCESS_DENIED'],
      ['notFound', 'OT_NO_DEVICES_FOUND'],
      ['unavailable', 'OT_HARDWARE_UNAVAILABLE'],
      ['overconstrained', 'OT_CONSTRAINTS_NOT_SATISFIED'],
      ['screenSharingNotSupported', 'OT_SCREEN_SHARING_NOT_SUPPORTED'],
      ['other', 'OT_UNABLE_TO_CAPTURE_MEDIA'],
    ] as const;
    for (const [media, name] of cases) {
      const error = toOTError(new ClientError(1500, 'cannot capture media', { media }));
      assert.deepEqual({ name: error.name, code: error.code }, { name, code: 1500 });
    }
  });

  it('reports an unknown code or a foreign exception as an unexpected server response', () => {
    assert.deepEqual(
      {
        name: toOTError(new ClientError(4242, 'odd')).name,
        code: toOTError(new ClientError(4242, 'odd')).code,
      },
      { name: 'OT_UNEXPECTED_SERVER_RESPONSE', code: 4242 },
    );
    const foreign = toOTError(new TypeError('boom'));
    assert.deepEqual(
      { name: foreign.name, code: foreign.code, message: foreign.message },
      {
        name: 'OT_UNEXPECTED_SERVER_RESPONSE',
        code: 2000,
        message: 'boom',
      },
    );
  });

  it('passes an OTError through unchanged', () => {
    const error = new OTError('OT_NOT_CONNECTED', 'signal: not connected', 500);
    assert.equal(toOTError(error), error);
  });

  it('gives the exception event the title OpenTok gives the code', () => {
    assert.equal(titleOf(1004), 'Authentication error');
    assert.equal(titleOf(1500), 'Unable to Publish');
    assert.equal(titleOf(1520), 'Unable to Force Disconnect');
    assert.equal(titleOf(9999), 'Unexpected Server Response');
  });
});
