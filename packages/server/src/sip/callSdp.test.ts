import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerDirection, callOffer, readCallAnswer } from './callSdp.js';

describe('call SDP', () => {
  it('offers Opus, G.722, PCMU, PCMA and telephone-event on one audio section', () => {
    const offer = callOffer({ address: '127.0.0.1', port: 20000, sessionId: '7', version: 1 });
    assert.match(offer, /^m=audio 20000 RTP\/AVP 111 9 0 8 101\r$/m);
    assert.match(offer, /^a=rtpmap:111 opus\/48000\/2\r$/m);
    assert.match(offer, /^a=rtpmap:101 telephone-event\/8000\r$/m);
    assert.match(offer, /^c=IN IP4 127.0.0.1\r$/m);
    assert.match(offer, /^a=sendrecv\r$/m);
    assert.ok(offer.endsWith('\r\n'));
    const pcmaOnly = callOffer({
      address: '::1',
      port: 2,
      sessionId: '7',
      version: 2,
      codecs: ['pcma'],
      direction: 'recvonly',
    });
    assert.match(pcmaOnly, /^m=audio 2 RTP\/AVP 8 101\r$/m);
    assert.match(pcmaOnly, /^c=IN IP6 ::1\r$/m);
    assert.match(pcmaOnly, /^a=recvonly\r$/m);
  });

  it("reads the far end's first codec Parlor offers, its telephone-event and where to send", () => {
    const answer = readCallAnswer(
      'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' +
        'm=audio 4000 RTP/AVP 3 8 0 96\r\na=rtpmap:3 GSM/8000\r\na=rtpmap:96 telephone-event/8000\r\n',
    );
    assert.deepEqual(answer, {
      codec: 'pcma',
      payloadType: 8,
      telephoneEventPayloadType: 96,
      address: '127.0.0.1',
      port: 4000,
      direction: 'sendrecv',
      onHold: false,
      srtpKey: null,
    });
  });

  it('offers and reads SDES-SRTP keys (RFC 4568)', () => {
    const key = Buffer.alloc(30, 7);
    const offer = callOffer({ address: '127.0.0.1', port: 2, sessionId: '1', version: 1, srtpKey: key });
    assert.match(offer, /^m=audio 2 RTP\/SAVP /m);
    assert.match(
      offer,
      new RegExp(`^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key.toString('base64')}\r$`, 'm'),
    );
    const answer = readCallAnswer(
      offer
        .replace('inline:', 'inline:')
        .replace(key.toString('base64'), Buffer.alloc(30, 9).toString('base64')),
    );
    assert.deepEqual(answer.srtpKey, Buffer.alloc(30, 9));
    assert.throws(() => readCallAnswer(offer.replace(key.toString('base64'), 'AAAA')), TypeError);
  });

  it('reads hold: sendonly, inactive, or the address 0.0.0.0', () => {
    const sdp = (extra: string, address = '127.0.0.1'): string =>
      `v=0\r\no=- 1 1 IN IP4 ${address}\r\ns=-\r\nc=IN IP4 ${address}\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n${extra}`;
    assert.equal(readCallAnswer(sdp('a=sendonly\r\n')).onHold, true);
    assert.equal(readCallAnswer(sdp('a=inactive\r\n')).onHold, true);
    assert.equal(readCallAnswer(sdp('', '0.0.0.0')).onHold, true);
    assert.equal(readCallAnswer(sdp('a=sendrecv\r\n')).onHold, false);
    assert.equal(answerDirection('sendonly'), 'recvonly');
    assert.equal(answerDirection('inactive'), 'inactive');
  });

  it('refuses a description with no audio or no codec in common', () => {
    assert.throws(() => readCallAnswer('v=0\r\nm=video 4000 RTP/AVP 96\r\n'), TypeError);
    assert.throws(
      () => readCallAnswer('v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 3\r\na=rtpmap:3 GSM/8000\r\n'),
      TypeError,
    );
    assert.throws(() => readCallAnswer('v=0\r\nm=audio 4000 RTP/AVP 0\r\n'), TypeError);
  });
});
