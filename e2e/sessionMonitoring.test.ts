import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { OpenTok } from '@parlor/server-sdk';
import { verifyCallback } from '@parlor/server/testing';
import { lightVideo, openBrowserPeer, startBrowserTestBed, type BrowserTestBed } from './helpers.js';

// Two Chromium pages join a call, publish, unpublish and leave; the application's session
// monitoring URL hears of all of it, signed.

interface MonitoringEvent {
  sessionId: string;
  projectId: string;
  event: string;
  timestamp: number;
  reason?: string;
  connection?: { id: string; createdAt: number; data: string };
  stream?: { id: string; name: string; videoType?: string; connection: { id: string } };
}

let bed: BrowserTestBed;
let receiver: Server;
const received: { authorization: string | undefined; raw: string; event: MonitoringEvent }[] = [];

before(async () => {
  bed = await startBrowserTestBed();
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({
        authorization: request.headers.authorization,
        raw,
        event: JSON.parse(raw) as MonitoringEvent,
      });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  receiver.closeAllConnections();
  receiver.close();
  await bed.close();
});

describe('session monitoring of a call between two browsers', () => {
  it('tells the application of every connection and stream, in order, signed', async () => {
    const { parlor, app, browser } = bed;
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`;
    const registered = await parlor.rest('POST', '/callback', { group: 'session', event: 'monitoring', url });
    assert.equal(registered.status, 200);
    const opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
    const { sessionId } = await opentok.createSession({ mediaMode: 'relayed' });
    const [alice, bob] = await Promise.all([
      openBrowserPeer(browser, app.url, parlor.apiKey, sessionId),
      openBrowserPeer(browser, app.url, parlor.apiKey, sessionId),
    ]);
    assert.equal(await alice.connect(opentok.generateToken(sessionId, { data: 'alice' })), null);
    assert.equal(await alice.publish({ ...lightVideo, name: 'Alice' }), null);
    assert.equal(await bob.connect(opentok.generateToken(sessionId, { data: 'bob' })), null);
    assert.equal(await bob.publish({ ...lightVideo, name: 'Bob' }), null);
    const a = { connectionId: await alice.connectionId(), streamId: await alice.streamId() };
    const b = { connectionId: await bob.connectionId(), streamId: await bob.streamId() };
    await bob.expectMediaFlowing(a.streamId);
    for (const peer of [alice, bob]) {
      await peer.page.evaluate(() => {
        const { session, publisher } = window.participant;
        if (publisher) session.unpublish(publisher);
      });
      await peer.waitForEvent({ target: 'publisher', type: 'streamDestroyed' });
    }
    await alice.page.evaluate(() => {
      window.participant.session.disconnect();
    });
    await bob.waitForEvent({ type: 'connectionDestroyed', connectionId: a.connectionId });
    await bob.page.evaluate(() => {
      window.participant.session.disconnect();
    });
    const deadline = Date.now() + 15_000;
    const ofSession = () => received.filter(({ event }) => event.sessionId === sessionId);
    while (ofSession().length < 10 && Date.now() < deadline) await sleep(50);

    const events = ofSession().map(({ event }) => event);
    assert.deepEqual(
      events.map((event) => [
        event.event,
        event.connection?.id ?? event.stream?.connection.id,
        event.stream?.id,
        event.reason,
      ]),
      [
        ['sessionCreated', undefined, undefined, undefined],
        ['connectionCreated', a.connectionId, undefined, undefined],
        ['streamCreated', a.connectionId, a.streamId, undefined],
        ['connectionCreated', b.connectionId, undefined, undefined],
        ['streamCreated', b.connectionId, b.streamId, undefined],
        ['streamDestroyed', a.connectionId, a.streamId, 'clientDisconnected'],
        ['streamDestroyed', b.connectionId, b.streamId, 'clientDisconnected'],
        ['connectionDestroyed', a.connectionId, undefined, 'clientDisconnected'],
        ['connectionDestroyed', b.connectionId, undefined, 'clientDisconnected'],
        ['sessionDestroyed', undefined, undefined, 'clientDisconnected'],
      ],
    );
    assert.deepEqual(
      events
        .filter((event) => event.event === 'streamCreated')
        .map(({ stream }) => [stream?.name, stream?.videoType]),
      [
        ['Alice', 'camera'],
        ['Bob', 'camera'],
      ],
    );
    assert.equal(events[1]?.connection?.data, 'alice');
    assert.ok(events.every((event) => event.projectId === parlor.apiKey));
    const secret = (
      (await (await parlor.rest('GET', '/signature-secret')).json()) as { signatureSecret: string }
    ).signatureSecret;
    for (const { authorization, raw } of ofSession()) verifyCallback(authorization, raw, secret);
  });
});
