import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '@parlor/server/testing';

let parlor: TestServer;

before(async () => {
  parlor = await startTestServer();
});
after(() => parlor.dispose());

describe('GET /v2/js/opentok.js', () => {
  for (const name of ['opentok.js', 'opentok.min.js', 'opentok.esm.js']) {
    it(`serves ${name} as JavaScript to any origin, cached five minutes, revalidated by ETag`, async () => {
      const response = await fetch(`${parlor.url}/v2/js/${name}`, {
        headers: { Origin: 'http://app.example' },
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'text/javascript; charset=utf-8');
      assert.equal(response.headers.get('cache-control'), 'public, max-age=300');
      assert.equal(response.headers.get('access-control-allow-origin'), '*');
      const etag = response.headers.get('etag');
      assert.match(etag ?? '', /^"[A-Za-z0-9_-]+"$/);
      const body = await response.text();
      if (name === 'opentok.esm.js') assert.match(body, /export\s*\{/);
      else assert.match(body, /\.OT\s*=/);

      const again = await fetch(`${parlor.url}/v2/js/${name}`, { headers: { 'If-None-Match': etag ?? '' } });
      assert.equal(again.status, 304);
      assert.equal(await again.text(), '');
    });
  }
});

describe('GET /v2/js/filters/', () => {
  it('serves the segmentation model and its WebAssembly to any origin with their content types, cached a day', async () => {
    const wasm = await fetch(`${parlor.url}/v2/js/filters/selfie_segmentation_solution_simd_wasm_bin.wasm`, {
      headers: { Origin: 'http://app.example' },
    });
    assert.equal(wasm.status, 200);
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    assert.equal(wasm.headers.get('cache-control'), 'public, max-age=86400');
    assert.equal(wasm.headers.get('access-control-allow-origin'), '*');
    const bytes = new Uint8Array(await wasm.arrayBuffer());
    assert.deepEqual([...bytes.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d], 'a WebAssembly module');

    const model = await fetch(`${parlor.url}/v2/js/filters/selfie_segmentation_landscape.tflite`);
    assert.equal(model.headers.get('content-type'), 'application/octet-stream');
    assert.equal(
      Buffer.from(await model.arrayBuffer())
        .subarray(4, 8)
        .toString(),
      'TFL3',
    );

    const script = await fetch(`${parlor.url}/v2/js/filters/selfie_segmentation.js`);
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    const etag = script.headers.get('etag') ?? '';
    await script.arrayBuffer();
    const again = await fetch(`${parlor.url}/v2/js/filters/selfie_segmentation.js`, {
      headers: { 'If-None-Match': etag },
    });
    assert.equal(again.status, 304);
  });

  it('serves the noise suppression worklet as JavaScript, cached as the SDK is', async () => {
    const response = await fetch(`${parlor.url}/v2/js/filters/noise-suppression-worklet.js`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(response.headers.get('cache-control'), 'public, max-age=300');
    assert.match(await response.text(), /registerProcessor\(/);
  });

  it('serves the segmentation worker, MediaPipe Tasks’ WebAssembly module, and the model with the metadata Tasks needs', async () => {
    const worker = await fetch(`${parlor.url}/v2/js/filters/segmentation-worker.js`);
    assert.equal(worker.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.match(await worker.text(), /ImageSegmenter|segmentForVideo/);
    const loader = await fetch(`${parlor.url}/v2/js/filters/vision_wasm_module_internal.js`);
    assert.equal(loader.status, 200);
    await loader.arrayBuffer();
    const wasm = await fetch(`${parlor.url}/v2/js/filters/vision_wasm_module_internal.wasm`);
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    await wasm.arrayBuffer();
    const model = await fetch(`${parlor.url}/v2/js/filters/selfie_segmentation_landscape_tasks.tflite`);
    assert.equal(model.headers.get('cache-control'), 'public, max-age=86400');
    const bytes = Buffer.from(await model.arrayBuffer());
    assert.equal(bytes.subarray(4, 8).toString(), 'TFL3');
    assert.ok(bytes.includes('TFLITE_METADATA'), 'the metadata is named');
    const again = await fetch(`${parlor.url}/v2/js/filters/selfie_segmentation_landscape_tasks.tflite`, {
      headers: { 'If-None-Match': model.headers.get('etag') ?? '' },
    });
    assert.equal(again.status, 304);
  });

  it('serves nothing else from the package', async () => {
    const response = await fetch(`${parlor.url}/v2/js/filters/package.json`);
    assert.equal(response.status, 404);
    await response.arrayBuffer();
  });
});

describe('GET /v2/js/network-test.js', () => {
  it("serves OpenTok's pre-call network test with its MIT license on top", async () => {
    const response = await fetch(`${parlor.url}/v2/js/network-test.js`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/javascript; charset=utf-8');
    const body = await response.text();
    assert.match(body, /^\/\*!\nMIT License\n\nCopyright \(c\) 2017 OpenTok\n/);
    assert.match(body, /OpenTokNetworkConnectivity/);
  });
});

describe('POST …/logging/ClientEvent', () => {
  it('answers 200 and drops client log entries, direct or in the IP proxy form; other POST paths are 404', async () => {
    for (const path of [
      '/logging/ClientEvent',
      '/logging/ClientQos',
      '/hlg.tokbox.com/prod/logging/ClientEvent',
      `/${parlor.url}/logging/ClientEvent`,
    ]) {
      const response = await fetch(`${parlor.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'http://app.example' },
        body: JSON.stringify({ action: 'testConnectivity', variation: 'Attempt' }),
      });
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('access-control-allow-origin'), '*');
    }
    const bare = await fetch(`${parlor.url}/logging/ClientEvent`, { method: 'POST' });
    assert.equal(bare.status, 200);
    const unknown = await fetch(`${parlor.url}/logging/Other`, { method: 'POST', body: 'x' });
    assert.equal(unknown.status, 404);
    assert.deepEqual(await unknown.json(), { code: 404, message: 'Not found: POST /logging/Other' });
  });

  it('refuses an entry over 16 KiB with 413', async () => {
    const response = await fetch(`${parlor.url}/logging/ClientEvent`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x'.repeat(16 * 1024 + 1),
    });
    assert.equal(response.status, 413);
  });
});
