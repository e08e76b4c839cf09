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
