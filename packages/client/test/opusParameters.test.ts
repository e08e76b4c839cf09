import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerOpusAsOffered, clampAudioBitrate, withOpusParameters } from '../src/core/opusParameters.js';

/** An audio section as Chromium writes it: Opus with parameters, and a codec without. */
const offer = [
  'v=0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 126',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2',
  'a=fmtp:63 111/111',
  'a=rtpmap:126 telephone-event/8000',
  '',
].join('\r\n');

describe('Opus parameters', () => {
  it('adds stereo, the maximum bitrate and DTX to the Opus payload type only', () => {
    const sdp = withOpusParameters(offer, { stereo: true, maxBitrate: 128_000, dtx: true });
    assert.match(
      sdp,
      /a=fmtp:111 minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1;maxaveragebitrate=128000;usedtx=1\r\n/,
    );
    assert.match(sdp, /a=fmtp:63 111\/111\r\n/);
    assert.equal(withOpusParameters(offer, {}), offer);
  });

  it('writes a parameter line for an Opus payload type without one', () => {
    const bare = offer.replace('a=fmtp:111 minptime=10;useinbandfec=1\r\n', '');
    assert.match(
      withOpusParameters(bare, { dtx: true }),
      /a=rtpmap:111 opus\/48000\/2\r\na=fmtp:111 usedtx=1\r\n/,
    );
  });

  it('answers with what the offer asked for: stereo from sprop-stereo, the bitrate and DTX', () => {
    const asked = withOpusParameters(offer, { stereo: true, maxBitrate: 64_000, dtx: true });
    const answer = answerOpusAsOffered(asked, offer);
    assert.match(
      answer,
      /a=fmtp:111 minptime=10;useinbandfec=1;stereo=1;maxaveragebitrate=64000;usedtx=1\r\n/,
    );
    assert.equal(answerOpusAsOffered(offer, offer), offer);
  });

  it('clamps the bitrate to what Opus encodes', () => {
    assert.deepEqual([1000, 40_000, 900_000].map(clampAudioBitrate), [6000, 40_000, 510_000]);
  });
});
