import assert from 'node:assert/strict';
import { afterEach, beforeEach, it } from 'node:test';
import { pino } from 'pino';
import { Store } from '../store/Store.js';
import { archiveRecord } from '../store/testing/archiveRecord.js';
import { projectRecord, sessionRecord } from '../store/testing/records.js';
import { describeEachEngine } from '../store/testing/storeEngines.js';
import { WebhookSender, type Webhook } from './WebhookSender.js';

// An archive's status and its callback are stored in one transaction (sendWithChange): a process
// that dies once the status is written cannot have left its callback in memory only.

const apiKey = '10000001';
/** Nothing listens on port 9 of loopback: every attempt fails, and waits a minute to retry. */
const url = 'http://127.0.0.1:9/';
const callback = (n: number): Webhook => ({ url, body: { n }, apiKey, queue: 's1' });

describeEachEngine('WebhookSender.sendWithChange', (engine) => {
  let store: Store;
  let sender: WebhookSender;
  beforeEach(async () => {
    store = await Store.open(await engine.freshLocation());
    await store.projects.insert(projectRecord({ apiKey }));
    await store.sessions.insert(sessionRecord({ sessionId: 's1', apiKey }));
    sender = new WebhookSender({
      store,
      logger: pino({ level: 'silent' }),
      signatureSecretOf: () => Promise.resolve('secret'),
      retryBaseMs: 60_000,
      maxQueued: 3,
    });
  });
  afterEach(async () => {
    sender.close();
    await store.close();
  });

  /** The bodies waiting in the queue `s1`, oldest first (taken out of it). */
  async function takeQueued(): Promise<unknown[]> {
    const bodies: unknown[] = [];
    for (
      let delivery = await store.webhooks.next(url, 's1');
      delivery;
      delivery = await store.webhooks.next(url, 's1')
    ) {
      bodies.push(JSON.parse(delivery.body));
      await store.webhooks.delete(delivery.deliveryId);
    }
    return bodies;
  }

  it('stores the change and its callback together, in turn with the callbacks sent before and after it', async () => {
    const archive = archiveRecord({ apiKey, sessionId: 's1', status: 'started' });
    const sent = [
      sender.send(callback(1)),
      sender.sendWithChange(async (tx) => {
        await tx.archives.insert(archive);
        return { result: 'stored', webhooks: [callback(2)] };
      }),
      sender.send(callback(3)),
    ];
    assert.deepEqual(await Promise.all(sent), [undefined, 'stored', undefined]);
    assert.equal((await store.archives.find(archive.archiveId))?.status, 'started');
    assert.equal(sender.queued, 3);
    sender.close();
    assert.deepEqual(await takeQueued(), [{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('makes no change whose callback cannot be stored, and stores no callback of a change that fails', async () => {
    const archive = archiveRecord({ apiKey, sessionId: 's1', status: 'started' });
    const unstorable: Webhook = { url, body: { n: 10n }, apiKey, queue: 's1' };
    await assert.rejects(
      sender.sendWithChange(async (tx) => {
        await tx.archives.insert(archive);
        return { result: undefined, webhooks: [unstorable] };
      }),
      TypeError,
    );
    assert.equal(await store.archives.find(archive.archiveId), undefined);

    await assert.rejects(
      sender.sendWithChange(async (tx) => {
        await tx.webhooks.add({
          url,
          body: '{"n":4}',
          apiKey,
          queue: 's1',
          createdAt: Date.now(),
          nodeId: null,
        });
        await tx.archives.insert({ ...archive, sessionId: 'no such session' });
        return { result: undefined, webhooks: [callback(5)] };
      }),
    );
    assert.equal(sender.queued, 0);
    // The sender goes on: what comes next is stored.
    await sender.send(callback(6));
    sender.close();
    assert.deepEqual(await takeQueued(), [{ n: 6 }]);
  });

  it('with the queue full, makes the change and drops its callback', async () => {
    for (const n of [1, 2, 3]) await sender.send(callback(n));
    const archive = archiveRecord({ apiKey, sessionId: 's1', status: 'started' });
    await sender.sendWithChange(async (tx) => {
      await tx.archives.insert(archive);
      return { result: undefined, webhooks: [callback(4)] };
    });
    assert.equal((await store.archives.find(archive.archiveId))?.status, 'started');
    assert.equal(sender.dropped, 1);
    sender.close();
    assert.deepEqual(await takeQueued(), [{ n: 1 }, { n: 2 }, { n: 3 }]);
  });
});
