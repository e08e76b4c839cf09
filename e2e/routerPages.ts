import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import {
  DtlsCertificate,
  MediaRouter,
  UdpMux,
  type Publication,
  type Subscription,
  type SubscribeOptions,
} from '@parlor/server/media';
import { launchChromium, newPage } from './helpers.js';

/**
 * For the Media Router's own e2e tests, without signaling: a router in this process on a
 * loopback socket, and Chromium pages of a localhost origin (getUserMedia needs a secure
 * context) whose peer connections the tests drive.
 */
export interface RouterPages {
  readonly browser: Browser;
  readonly mux: UdpMux;
  readonly certificate: DtlsCertificate;
  readonly router: MediaRouter;
  /** A router on the TypeScript data plane, the reference (and the fallback), with a socket of its own. */
  readonly jsRouter: MediaRouter;
  openPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function startRouterPages(): Promise<RouterPages> {
  const [browser, mux, jsMux, certificate] = await Promise.all([
    launchChromium(),
    UdpMux.bind({ host: '127.0.0.1' }),
    UdpMux.bind({ host: '127.0.0.1' }),
    DtlsCertificate.generate(),
  ]);
  const router = new MediaRouter({ mux, certificate, announcedAddress: '127.0.0.1' });
  const jsRouter = new MediaRouter({
    mux: jsMux,
    certificate,
    announcedAddress: '127.0.0.1',
    dataPlane: 'js',
  });
  const origin = createServer((_request, response) => response.end('<!doctype html><title>media</title>'));
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const originUrl = `http://localhost:${(origin.address() as AddressInfo).port}/`;
  return {
    browser,
    mux,
    certificate,
    router,
    jsRouter,
    async openPage() {
      const page = await newPage(browser);
      await page.goto(originUrl);
      return page;
    },
    async close() {
      router.close();
      jsRouter.close();
      mux.close();
      jsMux.close();
      origin.close();
      await browser.close();
    },
  };
}

export { waitFor } from '@parlor/server/testing';

/** What a page under test keeps in its global scope: its one peer connection with the router. */
export interface PageWithPc {
  pc: RTCPeerConnection;
}

/** Publishes a page's offer (made on its `pc`) to the router, and gives the page the answer. */
export async function publishOffer(page: Page, router: MediaRouter, offerSdp: string): Promise<Publication> {
  const { publication, answerSdp } = router.publish(offerSdp);
  await page.evaluate(
    (sdp) => (globalThis as unknown as PageWithPc).pc.setRemoteDescription({ type: 'answer', sdp }),
    answerSdp,
  );
  return publication;
}

/** A page that receives a publication from the router on a new `pc`, playing its audio. */
export async function subscribePage(
  page: Page,
  router: MediaRouter,
  publication: Publication,
  options?: SubscribeOptions,
): Promise<Subscription> {
  const { subscription, offerSdp } = router.subscribe(publication, options);
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
