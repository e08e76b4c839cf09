import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import OpenTok from 'opentok';
import { fromCallback, startTestServer, verifyCallback, type TestServer } from '@parlor/server/testing';
import { launchChromium, newPage } from './helpers.js';

/** Where the test leaves a screenshot of each console page, for a person to look at. */
const screenshots = new URL('./screenshots/', import.meta.url);

let parlor: TestServer;
let browser: Browser;

before(async () => {
  mkdirSync(screenshots, { recursive: true });
  parlor = await startTestServer();
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
  await parlor.dispose();
});

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: new URL(`console-${name}.png`, screenshots).pathname, fullPage: true });
}

/** A callback as the application receives it. */
interface CallbackEvent {
  readonly event: string;
  readonly sessionId?: string;
  readonly raw: string;
  readonly authorization: string;
}

/** An application's callback receiver on loopback: what it received, and a bounded wait for more. */
async function startReceiver(): Promise<{
  url: string;
  received: CallbackEvent[];
  until: (check: (received: readonly CallbackEvent[]) => boolean) => Promise<void>;
  close: () => void;
}> {
  const received: CallbackEvent[] = [];
  const server = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      const { event, sessionId } = JSON.parse(raw) as { event: string; sessionId?: string };
      received.push({
        event,
        ...(sessionId ? { sessionId } : {}),
        raw,
        authorization: request.headers.authorization ?? '',
      });
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    received,
    until: async (check) => {
      const deadline = Date.now() + 30_000;
      while (!check(received)) {
        assert.ok(
          Date.now() < deadline,
          `callbacks received: ${received.map((each) => each.event).join(', ')}`,
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** Resolves once the call page shows another participant's video, its frame count rising. */
async function playsRemoteVideo(page: Page): Promise<void> {
  const frames = await page.waitForFunction(
    () =>
      document.querySelector<HTMLVideoElement>('#subscribers .OT_subscriber video')?.getVideoPlaybackQuality()
        .totalVideoFrames,
    undefined,
    { timeout: 30_000, polling: 100 },
  );
  const seen = Number(await frames.jsonValue());
  await page.waitForFunction(
    (before) =>
      (document
        .querySelector<HTMLVideoElement>('#subscribers .OT_subscriber video')
        ?.getVideoPlaybackQuality().totalVideoFrames ?? 0) > before,
    seen,
    { timeout: 15_000, polling: 100 },
  );
}

describe('the console in Chromium', () => {
  it('sets up an operator, logs in, makes a project, a routed session and a moderator token whose join link puts two pages in a call the application learns of by callback, whose archive plays in the page, downloads and is deleted there', async () => {
    const operator = await browser.newContext();
    const page = await operator.newPage();
    page.on('pageerror', (error) => {
      console.error(`page error: ${error.message}`);
    });
    const setupLink = parlor.server.consoleSetupUrl ?? '';
    await page.goto(setupLink.replace(parlor.server.publicUrl, parlor.url));
    await screenshot(page, 'setup');
    await page.fill('#login-name', 'ann');
    await page.fill('#login-password', 'correct horse battery');
    await page.click('#login-submit');
    await page.waitForURL(`${parlor.url}/console`);
    await page.locator('#logout').click();
    await page.waitForURL(`${parlor.url}/console/login`);
    await page.fill('#login-name', 'ann');
    await page.fill('#login-password', 'wrong password!');
    await page.click('#login-submit');
    await page.waitForFunction(() => document.getElementById('status')?.textContent.includes('Wrong'));
    await screenshot(page, 'login');
    await page.fill('#login-password', 'correct horse battery');
    await page.click('#login-submit');
    await page.waitForURL(`${parlor.url}/console`);
    await page.waitForFunction(() => document.getElementById('api-key')?.textContent !== '');
    assert.equal(await page.locator('#api-key').textContent(), parlor.apiKey);

    // A new project, made in the page, whose secret the page reveals on request.
    await page.fill('#new-project-name', 'Console walk');
    await page.click('#new-project button[type="submit"]');
    await page.waitForFunction(
      (defaultKey) => !['', defaultKey].includes(document.getElementById('api-key')?.textContent ?? ''),
      parlor.apiKey,
    );
    const apiKey = (await page.locator('#api-key').textContent()) ?? '';
    assert.equal((await parlor.server.projects.find(apiKey))?.name, 'Console walk');
    await page.click('#reveal-secret');
    await page.waitForFunction(() =>
      /^[0-9a-f]{40}$/.test(document.getElementById('api-secret')?.textContent ?? ''),
    );
    const apiSecret = (await page.locator('#api-secret').textContent()) ?? '';
    assert.equal(apiSecret, (await parlor.server.projects.find(apiKey))?.apiSecret);

    // The application's session monitoring URL, set in the page, gets a test event from its button.
    const events = await startReceiver();
    const callbackForm = page.locator('form', { has: page.locator('#callback-session') });
    await page.fill('#callback-session', events.url);
    await callbackForm.locator('button[type="submit"]').click();
    await page.waitForFunction(
      (url) => (document.getElementById('callback-session') as HTMLInputElement | null)?.value === url,
      events.url,
    );
    await page
      .locator('form', { has: page.locator('#callback-session') })
      .getByText('Send a test event')
      .click();
    await events.until((received) => received.some((each) => each.event === 'test'));

    await page.selectOption('#session-media', 'routed');
    await page.click('#session-create');
    await page.waitForFunction(() => document.getElementById('session-id')?.textContent !== '');
    const sessionId = (await page.locator('#session-id').textContent()) ?? '';
    const made = await parlor.server.sessions.find(sessionId);
    assert.deepEqual([made?.apiKey, made?.mediaMode], [apiKey, 'routed']);
    await page.selectOption('#token-role', 'moderator');
    await page.click('#token-create');
    await page.waitForFunction(() => document.getElementById('token')?.textContent !== '');
    const token = (await page.locator('#token').textContent()) ?? '';
    assert.equal((await parlor.server.tokens.verify(token)).role, 'moderator');
    const join = (await page.locator('#join-link').getAttribute('href')) ?? '';
    assert.match(join, /^\/join#/);

    const alice = await newPage(browser);
    const bob = await newPage(browser);
    await alice.goto(`${parlor.url}${join}`);
    await bob.goto(`${parlor.url}${join}`);
    await Promise.all([playsRemoteVideo(alice), playsRemoteVideo(bob)]);
    await screenshot(alice, 'join');
    // The application learns of both connections and streams, signed; the page shows the deliveries.
    const ofSession = (received: readonly CallbackEvent[], event: string): number =>
      received.filter((each) => each.event === event && each.sessionId === sessionId).length;
    await events.until(
      (received) =>
        ofSession(received, 'connectionCreated') === 2 && ofSession(received, 'streamCreated') === 2,
    );
    const signatureSecret = await parlor.server.callbacks.signatureSecret(apiKey);
    for (const { authorization, raw } of events.received) verifyCallback(authorization, raw, signatureSecret);

    // Each delivery is recorded once its POST was answered: refresh until the page shows one.
    const deliveredShown = (): Promise<boolean> =>
      page.evaluate(() =>
        [...document.querySelectorAll('#deliveries tr')].some(
          (row) => row.textContent.includes('streamCreated') && row.textContent.includes('delivered'),
        ),
      );
    const shownBy = Date.now() + 30_000;
    do {
      await page.click('#refresh');
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.ok(Date.now() < shownBy, 'the page shows no delivered streamCreated');
    } while (!(await deliveredShown()));
    await page.waitForFunction(
      (id) => {
        const row = [...document.querySelectorAll('#sessions tr')].find((each) =>
          each.textContent.includes(id),
        );
        return row?.children[3]?.textContent === '2' && row.children[4]?.textContent === '2';
      },
      sessionId,
      { timeout: 10_000, polling: 200 },
    );
    assert.equal(
      await page.locator(`#sessions a[href="/inspector?sessionId=${encodeURIComponent(sessionId)}"]`).count(),
      1,
    );
    // An API token made in the page is shown once and acts on the console's API.
    await page.fill('#new-api-token-label', 'walk');
    await page.click('#new-api-token button[type="submit"]');
    await page.waitForFunction(() => document.getElementById('token-list')?.textContent.includes('walk'));
    const apiToken = (await page.locator('#new-api-token-value').textContent()) ?? '';
    const listed = await fetch(`${parlor.url}/console/api/projects`, {
      headers: { authorization: `Bearer ${apiToken}` },
    });
    assert.equal(listed.status, 200);
    await screenshot(page, 'console');

    // An archive of the call, made with the official SDK and the revealed secret, lists in the
    // page and plays in its <video>.
    const opentok = new OpenTok(apiKey, apiSecret, { apiUrl: parlor.url });
    const { id: archiveId } = await fromCallback<OpenTok.Archive>((done) => {
      opentok.startArchive(sessionId, { name: 'Console walk' }, (error, archive) => {
        done(error, archive as OpenTok.Archive);
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 4000));
    await fromCallback((done) => {
      opentok.stopArchive(archiveId, done);
    });
    const deadline = Date.now() + 90_000;
    let status = '';
    while (status !== 'available') {
      assert.ok(Date.now() < deadline, `the archive is ${status}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      status = (
        await fromCallback<OpenTok.Archive>((done) => {
          opentok.getArchive(archiveId, done);
        })
      ).status;
    }
    await page.click('#refresh');
    const row = page.locator('#archives tr', { hasText: 'Console walk' });
    await row.locator('button', { hasText: 'Play' }).click();
    await page.waitForFunction(
      () => {
        const player = document.querySelector<HTMLVideoElement>('#player');
        return player !== null && player.videoWidth > 0 && player.currentTime > 0.5;
      },
      undefined,
      { timeout: 20_000, polling: 100 },
    );
    await screenshot(page, 'archive');
    // Its download link gives the MP4; its Delete button (once confirmed) deletes it.
    const download = await fetch(new URL((await row.locator('a').getAttribute('href')) ?? '', parlor.url));
    assert.equal(download.status, 200);
    assert.equal((await download.arrayBuffer()).byteLength > 10_000, true);
    page.once('dialog', (dialog) => void dialog.accept());
    await row.locator('button', { hasText: 'Delete' }).click();
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    const deleted = await fromCallback<OpenTok.Archive>((done) => {
      opentok.getArchive(archiveId, done);
    });
    assert.equal(deleted.status, 'deleted');
    await Promise.all([alice.close(), bob.close()]);
    await operator.close();
    events.close();
  });
});
