import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import {
  acceptPublisherMedia,
  answerPublisher,
  DtlsCertificate,
  DtlsSrtpTransport,
  offerSubscriber,
  parseDescription,
  parseRtcp,
  readPayloadType,
  readSsrc,
  RtpRewriter,
  serializeRtcp,
  UdpMux,
  type IceLiteEndpoint,
  type LocalTransport,
} from '@parlor/server/media';
import { launchChromium, newPage } from './helpers.js';

// The Media Router's building blocks against real Chromium: ICE-lite on one UDP socket,
// DTLS-SRTP, SDP offer/answer, RTP rewriting and keyframe requests, one publisher and one
// subscriber, without signaling.

let browser: Browser;
let origin: Server;
let originUrl: string;
let mux: UdpMux;
let certificate: DtlsCertificate;

before(async () => {
  [browser, mux, certificate] = await Promise.all([
    launchChromium(),
    UdpMux.bind({ host: '127.0.0.1' }),
    DtlsCertificate.generate(),
  ]);
  // getUserMedia needs a secure context: a page served from localhost.
  origin = createServer((_request, response) => response.end('<!doctype html><title>media</title>'));
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originUrl = `http://localhost:${(origin.address() as AddressInfo).port}/`;
});
after(async () => {
  mux.close();
  origin.close();
  await browser.close();
});

function local(endpoint: IceLiteEndpoint): LocalTransport {
  return {
    iceUfrag: endpoint.usernameFragment,
    icePwd: endpoint.password,
    fingerprint: `sha-256 ${certificate.fingerprint}`,
    candidates: [{ ip: '127.0.0.1', port: mux.port }],
  };
}

async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function openPage(): Promise<Page> {
  const page = await newPage(browser);
  await page.goto(originUrl);
  return page;
}

describe('the media path with Chromium', () => {
  it('receives a publisher over ICE-lite and DTLS-SRTP and forwards its video to a subscriber that decodes it', async () => {
    const publisherPage = await openPage();
    const offerSdp = await publisherPage.evaluate(async () => {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: true,
        video: { width: 640, height: 480 },
      });
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      for (const track of stream.getTracks())
        pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      await pc.setLocalDescription(await pc.createOffer());
      (globalThis as unknown as { pc: RTCPeerConnection }).pc = pc;
      return pc.localDescription?.sdp ?? '';
    });
    const offer = parseDescription(offerSdp);
    const accepted = acceptPublisherMedia(offer);
    const video = accepted.find((media) => media?.kind === 'video');
    const audio = accepted.find((media) => media?.kind === 'audio');
    assert.equal(video?.codecs[0]?.name, 'VP8');
    assert.equal(audio?.codecs[0]?.name, 'opus');
    assert.ok(!video.codecs[0].feedback.includes('transport-cc'), 'transport-cc is not offered back');

    const publisherEndpoint = mux.createEndpoint();
    const upstream = new DtlsSrtpTransport({
      endpoint: publisherEndpoint,
      certificate,
      remoteFingerprint: offer.fingerprint,
    });
    const received = new Map<number, number>();
    let publisherVideoSsrc = 0;
    upstream.on('rtp', (packet) => {
      const payloadType = readPayloadType(packet);
      received.set(payloadType, (received.get(payloadType) ?? 0) + 1);
      if (payloadType === video.codecs[0]?.payloadType) publisherVideoSsrc = readSsrc(packet);
    });
    const answer = answerPublisher(offer, accepted, local(publisherEndpoint));
    await publisherPage.evaluate(
      (sdp) =>
        (globalThis as unknown as { pc: RTCPeerConnection }).pc.setRemoteDescription({ type: 'answer', sdp }),
      answer,
    );
    await waitFor(
      () =>
        (received.get(video.codecs[0]?.payloadType ?? -1) ?? 0) > 30 &&
        (received.get(audio.codecs[0]?.payloadType ?? -1) ?? 0) > 30,
      'VP8 and Opus packets at the router',
    );
    assert.equal(upstream.state, 'connected');

    // The subscriber: the router offers one send-only video track.
    const subscriberEndpoint = mux.createEndpoint();
    const downstream = new DtlsSrtpTransport({ endpoint: subscriberEndpoint, certificate });
    const subscriberSsrc = 0x5ab5c71b;
    const [publishedCodec] = video.codecs;
    assert.ok(publishedCodec);
    const { rtxPayloadType: _withoutRtx, ...vp8 } = publishedCodec;
    const subscriberOffer = offerSubscriber(
      [
        {
          section: { mid: '0', kind: 'video', codecs: [vp8], extensions: [], rids: [], ssrcs: [] },
          ssrc: subscriberSsrc,
          cname: 'parlor',
          streamId: 'stream',
          trackId: 'video',
        },
      ],
      local(subscriberEndpoint),
    );
    const subscriberPage = await openPage();
    const subscriberAnswer = await subscriberPage.evaluate(async (sdp) => {
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      (globalThis as unknown as { pc: RTCPeerConnection }).pc = pc;
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      return pc.localDescription?.sdp ?? '';
    }, subscriberOffer);
    downstream.setRemoteFingerprint(parseDescription(subscriberAnswer).fingerprint);

    // Forwarding: rewrite each video packet for the subscriber; its keyframe requests go upstream.
    const rewriter = new RtpRewriter(subscriberSsrc, 90000);
    const videoPayloadType = vp8.payloadType;
    upstream.on('rtp', (packet) => {
      if (downstream.state !== 'connected' || readPayloadType(packet) !== videoPayloadType) return;
      const copy = Buffer.from(packet);
      if (rewriter.rewrite(copy, videoPayloadType, Date.now())) downstream.sendRtp(copy);
    });
    const requestKeyframe = (): void => {
      upstream.sendRtcp(serializeRtcp({ type: 'pli', senderSsrc: 1, mediaSsrc: publisherVideoSsrc }));
    };
    downstream.on('rtcp', (compound) => {
      if (parseRtcp(compound).some((packet) => packet.type === 'pli' || packet.type === 'fir'))
        requestKeyframe();
    });
    downstream.on('stateChange', (state) => {
      if (state === 'connected') requestKeyframe();
    });

    const framesDecoded = (): Promise<number> =>
      subscriberPage.evaluate(async () => {
        const stats = await (globalThis as unknown as { pc: RTCPeerConnection }).pc.getStats();
        let frames = 0;
        stats.forEach((report: { type: string; kind?: string; framesDecoded?: number }) => {
          if (report.type === 'inbound-rtp' && report.kind === 'video') frames = report.framesDecoded ?? 0;
        });
        return frames;
      });
    await waitFor(async () => (await framesDecoded()) > 30, 'the subscriber to decode 30 frames');
    const first = await framesDecoded();
    await waitFor(async () => (await framesDecoded()) > first + 15, 'frames to keep decoding');

    upstream.close();
    downstream.close();
    publisherEndpoint.close();
    subscriberEndpoint.close();
    await publisherPage.close();
    await subscriberPage.close();
  });
});
