import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { PublicAddressPolicy } from '../nonPublicAddresses.js';
import { Store } from '../store/Store.js';
import { waitFor } from '../waitFor.js';
import { WebhookSender } from './WebhookSender.js';

const dir = mkdtempSync(join(tmpdir(), 'parlor-webhooks-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('WebhookSender', () => {
  it('keeps at most maxQueued callbacks waiting, and counts those it drops', async () => {
    const store = await Store.open({ engine: 'sqlite', file: join(dir, 'bound.sqlite') });
    const sender = new WebhookSender({
      store,
      logger: pino({ level: 'silent' }),
      signatureSecretOf: () => Promise.resolve('secret'),
      // Nothing listens on port 9 of loopback: every attempt fails, and waits a minute to retry.
      retryBaseMs: 60_000,
      maxQueued: 5,
    });
    try {
      for (let n = 0; n < 8; n += 1)
        await sender.send({ url: 'http://127.0.0.1:9/', body: { n }, apiKey: '1', queue: `s${n % 2}` });
      assert.equal(await store.webhooks.count(), 5);
      assert.equal(sender.dropped, 3);
      const kept = await store.webhooks.next('http://127.0.0.1:9/', 's0');
      assert.equal(kept?.body, '{"n":0}');
    } finally {
      sender.close();
      await store.close();
    }
  });

  it('has at most maxConcurrent POSTs under way, all queues together', async () => {
    const held: ServerResponse[] = [];
    let answered = 0;
    const receiver = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        held.push(response);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
    const store = await Store.open({ engine: 'sqlite', file: join(dir, 'concurrent.sqlite') });
    const sender = new WebhookSender({
      store,
      logger: pino({ level: 'silent' }),
      signatureSecretOf: () => Promise.resolve('secret'),
      maxConcurrent: 2,
    });
    try {
      for (let n = 0; n < 5; n += 1) await sender.send({ url, body: { n }, apiKey: '1', queue: `s${n}` });
      while (answered < 5) {
        const deadline = Date.now() + 5000;
        while (held.length === 0 && Date.now() < deadline) await sleep(20);
        await sleep(100);
        assert.ok(held.length >= 1 && held.length <= 2, `${held.length} under way`);
        for (const response of held.splice(0)) {
          response.writeHead(204).end();
          answered += 1;
        }
      }
      const deadline = Date.now() + 5000;
      while ((await store.webhooks.count()) > 0 && Date.now() < deadline) await sleep(20);
      assert.equal(await store.webhooks.count(), 0);
    } finally {
      sender.close();
      await store.close();
      receiver.closeAllConnections();
      receiver.close();
    }
  });

  it('reads no answer body, however long, and follows no redirect', async () => {
    let redirectedTo = 0;
    const elsewhere = createServer((request, response) => {
      redirectedTo += 1;
      request.resume();
      response.writeHead(204).end();
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    const elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/`;
    let endlessWritten = 0;
    const receiver = createServer((request, response) => {
      request.resume();
      if (request.url === '/redirect') {
        response.writeHead(307, { Location: elsewhereUrl }).end();
        return;
      }
      // An answer that never ends: written as fast as it is read.
      response.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024);
      const write = (): void => {
        while (!response.destroyed && response.write(chunk)) endlessWritten += chunk.length;
        if (!response.destroyed) response.once('drain', write);
      };
      write();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const store = await Store.open({ engine: 'sqlite', file: join(dir, 'answers.sqlite') });
    const sender = new WebhookSender({
      store,
      logger: pino({ level: 'silent' }),
      signatureSecretOf: () => Promise.resolve('secret'),
      retryBaseMs: 60_000,
    });
    try {
      await sender.send({ url: `${url}/endless`, body: { n: 1 }, apiKey: '1', queue: 'a' });
      await sender.send({ url: `${url}/redirect`, body: { n: 2 }, apiKey: '1', queue: 'b' });
      const settled = async (): Promise<boolean> =>
        (await store.webhooks.count()) === 1 &&
        (await store.webhooks.next(`${url}/redirect`, 'b'))?.attempts === 1;
      const deadline = Date.now() + 5000;
      while (!(await settled()) && Date.now() < deadline) await sleep(20);
      assert.ok(
        await settled(),
        'the endless answer counts as delivered; the redirect failed, kept to retry',
      );
      assert.equal(redirectedTo, 0);
      assert.ok(
        endlessWritten < 16 * 1024 * 1024,
        `${endlessWritten} bytes written before the sender let go`,
      );
    } finally {
      sender.close();
      await store.close();
      for (const server of [receiver, elsewhere]) {
        server.closeAllConnections();
        server.close();
      }
    }
  });

  it('sends nothing to an address its policy refuses, by name or number, and keeps the callback to retry', async () => {
    let received = 0;
    const receivedCount = (): number => received;
    const receiver = createServer((request, response) => {
      received += 1;
      request.resume();
      response.writeHead(204).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    const store = await Store.open({ engine: 'sqlite', file: join(dir, 'addresses.sqlite') });
    const failures: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => failures.push(line) });
    const sender = new WebhookSender({
      store,
      logger,
      signatureSecretOf: () => Promise.resolve('secret'),
      retryBaseMs: 60_000,
      addresses: new PublicAddressPolicy(),
    });
    const allowing = new WebhookSender({
      store,
      logger: pino({ level: 'silent' }),
      signatureSecretOf: () => Promise.resolve('secret'),
      addresses: new PublicAddressPolicy(['127.0.0.1']),
    });
    try {
      for (const host of ['127.0.0.1', 'localhost'])
        await sender.send({ url: `http://${host}:${port}/`, body: {}, apiKey: '1', queue: host });
      const attempted = async (): Promise<boolean> =>
        (await store.webhooks.next(`http://127.0.0.1:${port}/`, '127.0.0.1'))?.attempts === 1 &&
        (await store.webhooks.next(`http://localhost:${port}/`, 'localhost'))?.attempts === 1;
      const deadline = Date.now() + 5000;
      while (!(await attempted()) && Date.now() < deadline) await sleep(20);
      assert.ok(await attempted(), 'both attempted and kept');
      assert.equal(receivedCount(), 0);
      assert.ok(
        failures.some((line) => line.includes('not a public address (--callback-allowed-ip allows it)')),
        'the log says why',
      );
      // Allowed, the same address gets its callback.
      await allowing.send({
        url: `http://127.0.0.1:${port}/allowed`,
        body: {},
        apiKey: '1',
        queue: 'allowed',
      });
      await waitFor(() => receivedCount() > 0, 'the allowed callback');
      assert.equal(receivedCount(), 1);
    } finally {
      sender.close();
      allowing.close();
      await store.close();
      receiver.closeAllConnections();
      receiver.close();
    }
  });
});
