import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'sdp-transform';
import { headerExtensionUris } from '../rtpParameters.js';
import {
  acceptPublisherMedia,
  answerPublisher,
  offerSubscriber,
  parseDescription,
  type LocalTransport,
} from './sdp.js';

// An offer Chromium 156 made: audio, and video with three simulcast layers.
const chromiumOffer = readFileSync(
  new URL('./fixtures/chromium-publisher-offer.sdp', import.meta.url),
  'utf8',
);
const local: LocalTransport = {
  iceUfrag: 'abcd',
  icePwd: 'a-password-of-twenty-two',
  fingerprint: 'sha-256 AA:BB',
  candidates: [
    { ip: '127.0.0.1', port: 40000 },
    { ip: '127.0.0.1', port: 40000, protocol: 'tcp' },
  ],
};

/** The value, after asserting it is there. */
function present<T>(value: T | null | undefined): T {
  assert.ok(value !== null && value !== undefined);
  return value;
}

describe('SDP', () => {
  it("reads a Chromium offer's transport, codecs, extensions and simulcast layers", () => {
    const offer = parseDescription(chromiumOffer);
    assert.equal(offer.iceUfrag, 'CFbK');
    assert.match(offer.fingerprint, /^sha-256 10:5C:EB/);
    const audio = present(offer.media[0]);
    const video = present(offer.media[1]);
    const opus = present(audio.codecs[0]);
    const vp8 = present(video.codecs[0]);
    assert.deepEqual([audio.mid, opus.name, opus.channels, audio.ssrcs], ['0', 'opus', 2, [2349224172]]);
    assert.deepEqual([vp8.name, vp8.rtxPayloadType, video.rids], ['VP8', 97, ['q', 'h', 'f']]);
    assert.deepEqual(vp8.feedback, ['goog-remb', 'transport-cc', 'ccm fir', 'nack', 'nack pli']);
  });

  it('accepts Opus and VP8 with NACK, keyframe requests, REMB and transport-wide feedback', () => {
    const [audio, video] = acceptPublisherMedia(parseDescription(chromiumOffer)).map(present);
    assert.deepEqual(
      present(audio).codecs.map((c) => c.name),
      ['opus'],
    );
    const { codecs, extensions } = present(video);
    assert.deepEqual(
      codecs.map((c) => [c.name, c.payloadType, c.rtxPayloadType]),
      [['VP8', 96, 97]],
    );
    assert.deepEqual(present(codecs[0]).feedback, [
      'goog-remb',
      'transport-cc',
      'ccm fir',
      'nack',
      'nack pli',
    ]);
    assert.deepEqual(extensions.map((e) => e.uri).sort(), [
      'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
      'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
      'urn:3gpp:video-orientation',
      'urn:ietf:params:rtp-hdrext:sdes:mid',
      'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
      'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
    ]);
  });

  it('prefers H.264 with packetization mode 1 when VP8 is not offered, and rejects a section with nothing it forwards', () => {
    const h264Only = chromiumOffer.replace('a=rtpmap:96 VP8/90000', 'a=rtpmap:96 X-UNKNOWN/90000');
    const h264 = present(present(acceptPublisherMedia(parseDescription(h264Only))[1]).codecs[0]);
    assert.equal(h264.name, 'H264');
    assert.match(h264.parameters, /packetization-mode=1;profile-level-id=42e01f/);
    const noOpus = chromiumOffer.replace('a=rtpmap:111 opus/48000/2', 'a=rtpmap:111 speex/48000');
    assert.equal(acceptPublisherMedia(parseDescription(noOpus))[0], null);
  });

  it('does not negotiate a codec at a clock rate other than its RFC’s (Opus at 0 was accepted, then refused by the recorder)', () => {
    for (const rate of ['0', '8000', '90000']) {
      const offer = parseDescription(chromiumOffer.replace('opus/48000/2', `opus/${rate}/2`));
      assert.equal(acceptPublisherMedia(offer)[0], null, `opus/${rate}`);
    }
    const vp8At0 = chromiumOffer.replace('a=rtpmap:96 VP8/90000', 'a=rtpmap:96 VP8/0');
    const video = present(acceptPublisherMedia(parseDescription(vp8At0))[1]);
    assert.notEqual(present(video.codecs[0]).name, 'VP8');
  });

  it('answers a publisher as ICE-lite DTLS server that receives the simulcast layers', () => {
    const offer = parseDescription(chromiumOffer);
    const answer = parse(answerPublisher(offer, acceptPublisherMedia(offer), local));
    assert.equal(answer.icelite, 'ice-lite');
    assert.deepEqual(answer.groups, [{ type: 'BUNDLE', mids: '0 1' }]);
    const audio = present(answer.media[0]);
    const video = present(answer.media[1]);
    assert.deepEqual(
      [audio.direction, audio.setup, audio.iceUfrag, audio.fingerprint],
      ['recvonly', 'passive', 'abcd', { type: 'sha-256', hash: 'AA:BB' }],
    );
    assert.deepEqual(
      present(video.candidates).map((c) => [c.transport, c.ip, c.port, c.type, c.tcptype]),
      [
        ['udp', '127.0.0.1', 40000, 'host', undefined],
        ['tcp', '127.0.0.1', 40000, 'host', 'passive'],
      ],
    );
    const [udp, tcp] = present(video.candidates);
    assert.ok(present(udp).priority > present(tcp).priority, 'UDP is preferred');
    assert.equal(video.payloads, '96 97');
    assert.deepEqual(video.simulcast, { dir1: 'recv', list1: 'q;h;f' });
    assert.ok(present(video.rtcpFb).some((fb) => fb.type === 'transport-cc'));
    assert.ok(present(video.ext).some((ext) => ext.uri === headerExtensionUris.transportWideCc));
  });

  it("keeps a publisher's Opus parameters (stereo, bitrate, DTX) in its answer and in what subscribers are offered", () => {
    const wanted = 'minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1;maxaveragebitrate=128000;usedtx=1';
    const offer = parseDescription(chromiumOffer.replace(/a=fmtp:111 .*/, `a=fmtp:111 ${wanted}`));
    const accepted = acceptPublisherMedia(offer);
    const answer = parse(answerPublisher(offer, accepted, local));
    assert.deepEqual(present(answer.media[0]).fmtp, [{ payload: 111, config: wanted }]);
    const audio = present(accepted[0]);
    const offered = parse(
      offerSubscriber([{ section: audio, ssrc: 1, cname: 'parlor', streamId: 's', trackId: 't' }], local),
    );
    assert.deepEqual(present(offered.media[0]).fmtp, [{ payload: 111, config: wanted }]);
  });

  it('offers a subscriber send-only tracks with their SSRCs and stream IDs', () => {
    const video = present(acceptPublisherMedia(parseDescription(chromiumOffer))[1]);
    const offer = parse(
      offerSubscriber(
        [
          {
            section: { ...video, mid: '0', rids: [] },
            ssrc: 1234,
            cname: 'parlor',
            streamId: 's',
            trackId: 't',
          },
        ],
        local,
      ),
    );
    const media = present(offer.media[0]);
    assert.deepEqual(
      [media.direction, media.setup, media.msid],
      ['sendonly', 'actpass', [{ id: 's', appdata: 't' }]],
    );
    assert.deepEqual(
      present(media.ssrcs).map((s) => [s.id, s.attribute]),
      [
        [1234, 'cname'],
        [1234, 'msid'],
      ],
    );
  });

  it("announces a track's RTX SSRC with an FID group beside its RTX payload type", () => {
    const video = present(acceptPublisherMedia(parseDescription(chromiumOffer))[1]);
    const offer = parse(
      offerSubscriber(
        [
          {
            section: { ...video, mid: '0', rids: [] },
            ssrc: 1234,
            rtxSsrc: 5678,
            cname: 'parlor',
            streamId: 's',
            trackId: 't',
          },
        ],
        local,
      ),
    );
    const media = present(offer.media[0]);
    assert.deepEqual(media.ssrcGroups, [{ semantics: 'FID', ssrcs: '1234 5678' }]);
    assert.deepEqual(
      present(media.ssrcs).map((s) => [s.id, s.attribute]),
      [
        [1234, 'cname'],
        [1234, 'msid'],
        [5678, 'cname'],
        [5678, 'msid'],
      ],
    );
    assert.deepEqual(
      media.rtp.map((r) => [r.payload, r.codec]),
      [
        [96, 'VP8'],
        [97, 'rtx'],
      ],
    );
    assert.deepEqual(
      media.fmtp.find((f) => f.payload === 97),
      { payload: 97, config: 'apt=96' },
    );
  });

  it('refuses a description without ICE credentials', () => {
    assert.throws(() => parseDescription(chromiumOffer.replace(/a=ice-ufrag:.*\r?\n/g, '')), TypeError);
  });
});
