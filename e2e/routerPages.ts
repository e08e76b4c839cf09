import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { DtlsCertificate, MediaRouter, UdpMux } from '@parlor/server/media';
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
  openPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function startRouterPages(): Promise<RouterPages> {
  const [browser, mux, certificate] = await Promise.all([
    launchChromium(),
    UdpMux.bind({ host: '127.0.0.1' }),
    DtlsCertificate.generate(),
  ]);
  const router = new MediaRouter({ mux, certificate, announcedAddress: '127.0.0.1' });
  const origin = createServer((_request, response) => response.end('<!doctype html><title>media</title>'));
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const originUrl = `http://localhost:${(origin.address() as AddressInfo).port}/`;
  return {
    browser,
    mux,
    certificate,
    router,
    async openPage() {
      const page = await newPage(browser);
      await page.goto(originUrl);
      return page;
    },
    async close() {
      router.close();
      mux.close();
      origin.close();
      await browser.close();
    },
  };
}

/** Polls until the condition holds; fails the test naming `what` after `timeoutMs`. */
export async function waitFor(
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
