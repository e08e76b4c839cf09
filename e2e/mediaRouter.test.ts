import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { DtlsCertificate, MediaRouter, UdpMux, type Publication } from '@parlor/server/media';
import { launchChromium, newPage } from './helpers.js';

// The Media Router against real Chromium, without signaling: ICE-lite on one UDP socket,
// DTLS-SRTP, SDP, forwarding with rewriting, keyframe requests and REMB.

let browser: Browser;
let origin: Server;
let originUrl: string;
let mux: UdpMux;
let router: MediaRouter;

before(async () => {
  let certificate: DtlsCertificate;
  [browser, mux, certificate] = await Promise.all([
    launchChromium(),
    UdpMux.bind({ host: '127.0.0.1' }),
    DtlsCertificate.generate(),
  ]);
  router = new MediaRouter({ mux, certificate, announcedAddress: '127.0.0.1' });
  // getUserMedia needs a secure context: a page served from localhost.
  origin = createServer((_request, response) => response.end('<!doctype html><title>media</title>'));
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originUrl = `http://localhost:${(origin.address() as AddressInfo).port}/`;
});
after(async () => {
  router.close();
  mux.close();
  origin.close();
  await browser.close();
});

interface PageWithPc {
  pc: RTCPeerConnection;
}

async function openPage(): Promise<Page> {
  const page = await newPage(browser);
  await page.goto(originUrl);
  return page;
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

/** A page that publishes its fake camera and microphone to the router. */
async function publish(page: Page): Promise<Publication> {
  const offer = await page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: { width: 640, height: 480 },
    });
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    for (const track of stream.getTracks())
      pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    await pc.setLocalDescription(await pc.createOffer());
    (globalThis as unknown as PageWithPc).pc = pc;
    return pc.localDescription?.sdp ?? '';
  });
  const { publication, answerSdp } = router.publish(offer);
  await page.evaluate(
    (sdp) => (globalThis as unknown as PageWithPc).pc.setRemoteDescription({ type: 'answer', sdp }),
    answerSdp,
  );
  return publication;
}

/** A page that receives a publication from the router. */
async function subscribe(page: Page, publication: Publication) {
  const { subscription, offerSdp } = router.subscribe(publication);
  const answer = await page.evaluate(async (sdp) => {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    (globalThis as unknown as PageWithPc).pc = pc;
    // Audio is rendered, and its energy measured, only when something plays it.
    pc.ontrack = (event) => {
      if (event.track.kind !== 'audio') return;
      const audio = new Audio();
      audio.srcObject = new MediaStream([event.track]);
      void audio.play();
    };
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    return pc.localDescription?.sdp ?? '';
  }, offerSdp);
  router.answer(subscription, answer);
  return subscription;
}

/** What the page has received: video frames decoded, audio packets and energy. */
function received(page: Page): Promise<{ framesDecoded: number; audioPackets: number; audioEnergy: number }> {
  return page.evaluate(async () => {
    const result = { framesDecoded: 0, audioPackets: 0, audioEnergy: 0 };
    const stats = await (globalThis as unknown as PageWithPc).pc.getStats();
    stats.forEach(
      (report: {
        type: string;
        kind?: string;
        framesDecoded?: number;
        packetsReceived?: number;
        totalAudioEnergy?: number;
      }) => {
        if (report.type !== 'inbound-rtp') return;
        if (report.kind === 'video') result.framesDecoded = report.framesDecoded ?? 0;
        if (report.kind === 'audio') {
          result.audioPackets = report.packetsReceived ?? 0;
          result.audioEnergy = report.totalAudioEnergy ?? 0;
        }
      },
    );
    return result;
  });
}

describe('the Media Router with Chromium', () => {
  it('forwards one upstream to two subscribers, one joining late, who decode video and hear audio', async () => {
    const [publisherPage, firstPage, latePage] = await Promise.all([openPage(), openPage(), openPage()]);
    const publication = await publish(publisherPage);
    await waitFor(
      () => publication.tracks.every((track) => track.packetsIn > 20),
      'audio and video at the router',
    );

    await subscribe(firstPage, publication);
    await waitFor(async () => {
      const got = await received(firstPage);
      return got.framesDecoded > 30 && got.audioPackets > 50 && got.audioEnergy > 0;
    }, 'the first subscriber to decode video and hear audio');

    // A late joiner gets a keyframe on request and decodes within a few seconds.
    const lateJoinedAt = Date.now();
    await subscribe(latePage, publication);
    await waitFor(
      async () => (await received(latePage)).framesDecoded > 0,
      'the late subscriber to decode a frame',
      5000,
    );
    assert.ok(Date.now() - lateJoinedAt < 5000);
    const before = await received(firstPage);
    await waitFor(
      async () => (await received(firstPage)).framesDecoded > before.framesDecoded + 15,
      'the first subscriber to keep decoding',
    );

    // Upstream once: one publication whose packets each went out once per subscriber.
    const stats = router.stats();
    assert.equal(stats.publications.length, 1);
    assert.equal(stats.subscriptions.length, 2);
    const upstreamVideo = stats.publications[0]?.tracks.find((t) => t.kind === 'video')?.packets ?? 0;
    for (const subscription of stats.subscriptions) {
      const video = subscription.tracks.find((t) => t.kind === 'video')?.packets ?? 0;
      assert.ok(video > 0 && video <= upstreamVideo, `forwarded ${video} of ${upstreamVideo}`);
    }

    router.unpublish(publication);
    assert.equal(router.stats().subscriptions.length, 0);
    await Promise.all([publisherPage.close(), firstPage.close(), latePage.close()]);
  });
});
