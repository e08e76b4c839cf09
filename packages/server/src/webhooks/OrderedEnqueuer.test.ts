import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Store } from '../store/Store.js';
import { OrderedEnqueuer } from './OrderedEnqueuer.js';
import { WebhookSender } from './WebhookSender.js';

const dir = mkdtempSync(join(tmpdir(), 'parlor-enqueuer-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('OrderedEnqueuer', () => {
  it('delivers callbacks in the order they happened though their URLs are found out of order, and drops those past maxWaiting', async () => {
    const received: unknown[] = [];
    const receiver = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        received.push(JSON.parse(text));
        response.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
    const store = await Store.open({ engine: 'sqlite', file: join(dir, 'order.sqlite') });
    const logger = pino({ level: 'silent' });
    const webhooks = new WebhookSender({
      store,
      logger,
      signatureSecretOf: () => Promise.resolve('secret'),
    });
    const enqueuer = new OrderedEnqueuer({ webhooks, logger, maxWaiting: 3 });
    try {
      // The first one's URL is found last.
      for (const [n, delayMs] of [
        [0, 300],
        [1, 100],
        [2, 0],
        [3, 0],
      ] as const)
        enqueuer.enqueue({
          apiKey: '1',
          sessionId: 's',
          event: 'test',
          url: async () => {
            await sleep(delayMs);
            return url;
          },
          body: { n },
        });
      assert.equal(enqueuer.dropped, 1);
      await enqueuer.idle();
      const deadline = Date.now() + 10_000;
      while (received.length < 3 && Date.now() < deadline) await sleep(50);
      assert.deepEqual(received, [{ n: 0 }, { n: 1 }, { n: 2 }]);
    } finally {
      webhooks.close();
      await store.close();
      receiver.close();
    }
  });
});
