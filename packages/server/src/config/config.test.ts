import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has embedded defaults for everything', () => {
    assert.deepEqual(loadConfig({}), {
      port: 3000,
      host: '0.0.0.0',
      dataDir: resolve('data'),
      publicUrl: null,
      logLevel: 'info',
      defaultProjectCredentials: null,
      reconnectGraceSeconds: 20,
      iceServers: [],
      signalingRate: 50,
    });
  });

  it('reads the environment, and a flag wins over its variable', () => {
    const config = loadConfig(
      {
        PORT: '4000',
        HOST: '127.0.0.1',
        PARLOR_DATA_DIR: '/tmp/a',
        PARLOR_PUBLIC_URL: 'https://video.example.com/',
      },
      { port: '5000', 'data-dir': '/tmp/b' },
    );
    assert.equal(config.port, 5000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.dataDir, '/tmp/b');
    assert.equal(config.publicUrl, 'https://video.example.com');
  });

  it('takes the default project credentials from the environment', () => {
    const config = loadConfig({ PARLOR_API_KEY: '12345678', PARLOR_API_SECRET: 'c'.repeat(40) });
    assert.deepEqual(config.defaultProjectCredentials, { apiKey: '12345678', apiSecret: 'c'.repeat(40) });
  });

  it('reads the reconnection grace period in seconds, fractions included', () => {
    assert.equal(loadConfig({ PARLOR_RECONNECT_GRACE_SECONDS: '0.25' }).reconnectGraceSeconds, 0.25);
    assert.equal(loadConfig({}, { 'reconnect-grace': '0' }).reconnectGraceSeconds, 0);
    assert.throws(() => loadConfig({ PARLOR_RECONNECT_GRACE_SECONDS: '-1' }), /0 to 3600/);
    assert.throws(() => loadConfig({ PARLOR_RECONNECT_GRACE_SECONDS: 'soon' }), /0 to 3600/);
  });

  it('reads ICE servers as comma-separated URLs or as a JSON array with TURN credentials', () => {
    assert.deepEqual(
      loadConfig({ PARLOR_ICE_SERVERS: 'stun:a.example:3478, turns:b.example:443' }).iceServers,
      [{ urls: 'stun:a.example:3478' }, { urls: 'turns:b.example:443' }],
    );
    const servers = [
      {
        urls: ['turn:t.example:3478?transport=udp', 'turn:t.example:3478?transport=tcp'],
        username: 'u',
        credential: 'p',
      },
    ];
    assert.deepEqual(loadConfig({}, { 'ice-servers': JSON.stringify(servers) }).iceServers, servers);
    assert.deepEqual(loadConfig({ PARLOR_ICE_SERVERS: '' }).iceServers, []);
  });

  it('refuses ICE servers that are not STUN or TURN URLs, or have credentials that are not strings', () => {
    assert.throws(() => loadConfig({ PARLOR_ICE_SERVERS: 'http://stun.example' }), /is not a stun:/);
    assert.throws(() => loadConfig({ PARLOR_ICE_SERVERS: '[{"urls":[]}]' }), /needs urls/);
    assert.throws(() => loadConfig({ PARLOR_ICE_SERVERS: '[{"urls":"turn:t","username":1}]' }), /username/);
    assert.throws(() => loadConfig({ PARLOR_ICE_SERVERS: '[oops' }), /JSON array/);
  });

  it('reads the signaling rate as a whole number of messages per second', () => {
    assert.equal(loadConfig({ PARLOR_SIGNALING_RATE: '200' }).signalingRate, 200);
    assert.throws(() => loadConfig({ PARLOR_SIGNALING_RATE: '0' }), /1 to 100000/);
    assert.throws(() => loadConfig({}, { 'signaling-rate': '2.5' }), /1 to 100000/);
  });

  it('is frozen', () => {
    assert.ok(Object.isFrozen(loadConfig({})));
  });

  it('reports every problem at once', () => {
    try {
      loadConfig(
        {
          PORT: 'eighty',
          PARLOR_PUBLIC_URL: 'ftp://x',
          PARLOR_API_KEY: '0123',
          PARLOR_API_SECRET: 'z'.repeat(40),
        },
        { host: ' ' },
      );
      assert.fail('loadConfig accepted invalid settings');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.problems.length, 5);
      assert.match(error.problems.join('\n'), /PORT="eighty"/);
      assert.match(error.problems.join('\n'), /--host=" ": must not be empty/);
      assert.match(error.problems.join('\n'), /PARLOR_PUBLIC_URL="ftp:\/\/x"/);
      assert.match(error.problems.join('\n'), /PARLOR_API_KEY="0123": must not start with 0/);
      assert.match(error.problems.join('\n'), /PARLOR_API_SECRET/);
    }
  });
});
