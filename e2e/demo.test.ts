import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '@parlor/server/testing';
import { launchChromium, newPage } from './helpers.js';

let parlor: TestServer;
let browser: Browser;

before(async () => {
  parlor = await startTestServer({ env: { PARLOR_DEMO: 'true' } });
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
  await parlor.dispose();
});

/** Resolves once the page shows another participant's video, playing at a real size. */
async function expectsRemoteVideoPlaying(page: Page): Promise<void> {
  const frames = await page.waitForFunction(
    () => {
      const video = document.querySelector<HTMLVideoElement>('#subscribers .OT_subscriber video');
      return video && video.videoWidth > 0 && video.getVideoPlaybackQuality().totalVideoFrames;
    },
    undefined,
    { timeout: 20_000, polling: 100 },
  );
  const seen = Number(await frames.jsonValue());
  await page.waitForFunction(
    (seen) => {
      const video = document.querySelector<HTMLVideoElement>('#subscribers .OT_subscriber video');
      return (video?.getVideoPlaybackQuality().totalVideoFrames ?? 0) > seen;
    },
    seen,
    { timeout: 30_000, polling: 100 },
  );
}

describe('the demo page', () => {
  it('puts two pages in one session through its share link, and each plays the other', async () => {
    const first = await newPage(browser);
    await first.goto(`${parlor.url}/`);
    const share = first.locator('#share');
    await first.waitForFunction(() =>
      document.querySelector<HTMLAnchorElement>('#share')?.href.includes('?session='),
    );
    const link = await share.getAttribute('href');
    assert.ok(link !== null && link.startsWith(`${parlor.url}/?session=`), String(link));

    const second = await newPage(browser);
    await second.goto(link);
    await Promise.all([expectsRemoteVideoPlaying(first), expectsRemoteVideoPlaying(second)]);
    assert.equal(await first.locator('#status').textContent(), 'Connected: 1 other person here');
    assert.equal(await second.locator('#publisher .OT_publisher video').count(), 1);
  });
});
