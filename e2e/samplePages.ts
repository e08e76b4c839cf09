import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '@parlor/server/testing';
import { launchChromium, newPage } from './helpers.js';

// OpenTok's public web samples (opentok-web-samples), as a user runs them against Parlor: each
// page is the sample's markup and script, written here from their published behaviour, with
// only the OpenTok.js script tag pointing at Parlor and the sample's config filled in.

/** Answers one path of the sample app's server (the samples that need one, as Archiving does). */
export type SampleRoute = (request: IncomingMessage, response: ServerResponse) => void;

export interface SampleOptions {
  /** More of the sample's config, as page globals. Default: none. */
  readonly config?: Record<string, unknown>;
  /** Runs before the page's scripts: the test's stand-ins for devices. Default: none. */
  readonly initScript?: string;
}

/** A Parlor server, Chromium, and the app's origin that serves the sample pages. */
export interface SampleBed {
  readonly parlor: TestServer;
  readonly browser: Browser;
  /** The app's origin. */
  readonly url: string;
  /** Serves `path` at the app's origin from now on. */
  route(path: string, handler: SampleRoute): void;
  /**
   * Opens a sample at the app's origin: its markup, Parlor's OpenTok.js where the sample loads
   * OpenTok's, its config (`apiKey`, `sessionId`, `token`), then its script.
   */
  open(sessionId: string, body: string, script: string, options?: SampleOptions): Promise<Page>;
  /** Closes sample pages, failing if any alerted an error. */
  close(pages: readonly Page[]): Promise<void>;
  dispose(): Promise<void>;
}

export async function startSampleBed(env: Record<string, string> = {}): Promise<SampleBed> {
  const parlor = await startTestServer({ env });
  const browser = await launchChromium();
  const routes = new Map<string, SampleRoute>();
  const app: Server = createServer((request, response) => {
    const route = routes.get(new URL(request.url ?? '/', 'http://app').pathname);
    if (route) route(request, response);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  /** What each sample page alerted (the samples' error handler), by page. */
  const alerts = new WeakMap<Page, string[]>();
  return {
    parlor,
    browser,
    url,
    route(path, handler) {
      routes.set(path, handler);
    },
    async open(sessionId, body, script, options = {}) {
      const page = await newPage(browser);
      if (options.initScript !== undefined) await page.addInitScript({ content: options.initScript });
      const alerted: string[] = [];
      alerts.set(page, alerted);
      page.on('dialog', (dialog) => {
        alerted.push(dialog.message());
        void dialog.dismiss();
      });
      const path = `/${randomUUID()}/index.html`;
      const config = { apiKey: parlor.apiKey, sessionId, token: parlor.token(sessionId), ...options.config };
      const html = `<!DOCTYPE html><html><head><title>OpenTok sample</title>
<script src="${parlor.url}/v2/js/opentok.js"></script></head>
<body>${body}
<script>${Object.entries(config)
        .map(([name, value]) => `var ${name} = ${JSON.stringify(value)};`)
        .join('\n')}</script>
<script>${script}</script></body></html>`;
      routes.set(path, (_request, response) => {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      });
      await page.goto(url + path);
      return page;
    },
    async close(pages) {
      for (const page of pages) {
        await page.close();
        assert.deepEqual(alerts.get(page), [], 'the sample alerted an error');
      }
    },
    async dispose() {
      await browser.close();
      app.closeAllConnections();
      await new Promise((resolve) => app.close(resolve));
      await parlor.dispose();
    },
  };
}

/** The Basic Video Chat sample's script: publish the camera, subscribe to every stream into #subscriber. */
export const basicVideoChat = `
function handleError(error) {
  if (error) alert(error.message);
}
var session = OT.initSession(apiKey, sessionId);
session.on('streamCreated', function streamCreated(event) {
  var subscriberOptions = { insertMode: 'append', width: '100%', height: '100%' };
  session.subscribe(event.stream, 'subscriber', subscriberOptions, handleError);
});
session.on('sessionDisconnected', function sessionDisconnected(event) {
  console.log('You were disconnected from the session.', event.reason);
});
var publisherOptions = { insertMode: 'append', width: '100%', height: '100%' };
var publisher = OT.initPublisher('publisher', publisherOptions, handleError);
session.connect(token, function callback(error) {
  if (error) handleError(error);
  else session.publish(publisher, handleError);
});`;

/** The samples' markup for the two videos. */
export const videos = '<div id="videos"><div id="subscriber"></div><div id="publisher"></div></div>';

/**
 * Waits until the page's subscriber video, in `#subscriber`, has decoded frames and goes on
 * decoding (ten more; a layer switch on a loaded machine may pause it for a while).
 */
export async function expectSubscriberVideo(page: Page): Promise<void> {
  const frames = (): Promise<number> =>
    page.evaluate(() => {
      const video = document.querySelector<HTMLVideoElement>('#subscriber video');
      return video && video.videoWidth > 0 ? video.getVideoPlaybackQuality().totalVideoFrames : 0;
    });
  await page.waitForFunction(
    () => (document.querySelector<HTMLVideoElement>('#subscriber video')?.videoWidth ?? 0) > 0,
    undefined,
    { timeout: 30_000, polling: 200 },
  );
  await page.waitForFunction(
    (before) =>
      (document.querySelector<HTMLVideoElement>('#subscriber video')?.getVideoPlaybackQuality()
        .totalVideoFrames ?? 0) >=
      before + 10,
    await frames(),
    { timeout: 30_000, polling: 200 },
  );
}

/** The mean colour (r, g, b) of a region of a video's picture, the region in shares of its size. */
export function colourOf(
  page: Page,
  selector: string,
  region: { readonly x: number; readonly y: number; readonly width: number; readonly height: number } = {
    x: 0.25,
    y: 0.25,
    width: 0.5,
    height: 0.5,
  },
): Promise<[number, number, number]> {
  return page.evaluate(
    ({ selector, region }) => {
      const video = document.querySelector<HTMLVideoElement>(selector);
      const canvas = document.createElement('canvas');
      canvas.width = 64;
      canvas.height = 48;
      const context = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
      if (video && video.videoWidth > 0) context.drawImage(video, 0, 0, 64, 48);
      const { data } = context.getImageData(
        Math.round(region.x * 64),
        Math.round(region.y * 48),
        Math.max(1, Math.round(region.width * 64)),
        Math.max(1, Math.round(region.height * 48)),
      );
      const sums = [0, 0, 0];
      for (let i = 0; i < data.length; i += 4)
        for (let c = 0; c < 3; c++) sums[c] = (sums[c] ?? 0) + (data[i + c] ?? 0);
      const count = data.length / 4;
      return sums.map((sum) => Math.round(sum / count)) as [number, number, number];
    },
    { selector, region },
  );
}
