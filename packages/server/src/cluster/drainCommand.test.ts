import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { main, type CliIo } from '../cli.js';
import { freeTcpPort } from './TestRedis.js';

// `parlor node drain` against a stand-in node: what it sends, and what it says of each answer.

const secret = 'drain-test-secret-0123456789';
const requests: { method: string; url: string; authorization: string }[] = [];
const node = createServer((request, response) => {
  requests.push({
    method: request.method ?? '',
    url: request.url ?? '',
    authorization: request.headers.authorization ?? '',
  });
  if (request.headers.authorization !== `Bearer ${secret}`) {
    response.writeHead(403, { 'content-type': 'application/json' }).end('{"code":403}');
    return;
  }
  response.writeHead(202, { 'content-type': 'application/json' }).end('{"nodeId":"eu-2","state":"draining"}');
});
let nodeUrl: string;

before(async () => {
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
  nodeUrl = `http://127.0.0.1:${(node.address() as AddressInfo).port}`;
});
after(() => {
  node.close();
});

/** The node's own settings, as the command reads them. */
function nodeEnv(clusterSecret: string): Record<string, string> {
  return {
    PARLOR_TURN: 'off',
    PARLOR_REDIS_URL: 'redis://127.0.0.1:1',
    PARLOR_DATABASE_URL: 'postgres://parlor@127.0.0.1:1/parlor',
    PARLOR_CLUSTER_SECRET: clusterSecret,
    PARLOR_PUBLIC_URL: nodeUrl,
    PARLOR_INTERNAL_URL: nodeUrl,
  };
}

async function parlor(env: Record<string, string>, ...args: string[]) {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (text) => (out += text),
    err: (text) => (err += text),
  };
  const code = await main(['node', 'drain', ...args], env, io);
  return { code, out, err };
}

describe('parlor node drain', () => {
  it('asks the node at its internal URL to drain, with the cluster secret, and says so', async () => {
    const { code, out } = await parlor(nodeEnv(secret));
    assert.equal(code, 0);
    assert.match(out, /^Node eu-2 at http:\/\/127\.0\.0\.1:\d+ is draining/);
    assert.deepEqual(requests.at(-1), {
      method: 'POST',
      url: '/v2/cluster/drain',
      authorization: `Bearer ${secret}`,
    });
  });

  it('says what the node answered when it refuses, and exits 1', async () => {
    const { code, err } = await parlor(nodeEnv('another-secret-0123456789'));
    assert.equal(code, 1);
    assert.match(err, /answered 403/);
  });

  it('exits 1 naming the URL when nothing answers there', async () => {
    const url = `http://127.0.0.1:${await freeTcpPort()}`;
    const { code, err } = await parlor(nodeEnv(secret), '--url', url);
    assert.equal(code, 1);
    assert.match(err, new RegExp(`cannot reach ${url}: .*ECONNREFUSED`));
  });

  it('reads only the cluster secret and the URL: the rest of the node settings need not be there, nor valid', async () => {
    const { code, out } = await parlor({
      PARLOR_CLUSTER_SECRET: secret,
      PARLOR_INTERNAL_URL: nodeUrl,
      PARLOR_PORT: 'not a port',
    });
    assert.equal(code, 0, out);
    assert.match(out, /is draining/);
    const bad = await parlor({ PARLOR_CLUSTER_SECRET: secret, PARLOR_INTERNAL_URL: 'not a URL' });
    assert.equal(bad.code, 2);
    assert.match(bad.err, /PARLOR_INTERNAL_URL/);
  });

  it("needs the node's cluster settings, and exits 2 without them", async () => {
    const { code, err } = await parlor({ PARLOR_TURN: 'off' }, '--url', nodeUrl);
    assert.equal(code, 2);
    assert.match(err, /needs the node's cluster settings/);
  });
});
