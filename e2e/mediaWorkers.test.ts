import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { OpenTok } from '@parlor/server-sdk';
import { waitFor, type TestServer } from '@parlor/server/testing';
import {
  lightVideo,
  openBrowserPeer,
  startBrowserTestBed,
  type AppOrigin,
  type BrowserPeer,
  type BrowserTestBed,
} from './helpers.js';

// Routed sessions are spread over the media worker threads, one per core; each worker has its
// own socket, so one session's end (or load) leaves the others' media alone.

let bed: BrowserTestBed;
let parlor: TestServer;
let app: AppOrigin;
let browser: Browser;

before(async () => {
  bed = await startBrowserTestBed({ env: { PARLOR_MEDIA_WORKERS: '2' } });
  ({ parlor, app, browser } = bed);
});
after(() => bed.close());

/** A routed session with one publishing page and one page that subscribes to it. */
async function routedPair(opentok: OpenTok): Promise<{
  sessionId: string;
  publisher: BrowserPeer;
  subscriber: BrowserPeer;
  streamId: string;
}> {
  const { sessionId } = await opentok.createSession({ mediaMode: 'routed' });
  const [publisher, subscriber] = await Promise.all([
    openBrowserPeer(browser, app.url, parlor.apiKey, sessionId),
    openBrowserPeer(browser, app.url, parlor.apiKey, sessionId),
  ]);
  assert.equal(await subscriber.connect(opentok.generateToken(sessionId)), null);
  assert.equal(await publisher.connect(opentok.generateToken(sessionId)), null);
  assert.equal(await publisher.publish(lightVideo), null);
  return { sessionId, publisher, subscriber, streamId: await publisher.streamId() };
}

describe('media workers', () => {
  it('place sessions on different workers, and one session ending leaves the other running', async () => {
    const opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
    const first = await routedPair(opentok);
    const second = await routedPair(opentok);
    await Promise.all([
      first.subscriber.expectMediaFlowing(first.streamId),
      second.subscriber.expectMediaFlowing(second.streamId),
    ]);

    const workerOf = async (sessionId: string): Promise<number | undefined> =>
      (await parlor.server.rooms.get(sessionId)?.mediaStats())?.worker;
    const workers = [await workerOf(first.sessionId), await workerOf(second.sessionId)];
    assert.deepEqual([...workers].sort(), [0, 1]);
    assert.deepEqual(
      parlor.server.mediaWorkers.load.map(({ routers }) => routers),
      [1, 1],
    );
    const ports = parlor.server.mediaWorkers.load.map(({ port }) => port);
    assert.notEqual(ports[0], ports[1], 'each worker has a socket of its own');

    // The first session ends (both leave; a closed page could count as a dropped link, which
    // waits out the reconnection grace): its router closes in its worker, the second keeps flowing.
    for (const peer of [first.publisher, first.subscriber]) {
      await peer.page.evaluate(() => {
        window.participant.session.disconnect();
      });
    }
    await waitFor(() => parlor.server.rooms.get(first.sessionId) === undefined, 'the first room to close');
    await waitFor(
      () => parlor.server.mediaWorkers.load[workers[0] ?? 0]?.routers === 0,
      'its worker to host no router',
    );
    await second.subscriber.expectMediaFlowing(second.streamId);
    assert.equal(parlor.server.mediaWorkers.load[workers[1] ?? 1]?.routers, 1);
    await Promise.all(
      [first, second].flatMap(({ publisher, subscriber }) => [
        publisher.page.close(),
        subscriber.page.close(),
      ]),
    );
  });
});
