import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenTok from 'opentok';
import type { Page } from 'playwright-core';
import { fromCallback } from '@parlor/server/testing';
import {
  basicVideoChat,
  expectSubscriberVideo,
  startSampleBed,
  videos,
  type SampleBed,
} from './samplePages.js';

// OpenTok's web samples around sessions (see samplePages.ts): video chat, signaling, a canvas, a
// level meter, archiving, end-to-end encryption, the pre-call network test.

let bed: SampleBed;
let opentok: OpenTok;
const scratch = mkdtempSync(join(tmpdir(), 'parlor-samples-'));

before(async () => {
  // Routed sessions with adaptive routing, as Parlor runs by default: one-on-one goes peer to peer.
  bed = await startSampleBed({ PARLOR_ADAPTIVE_ROUTING: 'on' });
  opentok = new OpenTok(bed.parlor.apiKey, bed.parlor.apiSecret, { apiUrl: bed.parlor.url });
  serveArchiving(bed);
});
after(async () => {
  await bed.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

/** Reads a request's JSON body (the Archiving sample's calls are small). */
async function jsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of request) text += String(chunk);
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

/**
 * The Archiving sample's server, as OpenTok's sample servers answer it, with the official Node SDK
 * pointed at Parlor: start (individual streams, which need no composition and keep the case
 * short), stop, and view (a redirect to the archive once it is available).
 */
function serveArchiving(sample: SampleBed): void {
  const answer = (response: ServerResponse, work: Promise<unknown>) => {
    work.then(
      (body) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  };
  sample.route('/archive/start', (request, response) => {
    answer(
      response,
      jsonBody(request).then(({ sessionId }) =>
        fromCallback<OpenTok.Archive>((done) => {
          opentok.startArchive(
            String(sessionId),
            { name: 'Important Presentation', outputMode: 'individual' },
            (error, archive) => {
              done(error, archive as OpenTok.Archive);
            },
          );
        }),
      ),
    );
  });
  for (const action of ['stop', 'view'] as const) {
    sample.route(`/archive/${action}`, (request, response) => {
      const archiveId = new URL(request.url ?? '', 'http://app').searchParams.get('id') ?? '';
      if (action === 'stop') {
        answer(
          response,
          fromCallback((done) => {
            opentok.stopArchive(archiveId, done);
          }),
        );
        return;
      }
      opentok.getArchive(archiveId, (error, archive) => {
        if (error || archive?.status !== 'available') response.writeHead(404).end('not yet available');
        else response.writeHead(302, { location: archive.url ?? '' }).end();
      });
    });
  }
}

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

/** The Archiving sample: Basic Video Chat with buttons that ask the app's server to start and stop an archive. */
const archiving = `${basicVideoChat}
var archiveID = null;
var archiveStatus = document.querySelector('#status');
session.on('archiveStarted', function archiveStarted(event) {
  archiveID = event.id;
  archiveStatus.textContent = 'Archive started: ' + archiveID;
  document.querySelector('#stop').disabled = false;
});
session.on('archiveStopped', function archiveStopped(event) {
  archiveID = event.id;
  archiveStatus.textContent = 'Archive stopped: ' + archiveID;
  document.querySelector('#view').href = SAMPLE_SERVER_BASE_URL + '/archive/view?id=' + archiveID;
});
document.querySelector('#start').addEventListener('click', function startArchive() {
  fetch(SAMPLE_SERVER_BASE_URL + '/archive/start', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ sessionId: sessionId }),
  }).then(function started(response) {
    if (!response.ok) handleError(new Error('archive start: ' + response.status));
  }, handleError);
});
document.querySelector('#stop').addEventListener('click', function stopArchive() {
  fetch(SAMPLE_SERVER_BASE_URL + '/archive/stop?id=' + archiveID, { method: 'POST' }).then(function stopped(response) {
    if (!response.ok) handleError(new Error('archive stop: ' + response.status));
  }, handleError);
});`;

/** The End-to-End Encryption sample: Basic Video Chat in a session joined with a shared secret. */
const endToEndEncryption = basicVideoChat.replace(
  'var session = OT.initSession(apiKey, sessionId);',
  `if (!OT.hasEndToEndEncryptionSupport()) alert('This browser does not support end-to-end encryption');
var session = OT.initSession(apiKey, sessionId, { encryptionSecret: encryptionSecret });`,
);

/** The pre-call network test's sample: connectivity, then quality, each result written to the page. */
const networkTest = `
var NetworkTest = OpenTokNetworkConnectivity.default;
var otNetworkTest = new NetworkTest(OT, { apiKey: apiKey, sessionId: sessionId, token: token }, {
  timeout: 5000,
  proxyServerUrl: proxyServerUrl,
});
otNetworkTest.testConnectivity().then(function connectivity(results) {
  document.querySelector('#connectivity').textContent = results.success
    ? 'passed'
    : 'failed: ' + results.failedTests.map(function type(test) { return test.type; }).join(', ');
  if (!results.success) return;
  return otNetworkTest.testQuality().then(function quality(results) {
    document.querySelector('#quality').textContent = JSON.stringify({
      audioMos: results.audio.mos,
      videoSupported: results.video.supported,
      videoMos: results.video.mos,
      recommendedResolution: results.video.recommendedResolution,
    });
  });
}).catch(function failed(error) {
  alert(error.message);
});`;

/**
 * Publisher-and-Subscriber-Controls: buttons that turn the camera and microphone, and the
 * subscriber's audio and video, off and on; a volume slider; a call button that hangs up
 * (unpublish, disconnect, keeping the publisher) and calls again with the same publisher.
 */
const controls = `
var publisher, subscriber;
function handleError(error) {
  if (error) alert(error.message);
}
var session = OT.initSession(apiKey, sessionId);
session.on('streamCreated', function subscribe(event) {
  subscriber = session.subscribe(event.stream, 'subscriber', { insertMode: 'append' }, handleError);
});
publisher = OT.initPublisher('publisher', { insertMode: 'append' }, handleError);
publisher.on('streamDestroyed', function keep(event) {
  if (session.connection === null || event.stream.connection.connectionId === session.connection.connectionId)
    event.preventDefault();
});
function connected(error) {
  if (error) handleError(error);
  else session.publish(publisher, handleError);
}
session.connect(token, connected);
document.querySelector('#camera-toggle').addEventListener('click', function camera() {
  if (publisher.session) publisher.publishVideo(!publisher.stream.hasVideo);
});
document.querySelector('#video-toggle').addEventListener('click', function video() {
  if (subscriber && subscriber.session) subscriber.subscribeToVideo(false);
});
document.querySelector('#volume').addEventListener('input', function volume(event) {
  if (subscriber && subscriber.session) subscriber.setAudioVolume(Number(event.target.value));
});
document.querySelector('#call').addEventListener('click', function callOrHangUp() {
  if (session.connection) {
    session.unpublish(publisher);
    session.disconnect();
  } else {
    session.connect(token, connected);
  }
});`;

describe('the OpenTok web samples on Parlor', () => {
  for (const mediaMode of ['relayed', 'routed'] as const) {
    it(`Basic Video Chat: two visitors see each other (${mediaMode})`, async () => {
      const sessionId = await bed.parlor.createSession({ mediaMode });
      const pages = [
        await bed.open(sessionId, videos, basicVideoChat),
        await bed.open(sessionId, videos, basicVideoChat),
      ];
      await Promise.all(pages.map((page) => expectSubscriberVideo(page)));
      // The page, unchanged, gets peer-to-peer media in a routed session: both play direct (each
      // says so once 3 frames decoded, which may come a little after the video shows).
      if (mediaMode === 'routed') {
        const paths = () =>
          bed.parlor.server.rooms
            .get(sessionId)
            ?.adaptiveRouting?.stats()
            .paths.map(({ path }) => path)
            .join(' ');
        for (let i = 0; i < 100 && paths() !== 'direct direct'; i++)
          await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal(paths(), 'direct direct');
      }
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

  it('Publisher-and-Subscriber-Controls: camera off and on, the volume, and hanging up and calling again with the same publisher', async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'routed' });
    const body = `${videos}<button id="camera-toggle">Camera</button><button id="video-toggle">Video</button>
<input type="range" id="volume" min="0" max="100" value="50"><button id="call">Call</button>`;
    const [alice, bob] = [
      await bed.open(sessionId, body, controls),
      await bed.open(sessionId, body, controls),
    ] as [Page, Page];
    await Promise.all([expectSubscriberVideo(alice), expectSubscriberVideo(bob)]);
    type Controls = { subscriber?: { stream?: { hasVideo: boolean }; getAudioVolume(): number } };
    const bobSees = (hasVideo: boolean) =>
      bob.waitForFunction(
        (hasVideo) => (window as unknown as Controls).subscriber?.stream?.hasVideo === hasVideo,
        hasVideo,
        { timeout: 10_000, polling: 100 },
      );
    await alice.click('#camera-toggle');
    await bobSees(false);
    await alice.click('#camera-toggle');
    await bobSees(true);
    // The slider dragged to 0, as a visitor would.
    await bob.evaluate(() => {
      const slider = document.querySelector<HTMLInputElement>('#volume');
      if (slider) slider.value = '0';
      slider?.dispatchEvent(new Event('input'));
    });
    assert.equal(await bob.evaluate(() => (window as unknown as Controls).subscriber?.getAudioVolume()), 0);

    await alice.click('#call');
    await bob.waitForFunction(() => !document.querySelector('#subscriber video'), undefined, {
      timeout: 10_000,
    });
    assert.equal(await alice.evaluate(() => document.querySelectorAll('#publisher video').length), 1, 'kept');
    await alice.click('#call');
    await expectSubscriberVideo(bob);
    await bed.close([alice, bob]);
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

  it("Archiving: both visitors see the archive start and stop, and the archive holds the stream's media", async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'routed' });
    const body = `${videos}<button id="start">Start archiving</button><button id="stop" disabled>Stop archiving</button>
<p id="status"></p><a id="view">View archive</a>`;
    const config = { config: { SAMPLE_SERVER_BASE_URL: '' } };
    const pages = [
      await bed.open(sessionId, body, archiving, config),
      await bed.open(sessionId, body, archiving, config),
    ] as [Page, Page];
    await Promise.all(pages.map((page) => expectSubscriberVideo(page)));
    const status = (page: Page, prefix: string) =>
      page.waitForFunction(
        (prefix) => (document.querySelector('#status')?.textContent ?? '').startsWith(prefix),
        prefix,
        { timeout: 15_000, polling: 100 },
      );
    await pages[0].click('#start');
    await Promise.all(pages.map((page) => status(page, 'Archive started')));
    await sleep(3000);
    await pages[1].click('#stop');
    await Promise.all(pages.map((page) => status(page, 'Archive stopped')));
    const view = new URL((await pages[1].getAttribute('#view', 'href')) ?? '', bed.url);
    let location: string | null = null;
    const deadline = Date.now() + 30_000;
    while (location === null && Date.now() < deadline) {
      const response = await fetch(view, { redirect: 'manual' });
      location = response.status === 302 ? response.headers.get('location') : null;
      if (location === null) await sleep(250);
    }
    assert.ok(location, 'the archive never became available');
    const zip = join(scratch, 'archive.zip');
    writeFileSync(zip, Buffer.from(await (await fetch(location)).arrayBuffer()));
    const files = execFileSync('unzip', ['-Z1', zip])
      .toString()
      .split('\n')
      .filter((name) => name.endsWith('.webm'));
    assert.equal(files.length, 2, `the archive holds ${files.join(', ')}`);
    for (const file of files) {
      execFileSync('unzip', ['-o', '-q', zip, file, '-d', scratch]);
      const probe = JSON.parse(
        execFileSync('ffprobe', [
          ...['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,nb_read_frames'],
          ...['-of', 'json', join(scratch, file)],
        ]).toString(),
      ) as { streams: { codec_type: string; nb_read_frames: string }[] };
      const frames = (type: string) =>
        Number(probe.streams.find((stream) => stream.codec_type === type)?.nb_read_frames ?? 0);
      assert.ok(frames('video') > 20, `${file}: ${JSON.stringify(probe.streams)}`);
      assert.ok(frames('audio') > 50, `${file}: ${JSON.stringify(probe.streams)}`);
    }
    await bed.close(pages);
  });

  it('End-to-End Encryption: two visitors with the same secret see each other through the router', async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'routed', e2ee: true });
    const config = { config: { encryptionSecret: 'the sample secret' } };
    const pages = [
      await bed.open(sessionId, videos, endToEndEncryption, config),
      await bed.open(sessionId, videos, endToEndEncryption, config),
    ];
    await Promise.all(pages.map((page) => expectSubscriberVideo(page)));
    await bed.close(pages);
  });

  it("Network test: OpenTok's pre-call test, served by Parlor, passes connectivity and scores audio and video", async () => {
    const sessionId = await bed.parlor.createSession({ mediaMode: 'routed' });
    const body = `<script src="${bed.parlor.url}/v2/js/network-test.js"></script>
<p id="connectivity"></p><p id="quality"></p>`;
    const page = await bed.open(sessionId, body, networkTest, { config: { proxyServerUrl: bed.parlor.url } });
    await page.waitForFunction(() => document.querySelector('#connectivity')?.textContent, undefined, {
      timeout: 30_000,
      polling: 200,
    });
    assert.equal(await page.textContent('#connectivity'), 'passed');
    const quality = await page.waitForFunction(
      () => document.querySelector('#quality')?.textContent,
      undefined,
      {
        timeout: 45_000,
        polling: 200,
      },
    );
    const results = JSON.parse(String(await quality.jsonValue())) as {
      audioMos: number;
      videoSupported: boolean;
      videoMos: number;
      recommendedResolution: string;
    };
    assert.ok(results.audioMos > 3, JSON.stringify(results));
    assert.ok(results.videoSupported && results.videoMos > 2, JSON.stringify(results));
    await bed.close([page]);
  });
});
