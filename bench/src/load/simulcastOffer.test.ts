import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simulcastOffer } from './simulcastOffer.js';

const offer = [
  'v=0',
  'a=group:BUNDLE 0 1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=mid:0',
  'a=ssrc:3894669983 cname:abc',
  'a=rtpmap:111 opus/48000/2',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=mid:1',
  'a=ssrc:1593775165 cname:abc',
  'a=ssrc-group:FID 1593775165 1593775166',
  'a=rtpmap:96 VP8/90000',
  'a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=extmap:2 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'a=rid:q send',
  'a=rid:h send',
  'a=rid:f send',
  'a=simulcast:send q;h;f',
  '',
].join('\r\n');

test('the simulcast section of an offer loses its SSRC lines and keeps its RIDs', () => {
  const munged = simulcastOffer(offer);
  const video = munged.slice(munged.indexOf('m=video'));
  assert.doesNotMatch(video, /a=ssrc/);
  assert.match(video, /a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f\r\n$/);
});

test('a section without simulcast keeps its SSRC', () => {
  const munged = simulcastOffer(offer);
  assert.match(munged.slice(0, munged.indexOf('m=video')), /a=ssrc:3894669983 cname:abc\r\n/);
});

test('an offer without simulcast is returned unchanged', () => {
  const plain = offer.replace('a=simulcast:send q;h;f\r\n', '');
  assert.equal(simulcastOffer(plain), plain);
});
