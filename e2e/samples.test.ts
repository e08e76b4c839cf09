import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import {
  basicVideoChat,
  expectSubscriberVideo,
  startSampleBed,
  videos,
  type SampleBed,
} from './samplePages.js';

// The first of OpenTok's web samples (see samplePages.ts): video chat, signaling, a canvas, a level meter.

let bed: SampleBed;

before(async () => {
  bed = await startSampleBed();
});
after(() => bed.dispose());

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

describe('the OpenTok web samples on Parlor', () => {
  for (const mediaMode of ['relayed', 'routed'] as const) {
    it(`Basic Video Chat: two visitors see each other (${mediaMode})`, async () => {
      const sessionId = await bed.parlor.createSession({ mediaMode });
      const pages = [
        await bed.open(sessionId, videos, basicVideoChat),
        await bed.open(sessionId, videos, basicVideoChat),
      ];
      await Promise.all(pages.map((page) => expectSubscriberVideo(page)));
      await bed.close(pages);
    });
  }

  it("Publish Canvas: the subscriber decodes the canvas's changing colours", async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'routed' });
    const body = `${videos}<canvas width="320" height="240"></canvas>`;
    const publisher = await bed.open(sessionId, body, publishCanvas);
    const viewer = await bed.open(sessionId, videos, basicVideoChat);
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
    await bed.close([publisher, viewer]);
  });

  it("Audio level meter: the fake microphone's beeps move the subscriber's meter", async () => {
    const sessionId = await bed.parlor.createSession();
    const body = `${videos}<meter id="meter" min="0" max="1" value="0"></meter>`;
    const pages = [
      await bed.open(sessionId, body, audioLevelMeter),
      await bed.open(sessionId, body, audioLevelMeter),
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
    await bed.close(pages);
  });

  it('Signaling: a message typed on one page shows in both histories, theirs and mine', async () => {
    const sessionId = await bed.parlor.createSession();
    const chat = `${videos}<div id="textchat"><p id="history"></p>
<form><input type="text" placeholder="Input your text here" id="msgTxt"></form></div>`;
    const [alice, bob] = [
      await bed.open(sessionId, chat, basicVideoChat + textChat),
      await bed.open(sessionId, chat, basicVideoChat + textChat),
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
    await bed.close([alice, bob]);
  });
});
