import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { MediaRouter, type Publication } from '@parlor/server/media';
import {
  publishOffer,
  startRouterPages,
  subscribePage,
  waitFor,
  type PageWithPc,
  type RouterPages,
} from './routerPages.js';

// The Media Router against real Chromium, without signaling: ICE-lite on one UDP socket,
// DTLS-SRTP, SDP, forwarding with rewriting, keyframe requests and REMB.

let pages: RouterPages;
let router: MediaRouter;

before(async () => {
  pages = await startRouterPages();
  ({ router } = pages);
});
after(() => pages.close());

/**
 * A page that publishes to a router: its fake camera and microphone, or a canvas of fresh noise
 * every frame, which no encoder can compress below the bitrate it is allowed. With `remb`, its
 * offer leaves out transport-wide feedback, as a browser without it would.
 */
async function publish(
  page: Page,
  on: MediaRouter = router,
  source: 'camera' | 'noise' = 'camera',
  videoCodec?: 'video/H264' | 'video/VP9',
  feedback: 'transport-wide' | 'remb' = 'transport-wide',
): Promise<Publication> {
  const offer = await page.evaluate(
    async ({ kind, videoCodec }) => {
      let stream: MediaStream;
      if (kind === 'camera') {
        stream = await navigator.mediaDevices.getUserMedia({
          audio: true,
          video: { width: 640, height: 480 },
        });
      } else {
        const canvas = document.createElement('canvas');
        canvas.width = 640;
        canvas.height = 480;
        const context = canvas.getContext('2d');
        if (!context) throw new Error('no 2d context');
        const frame = context.createImageData(640, 480);
        setInterval(() => {
          for (let offset = 0; offset < frame.data.length; offset += 65536) {
            crypto.getRandomValues(frame.data.subarray(offset, offset + 65536));
          }
          context.putImageData(frame, 0, 0);
        }, 33);
        stream = canvas.captureStream(30);
      }
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      for (const track of stream.getTracks()) {
        const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
        // Offer only the codec under test, as a browser without VP8 would.
        const codecs = RTCRtpSender.getCapabilities(track.kind)?.codecs ?? [];
        if (track.kind === 'video' && videoCodec)
          transceiver.setCodecPreferences(codecs.filter((codec) => codec.mimeType === videoCodec));
      }
      await pc.setLocalDescription(await pc.createOffer());
      (globalThis as unknown as PageWithPc).pc = pc;
      return pc.localDescription?.sdp ?? '';
    },
    { kind: source, videoCodec },
  );
  const withoutTransportWide = offer
    .split('\r\n')
    .filter((line) => !/^a=(rtcp-fb:\d+ transport-cc|extmap:\d+ .*transport-wide-cc)/.test(line))
    .join('\r\n');
  return publishOffer(page, on, feedback === 'remb' ? withoutTransportWide : offer);
}

/**
 * Bits/s of video the page's `pc` sent over the next `windowMs`, timed by the stats' own
 * timestamps: a loaded machine delays the reads, which must not stretch or shrink the window.
 */
async function videoBitrateSent(page: Page, windowMs = 1000): Promise<number> {
  const bytesSent = (): Promise<{ bytes: number; atMs: number }> =>
    page.evaluate(async () => {
      const sent = { bytes: 0, atMs: 0 };
      const stats = await (globalThis as unknown as PageWithPc).pc.getStats();
      stats.forEach((report: { type: string; kind?: string; bytesSent?: number; timestamp: number }) => {
        if (report.type !== 'outbound-rtp' || report.kind !== 'video') return;
        sent.bytes += report.bytesSent ?? 0;
        sent.atMs = report.timestamp;
      });
      return sent;
    });
  const start = await bytesSent();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const end = await bytesSent();
  return ((end.bytes - start.bytes) * 8) / ((end.atMs - start.atMs) / 1000);
}

/** What the page has received: video frames decoded, audio packets and energy. */
function received(page: Page): Promise<{
  framesDecoded: number;
  videoCodec: string;
  audioPackets: number;
  audioEnergy: number;
  senderReports: { audio: number; video: number };
}> {
  return page.evaluate(async () => {
    const result = {
      framesDecoded: 0,
      videoCodec: '',
      audioPackets: 0,
      audioEnergy: 0,
      senderReports: { audio: 0, video: 0 },
    };
    const stats = await (globalThis as unknown as PageWithPc).pc.getStats();
    stats.forEach(
      (report: {
        type: string;
        kind?: string;
        framesDecoded?: number;
        packetsReceived?: number;
        totalAudioEnergy?: number;
        reportsSent?: number;
        codecId?: string;
      }) => {
        // The router's sender reports, as the subscriber received them.
        if (report.type === 'remote-outbound-rtp' && (report.kind === 'audio' || report.kind === 'video')) {
          result.senderReports[report.kind] = report.reportsSent ?? 0;
        }
        if (report.type !== 'inbound-rtp') return;
        if (report.kind === 'video') {
          result.framesDecoded = report.framesDecoded ?? 0;
          const codec = report.codecId
            ? (stats.get(report.codecId) as { mimeType?: string } | undefined)
            : undefined;
          result.videoCodec = codec?.mimeType ?? '';
        }
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
    const [publisherPage, firstPage, latePage] = await Promise.all([
      pages.openPage(),
      pages.openPage(),
      pages.openPage(),
    ]);
    const publication = await publish(publisherPage);
    await waitFor(
      () => publication.tracks.every((track) => track.packetsIn > 20),
      'audio and video at the router',
    );

    await subscribePage(firstPage, router, publication);
    await waitFor(async () => {
      const got = await received(firstPage);
      return got.framesDecoded > 30 && got.audioPackets > 50 && got.audioEnergy > 0;
    }, 'the first subscriber to decode video and hear audio');

    // A late joiner gets a keyframe on request and decodes within a few seconds.
    const lateJoinedAt = Date.now();
    await subscribePage(latePage, router, publication);
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

    // Sender reports reach the subscriber for both tracks, so it can keep them in sync.
    await waitFor(async () => {
      const { senderReports } = await received(firstPage);
      return senderReports.audio > 0 && senderReports.video > 0;
    }, 'sender reports for audio and video');

    // The subscriber's receiver reports give the router a loopback round-trip time.
    await waitFor(
      () =>
        router.stats().subscriptions.every((s) => s.tracks.every((t) => t.rttMs !== null && t.rttMs < 500)),
      'round-trip times from receiver reports',
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

  // H264 through the TypeScript data plane (`--data-plane js`), so that the reference plane is
  // driven by a browser too; VP9 (picture IDs rewritten) through the native one.
  for (const [videoCodec, plane] of [
    ['video/H264', 'js'],
    ['video/VP9', 'native'],
  ] as const) {
    it(`forwards ${videoCodec} when the publisher offers nothing else (${plane} data plane)`, async () => {
      const on = plane === 'js' ? pages.jsRouter : router;
      const [publisherPage, subscriberPage] = await Promise.all([pages.openPage(), pages.openPage()]);
      const publication = await publish(publisherPage, on, 'camera', videoCodec);
      const video = publication.tracks.find((track) => track.kind === 'video');
      assert.equal(video?.section.codecs[0]?.name.toLowerCase(), videoCodec.slice(6).toLowerCase());
      await subscribePage(subscriberPage, on, publication);
      await waitFor(async () => {
        const got = await received(subscriberPage);
        return got.framesDecoded > 30 && got.audioEnergy > 0;
      }, `the subscriber to decode ${videoCodec}`);
      assert.equal((await received(subscriberPage)).videoCodec, videoCodec);
      on.unpublish(publication);
      await Promise.all([publisherPage.close(), subscriberPage.close()]);
    });
  }

  it('lets a publisher with transport-wide feedback raise its estimate far above where it starts (300 kbit/s)', async () => {
    const page = await pages.openPage();
    const publication = await publish(page, router, 'noise');
    const estimate = (): Promise<number> =>
      page.evaluate(async () => {
        let bitrate = 0;
        const stats = await (globalThis as unknown as PageWithPc).pc.getStats();
        stats.forEach((report: { type: string; nominated?: boolean; availableOutgoingBitrate?: number }) => {
          if (report.type === 'candidate-pair' && report.nominated)
            bitrate = Math.max(bitrate, report.availableOutgoingBitrate ?? 0);
        });
        return bitrate;
      });
    let best = 0;
    await waitFor(
      async () => {
        best = Math.max(best, await estimate());
        return best >= 1_000_000;
      },
      `the publisher's estimate to pass 1 Mbit/s (best: ${Math.round(best)})`,
      25_000,
    );
    router.unpublish(publication);
    await page.close();
  });

  it('lets a publisher without transport-wide feedback reach the bitrate the router allows: its REMB follows what arrives up to it', async () => {
    const allowed = 1_000_000;
    const capped = new MediaRouter({
      mux: pages.mux,
      certificate: pages.certificate,
      announcedAddress: '127.0.0.1',
      maxVideoBitrate: allowed,
    });
    const page = await pages.openPage();
    await publish(page, capped, 'noise', undefined, 'remb');
    let best = 0;
    await waitFor(
      async () => {
        best = Math.max(best, await videoBitrateSent(page));
        return best >= 0.8 * allowed;
      },
      `the publisher to send 80 % of ${allowed} bit/s (best: ${Math.round(best)})`,
      25_000,
    );
    // REMB is a ceiling too: the publisher stays near what the router allows, averaged over 3 s
    // so that a pacer catching up after the machine stalled it does not read as a breach.
    const steady = await videoBitrateSent(page, 3000);
    assert.ok(steady <= 1.25 * allowed, `${Math.round(steady)} bit/s is above the ${allowed} allowed`);
    capped.close();
    await page.close();
  });
});
