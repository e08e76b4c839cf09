import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../src/testing.js';

const token = 'prometheus-scrapes-here';

describe('GET /metrics', () => {
  let parlor: TestServer;
  before(async () => {
    parlor = await startTestServer({ env: { PARLOR_METRICS_TOKEN: token } });
  });
  after(() => parlor.dispose());

  it('answers a scraper with the token in Prometheus text format, with the live sessions', async () => {
    const { alice, bob } = await parlor.liveSession();
    const response = await fetch(`${parlor.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    assert.match(text, /^parlor_sessions\{media_mode="relayed"\} 1$/m);
    assert.match(text, /^parlor_sessions\{media_mode="routed"\} 0$/m);
    assert.match(text, /^parlor_connections 2$/m);
    assert.match(text, /^parlor_streams 1$/m);
    assert.match(text, /^parlor_media_worker_sessions\{worker="0"\} 0$/m);
    assert.match(text, /^parlor_media_worker_admitting\{worker="0"\} 1$/m);
    assert.match(text, /^parlor_media_worker_shedding\{worker="0"\} 0$/m);
    assert.match(text, /^parlor_media_worker_utilization\{worker="0"\} [0-9.e-]+$/m);
    assert.match(text, /^parlor_media_worker_lag_seconds\{worker="0"\} [0-9.e-]+$/m);
    assert.match(text, /^# TYPE parlor_router_sent_packets_total counter$/m);
    assert.match(text, /^parlor_process_cpu_seconds_total \d/m);
    await alice.close();
    await bob.close();
  });

  it('answers a scraper with the token through a reverse proxy', async () => {
    const response = await fetch(`${parlor.url}/metrics`, {
      headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': '203.0.113.9' },
    });
    assert.equal(response.status, 200);
  });

  it('refuses a scraper without the token, or with another one', async () => {
    for (const authorization of [undefined, `Bearer ${token}x`, token]) {
      const response = await fetch(`${parlor.url}/metrics`, {
        headers: authorization === undefined ? {} : { authorization },
      });
      assert.equal(response.status, 403);
      assert.match(((await response.json()) as { message: string }).message, /metrics/);
    }
  });
});

describe('GET /metrics without a token', () => {
  let parlor: TestServer;
  before(async () => {
    parlor = await startTestServer();
  });
  after(() => parlor.dispose());

  it('answers loopback clients', async () => {
    const response = await fetch(`${parlor.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /^parlor_connections 0$/m);
  });

  it('refuses a loopback request that a reverse proxy on this host forwarded, or a browser page made', async () => {
    const forwarded: Record<string, string>[] = [
      { 'x-forwarded-for': '203.0.113.9' },
      { forwarded: 'for=203.0.113.9;proto=https' },
      { 'x-real-ip': '203.0.113.9' },
      { 'x-forwarded-proto': 'https' },
      { via: '1.1 proxy' },
      { origin: 'https://attacker.example' },
    ];
    for (const headers of forwarded) {
      const response = await fetch(`${parlor.url}/metrics`, { headers });
      assert.equal(response.status, 403, JSON.stringify(headers));
      assert.match(((await response.json()) as { message: string }).message, /--metrics-token/);
    }
  });
});
