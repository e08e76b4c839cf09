import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { OpenTok } from '@parlor/server-sdk';
import { startTestServer, type TestServer } from '@parlor/server/testing';
import type { OTNamespace } from '@parlor/client';
import { launchChromium, newPage, startAppOrigin, type AppOrigin } from './helpers.js';

// The SDK's page-facing surface: widgets, devices, and the ES module build.

let parlor: TestServer;
let app: AppOrigin;
let browser: Browser;
let page: Page;

before(async () => {
  parlor = await startTestServer();
  app = await startAppOrigin(parlor.url);
  browser = await launchChromium();
  page = await newPage(browser);
  await page.goto(app.url);
});
after(async () => {
  await browser.close();
  await app.close();
  await parlor.dispose();
});

describe('OT.initPublisher', () => {
  it('replaces its target, keeping its ID, at the size asked, mirrored, and destroy() removes it', async () => {
    const seen = await page.evaluate(
      () =>
        new Promise<Record<string, unknown>>((resolve) => {
          const target = document.createElement('div');
          target.id = 'publisher';
          document.body.append(target);
          const events: string[] = [];
          const publisher = window.OT.initPublisher('publisher', { width: 320, height: '50vh' }, (error) => {
            const element = document.getElementById('publisher');
            const video = element?.querySelector('video');
            const outcome = {
              error: error?.name ?? null,
              events,
              replaced: !target.isConnected && element === publisher.element,
              classes: element?.className,
              width: element?.style.width,
              height: element?.style.height,
              mirrored: video?.style.transform,
              muted: video?.muted,
              accessAllowed: publisher.accessAllowed,
            };
            publisher.on('destroyed', () => {
              resolve({ ...outcome, removed: document.getElementById('publisher') === null });
            });
            publisher.destroy();
          });
          publisher.on({
            accessAllowed: () => events.push('accessAllowed'),
            videoElementCreated: (event) => events.push(`videoElementCreated ${event.element.tagName}`),
          });
        }),
    );
    assert.deepEqual(seen, {
      error: null,
      events: ['accessAllowed', 'videoElementCreated VIDEO'],
      replaced: true,
      classes: 'OT_root OT_publisher OT_fit-mode-cover',
      width: '320px',
      height: '50vh',
      mirrored: 'scaleX(-1)',
      muted: true,
      accessAllowed: true,
      removed: true,
    });
  });

  it('inserts nothing without the default UI, and hands the playing video to videoElementCreated', async () => {
    const seen = await page.evaluate(
      () =>
        new Promise<Record<string, unknown>>((resolve) => {
          const before = document.body.children.length;
          const publisher = window.OT.initPublisher(undefined, {
            insertDefaultUI: false,
            publishAudio: false,
          });
          publisher.on('videoElementCreated', (event) => {
            const video = event.element;
            const result = {
              inserted: document.body.children.length - before,
              element: publisher.element ?? null,
              hasStream: video.srcObject instanceof MediaStream,
              audioEnabled: publisher.getAudioSource()?.enabled,
              videoSource: publisher.getVideoSource().type,
            };
            publisher.destroy();
            resolve(result);
          });
        }),
    );
    assert.deepEqual(seen, {
      inserted: 0,
      element: null,
      hasStream: true,
      audioEnabled: false,
      videoSource: 'camera',
    });
  });
});

describe('OT', () => {
  it('lists the fake camera and microphone, and finds the browser capable', async () => {
    const seen = await page.evaluate(async () => {
      const devices = await window.OT.getDevices();
      return {
        kinds: [...new Set(devices.map((device) => device.kind))].sort(),
        requirements: window.OT.checkSystemRequirements(),
      };
    });
    assert.deepEqual(seen, { kinds: ['audioInput', 'videoInput'], requirements: 1 });
  });

  it('as an ES module from another origin, connects to its server and publishes an application track', async () => {
    const opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
    const { sessionId } = await opentok.createSession({ mediaMode: 'relayed' });
    const token = opentok.generateToken(sessionId);
    const seen = await page.evaluate(
      async ({ moduleUrl, apiKey, sessionId, token }) => {
        const { default: OT } = (await import(moduleUrl)) as { default: OTNamespace };
        const canvas = document.createElement('canvas');
        canvas.width = 160;
        canvas.height = 120;
        const context = canvas.getContext('2d');
        context?.fillRect(0, 0, 160, 120);
        const [track] = canvas.captureStream(10).getVideoTracks();
        const session = OT.initSession(apiKey, sessionId);
        await session.connect.promise(token);
        const publisher = OT.initPublisher(undefined, { videoSource: track, audioSource: false });
        await session.publish.promise(publisher);
        const stream = publisher.stream;
        const result = {
          hasAudio: stream?.hasAudio,
          hasVideo: stream?.hasVideo,
          videoType: stream?.videoType,
          own: stream?.connection.connectionId === session.connection?.connectionId,
          found: session.getPublisherForStream(stream as NonNullable<typeof stream>) === publisher,
        };
        session.disconnect();
        return result;
      },
      { moduleUrl: `${parlor.url}/v2/js/opentok.esm.js`, apiKey: parlor.apiKey, sessionId, token },
    );
    assert.deepEqual(seen, { hasAudio: false, hasVideo: true, videoType: 'custom', own: true, found: true });
  });
});
