import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { ParlorError } from '@parlor/protocol';
import type { NodeRecord } from './NodeRegistry.js';
import { forwardedHeaders, OwnerForwarding } from './OwnerForwarding.js';

const secret = 'a-cluster-secret-of-the-tests';
const logger = pino({ level: 'silent' });

/** A node that answers what the test sets, and keeps the requests it got. */
let server: Server;
let node: NodeRecord;
const received: { request: IncomingMessage; body: string }[] = [];
let answer: (request: IncomingMessage, respond: (status: number, body: string) => void) => void;

before(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({ request, body });
      answer(request, (status, text) => {
        response.writeHead(status, { 'content-type': 'application/json', 'x-other': 'dropped' });
        response.end(text);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  node = { nodeId: 'eu-2', internalUrl: `http://127.0.0.1:${port}` } as NodeRecord;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

describe('OwnerForwarding', () => {
  it('makes the call signed, and the receiving side verifies it and the body it signed', async () => {
    const forwarding = new OwnerForwarding({ nodeId: 'us-1', secret, logger });
    answer = (_request, respond) => {
      respond(409, '{"code":409,"message":"busy"}');
    };
    const url = '/v2/project/1/session/s/signal?x=1';
    const result = await forwarding.call(node, { method: 'POST', url, apiKey: '1', body: { type: 'a' } });
    assert.equal(result.status, 409);
    assert.equal(result.headers['content-type'], 'application/json');
    assert.equal(result.headers['x-other'], undefined);
    assert.equal(result.body.toString(), '{"code":409,"message":"busy"}');
    const got = received.at(-1);
    assert.ok(got);
    const receiver = new OwnerForwarding({ nodeId: 'eu-2', secret, logger });
    // Another URL, another secret, another receiving node, or a time too far off: refused.
    assert.throws(() => receiver.verify(got.request.headers, 'POST', `${url}&y=2`), isAuthFailed);
    const other = new OwnerForwarding({ nodeId: 'eu-2', secret: `${secret}!`, logger });
    assert.throws(() => other.verify(got.request.headers, 'POST', url), isAuthFailed);
    const elsewhere = new OwnerForwarding({ nodeId: 'ap-3', secret, logger });
    assert.throws(() => elsewhere.verify(got.request.headers, 'POST', url), isAuthFailed);
    const stale = { ...got.request.headers, [forwardedHeaders.at]: String(Date.now() - 60_000) };
    assert.throws(() => receiver.verify(stale, 'POST', url), isAuthFailed);
    assert.equal(receiver.verify({ authorization: 'Bearer x' }, 'POST', url), null);
    const caller = receiver.verify(got.request.headers, 'POST', url);
    assert.deepEqual([caller?.nodeId, caller?.apiKey], ['us-1', '1']);
    assert.equal(got.body, '{"type":"a"}');
    // The same call made again is refused.
    assert.throws(() => receiver.verify(got.request.headers, 'POST', url), isAuthFailed);
    const noNonce = { ...got.request.headers, [forwardedHeaders.nonce]: undefined };
    assert.throws(() => receiver.verify(noNonce, 'POST', url), isAuthFailed);
  });

  it('takes two identical calls made in the same millisecond as two calls, not a replay', async () => {
    const forwarding = new OwnerForwarding({ nodeId: 'us-1', secret, logger });
    answer = (_request, respond) => {
      respond(200, '{}');
    };
    const url = '/v2/session/s/connection-info';
    const realNow = Date.now;
    Date.now = () => 1_700_000_000_000;
    try {
      await Promise.all(
        [0, 1].map(() => forwarding.call(node, { method: 'GET', url, apiKey: '1', body: undefined })),
      );
      const receiver = new OwnerForwarding({ nodeId: 'eu-2', secret, logger });
      for (const got of received.slice(-2)) assert.ok(receiver.verify(got.request.headers, 'GET', url));
    } finally {
      Date.now = realNow;
    }
  });

  it('gives up on a node that does not answer in time, or answers too much, with 504', async () => {
    const forwarding = new OwnerForwarding({
      nodeId: 'us-1',
      secret,
      logger,
      timeoutMs: 300,
      maxAnswerBytes: 1000,
    });
    answer = () => undefined;
    const started = Date.now();
    await assert.rejects(
      forwarding.call(node, { method: 'GET', url: '/slow', apiKey: '1', body: undefined }),
      (error: unknown) => error instanceof ParlorError && error.status === 504,
    );
    assert.ok(Date.now() - started < 5000);
    answer = (_request, respond) => {
      respond(200, 'x'.repeat(5000));
    };
    await assert.rejects(
      forwarding.call(node, { method: 'GET', url: '/big', apiKey: '1', body: undefined }),
      (error: unknown) => error instanceof ParlorError && error.status === 504,
    );
  });
});

function isAuthFailed(error: unknown): boolean {
  return error instanceof ParlorError && error.status === 403;
}
