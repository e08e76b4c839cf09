import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '@parlor/server/testing';
import { launchChromium, newPage } from './helpers.js';

// OpenTok's public web samples (opentok-web-samples), as a user runs them against Parlor: each
// page is the sample's markup and script, written here from their published behaviour, with
// only the OpenTok.js script tag pointing at Parlor and the sample's config filled in.

let parlor: TestServer;
let browser: Browser;
/** The app's origin, serving each sample page the tests made at its own path. */
let app: Server;
let appUrl: string;
const pagesByPath = new Map<string, string>();

before(async () => {
  // Routed sessions with adaptive routing, as Parlor runs by default: the pages go peer to peer.
  parlor = await startTestServer({ env: { PARLOR_ADAPTIVE_ROUTING: 'on' } });
  browser = await launchChromium();
  app = createServer((request, response) => {
    const page = pagesByPath.get(request.url ?? '');
    if (page === undefined) response.writeHead(404).end();
    else response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
});
after(async () => {
  await browser.close();
  app.closeAllConnections();
  await new Promise((resolve) => app.close(resolve));
  await parlor.dispose();
});

/** The Basic Video Chat sample's script: publish the camera, subscribe to every stream into #subscriber. */
const basicVideoChat = `
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

/** The Signaling sample's text chat, on top of Basic Video Chat: a form that signals, a history that shows. */
const textChat = `
var form = document.querySelector('form');
var msgTxt = document.querySelector('#msgTxt');
var msgHistory = document.querySelector('#history');
session.on('signal:msg', function signalCallback(event) {
  var msg = document.createElement('p');
  msg.textContent = event.data;
  msg.className = event.from.connectionId === session.connection.connectionId ? 'mine' : 'theirs';
  msgHistory.appendChild(msg);
  msg.scrollIntoView();
});
form.addEventListener('submit', function submit(event) {
  event.preventDefault();
  session.signal({ type: 'msg', data: msgTxt.value }, function signalCallback(error) {
    if (error) console.error('Error sending signal:', error.name, error.message);
    else msgTxt.value = '';
  });
});`;

/** What each sample page alerted (the samples' error handler), by page. */
const alerts = new WeakMap<Page, string[]>();

/** Basic Video Chat publishing a canvas's animation instead of the camera (the Publish Canvas sample). */
const publishCanvas = basicVideoChat.replace(
  "var publisherOptions = { insertMode: 'append', width: '100%', height: '100%' };",
  `var canvas = document.querySelector('canvas');
var context = canvas.getContext('2d');
var hue = 0;
setInterval(function draw() {
  hue = (hue + 5) % 360;
  context.fillStyle = 'hsl(' + hue + ', 80%, 50%)';
  context.fillRect(0, 0, canvas.width, canvas.height);
}, 33);
var publisherOptions = {
  insertMode: 'append', width: '100%', height: '100%',
  videoSource: canvas.captureStream(30).getVideoTracks()[0],
};`,
);

/** The audio level meter of OpenTok's docs on a subscriber: a moving average on a log scale, in a <meter>. */
const audioLevelMeter = basicVideoChat.replace(
  "session.subscribe(event.stream, 'subscriber', subscriberOptions, handleError);",
  `var subscriber = session.subscribe(event.stream, 'subscriber', subscriberOptions, handleError);
  var movingAvg = null;
  subscriber.on('audioLevelUpdated', function audioLevelUpdated(event) {
    if (movingAvg === null || movingAvg <= event.audioLevel) movingAvg = event.audioLevel;
    else movingAvg = 0.7 * movingAvg + 0.3 * event.audioLevel;
    var logLevel = Math.log(movingAvg) / Math.LN10 / 1.5 + 1;
    document.querySelector('#meter').value = Math.min(Math.max(logLevel, 0), 1);
  });`,
);

/**
 * Opens a sample at the app's origin: its markup, Parlor's OpenTok.js where the sample loads
 * OpenTok's, its config, then its script.
 */
async function openSample(sessionId: string, body: string, script: string): Promise<Page> {
  const page = await newPage(browser);
  const alerted: string[] = [];
  alerts.set(page, alerted);
  page.on('dialog', (dialog) => {
    alerted.push(dialog.message());
    void dialog.dismiss();
  });
  const path = `/${randomUUID()}/index.html`;
  const config = { apiKey: parlor.apiKey, sessionId, token: parlor.token(sessionId) };
  const html = `<!DOCTYPE html><html><head><title>OpenTok sample</title>
<script src="${parlor.url}/v2/js/opentok.js"></script></head>
<body>${body}
<script>var apiKey = ${JSON.stringify(config.apiKey)}; var sessionId = ${JSON.stringify(config.sessionId)};
var token = ${JSON.stringify(config.token)};</script>
<script>${script}</script></body></html>`;
  pagesByPath.set(path, html);
  await page.goto(appUrl + path);
  return page;
}

/** Closes sample pages, failing if any alerted an error. */
async function closeSamples(pages: readonly Page[]): Promise<void> {
  for (const page of pages) {
    await page.close();
    assert.deepEqual(alerts.get(page), [], 'the sample alerted an error');
  }
}

/** Waits until the page's subscriber video, in `#subscriber`, has decoded frames and keeps decoding. */
async function expectSubscriberVideo(page: Page): Promise<void> {
  const frames = (): Promise<number> =>
    page.evaluate(() => {
      const video = document.querySelector<HTMLVideoElement>('#subscriber video');
      return video && video.videoWidth > 0 ? video.getVideoPlaybackQuality().totalVideoFrames : 0;
    });
  await page.waitForFunction(
    () => (document.querySelector<HTMLVideoElement>('#subscriber video')?.videoWidth ?? 0) > 0,
    undefined,
    { timeout: 20_000, polling: 200 },
  );
  const before = await frames();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.ok((await frames()) > before, 'the subscriber video stopped');
}

const videos = '<div id="videos"><div id="subscriber"></div><div id="publisher"></div></div>';

describe('the OpenTok web samples on Parlor', () => {
  for (const mediaMode of ['relayed', 'routed'] as const) {
    it(`Basic Video Chat: two visitors see each other (${mediaMode})`, async () => {
      const sessionId = await parlor.createSession({ mediaMode });
      const pages = [
        await openSample(sessionId, videos, basicVideoChat),
        await openSample(sessionId, videos, basicVideoChat),
      ];
      await Promise.all(pages.map((page) => expectSubscriberVideo(page)));
      // The page, unchanged, gets peer-to-peer media in a routed session: both play direct (each
      // says so once 3 frames decoded, which may come a little after the video shows).
      if (mediaMode === 'routed') {
        const paths = () =>
          parlor.server.rooms
            .get(sessionId)
            ?.adaptiveRouting?.stats()
            .paths.map(({ path }) => path)
            .join(' ');
        for (let i = 0; i < 100 && paths() !== 'direct direct'; i++)
          await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal(paths(), 'direct direct');
      }
      await closeSamples(pages);
    });
  }

  it("Publish Canvas: the subscriber decodes the canvas's changing colours", async () => {
    const sessionId = await parlor.createSession({ mediaMode: 'routed' });
    const body = `${videos}<canvas width="320" height="240"></canvas>`;
    const publisher = await openSample(sessionId, body, publishCanvas);
    const viewer = await openSample(sessionId, videos, basicVideoChat);
    await expectSubscriberVideo(viewer);
    const colour = () =>
      viewer.evaluate(() => {
        const video = document.querySelector<HTMLVideoElement>('#subscriber video');
        const canvas = document.createElement('canvas');
        canvas.width = 8;
        canvas.height = 8;
        const context = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
        if (video) context.drawImage(video, 0, 0, 8, 8);
        return Array.from(context.getImageData(4, 4, 1, 1).data.subarray(0, 3)).join(',');
      });
    const seen = new Set<string>();
    for (let i = 0; i < 20 && seen.size < 3; i++) {
      seen.add(await colour());
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.ok(seen.size >= 3, `the viewer saw ${[...seen].join(' ')}`);
    await closeSamples([publisher, viewer]);
  });

  it("Audio level meter: the fake microphone's beeps move the subscriber's meter", async () => {
    const sessionId = await parlor.createSession();
    const body = `${videos}<meter id="meter" min="0" max="1" value="0"></meter>`;
    const pages = [
      await openSample(sessionId, body, audioLevelMeter),
      await openSample(sessionId, body, audioLevelMeter),
    ];
    for (const page of pages)
      await page.waitForFunction(
        () => (document.querySelector<HTMLMeterElement>('#meter')?.value ?? 0) > 0.3,
        undefined,
        {
          timeout: 20_000,
          polling: 50,
        },
      );
    await closeSamples(pages);
  });

  it('Signaling: a message typed on one page shows in both histories, theirs and mine', async () => {
    const sessionId = await parlor.createSession();
    const chat = `${videos}<div id="textchat"><p id="history"></p>
<form><input type="text" placeholder="Input your text here" id="msgTxt"></form></div>`;
    const [alice, bob] = [
      await openSample(sessionId, chat, basicVideoChat + textChat),
      await openSample(sessionId, chat, basicVideoChat + textChat),
    ] as [Page, Page];
    await expectSubscriberVideo(bob);
    await alice.fill('#msgTxt', 'hello from the sample');
    await alice.press('#msgTxt', 'Enter');
    const shown = (page: Page, className: string) =>
      page.waitForFunction(
        (className) => document.querySelector(`#history p.${className}`)?.textContent,
        className,
        { timeout: 10_000, polling: 100 },
      );
    assert.equal(await (await shown(bob, 'theirs')).jsonValue(), 'hello from the sample');
    assert.equal(await (await shown(alice, 'mine')).jsonValue(), 'hello from the sample');
    assert.equal(await alice.inputValue('#msgTxt'), '', 'the input is cleared once the signal is sent');
    await closeSamples([alice, bob]);
  });
});
