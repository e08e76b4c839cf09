import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeSessionId } from '@parlor/protocol';
import { mintSessionId } from './sessionId.js';

// How each official SDK reads the API key out of a session ID (contracts/server-api.md §4).
const sdkDecoders = {
  node: (id: string) =>
    Buffer.from(id.slice(2).replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('ascii').split('~')[1],
  // PHP splits on '-', base64-decodes each piece on its own and splits each on '~'.
  php: (id: string) =>
    id
      .slice(2)
      .split('-')
      .flatMap((piece) => Buffer.from(piece, 'base64').toString('latin1').split('~')),
  python: (id: string) => Buffer.from(id.slice(2), 'base64url').toString('utf8').split('~'),
  ruby: (id: string) =>
    Buffer.from(id.slice(2).replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('latin1'),
};

describe('session IDs', () => {
  it('decode to the API key, location and creation time they were minted with', () => {
    const id = mintSessionId({ apiKey: '46264952', location: '10.1.2.3', createdAt: 1622028079808 });
    assert.match(id, /^1_[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeSessionId(id), {
      apiKey: '46264952',
      location: '10.1.2.3',
      createdAt: 1622028079808,
    });
    assert.deepEqual(decodeSessionId(mintSessionId({ apiKey: '7', location: null, createdAt: 5 })), {
      apiKey: '7',
      location: null,
      createdAt: 5,
    });
  });

  it('decode a real OpenTok session ID', () => {
    assert.deepEqual(
      decodeSessionId('1_MX40NjI2NDk1Mn5-MTYyMjAyODA3OTgwOH44Tmd0VXR3dGlVdG1ZYjVpeDVXNGxMOGN-fg'),
      {
        apiKey: '46264952',
        location: null,
        createdAt: 1622028079808,
      },
    );
  });

  it("are read correctly by every official SDK's decoder, over many random IDs", () => {
    for (let i = 0; i < 5000; i++) {
      const apiKey = String(10_000_000 + Math.floor(Math.random() * 2_000_000_000));
      const location = i % 2 === 0 ? null : `${i % 256}.${(i * 7) % 256}.${(i * 13) % 256}.${(i * 31) % 256}`;
      const id = mintSessionId({ apiKey, location, createdAt: Date.now() + i });
      assert.ok(id.length <= 255);
      assert.equal(sdkDecoders.node(id), apiKey, id);
      assert.ok(sdkDecoders.php(id).includes(apiKey), `PHP cannot read ${id}`);
      assert.ok(sdkDecoders.python(id).includes(apiKey), id);
      assert.ok(sdkDecoders.ruby(id).includes(apiKey), id);
    }
  });

  it('that are not in the format decode to null', () => {
    for (const bad of ['', '1_', 'abc', '3_MX4xMjM0fn4', '1_MX4xMjM0', '1_a+b/c', `1_${'A'.repeat(300)}`]) {
      assert.equal(decodeSessionId(bad), null, bad);
    }
  });
});
