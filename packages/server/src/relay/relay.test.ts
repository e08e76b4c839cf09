import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, type EmbeddedTurnConfig } from '../config/config.js';
import { startTestServer } from '../testing.js';
import { coturnConfig, deniedPeerRanges } from './coturnConfig.js';
import { IceServerList } from './IceServerList.js';
import { turnCredentials } from './turnCredentials.js';
import { loadOrCreateTurnSecret } from './turnSecret.js';

describe('turnCredentials', () => {
  it('names the expiry and the connection, and signs the username with the secret by HMAC-SHA1', () => {
    const { username, credential } = turnCredentials('s'.repeat(20), 'conn-1', 1_800_000_000.7);
    assert.equal(username, '1800000000:conn-1');
    assert.equal(credential, createHmac('sha1', 's'.repeat(20)).update(username).digest('base64'));
  });
});

describe('IceServerList', () => {
  const turn = { urls: ['turn:t.example:3478'], secret: 'x'.repeat(16), credentialLifetimeSeconds: 600 };

  it('hands each connection the fixed servers and TURN credentials of its own that expire after the lifetime', () => {
    const list = new IceServerList({
      fixed: [{ urls: 'stun:s.example' }],
      turn,
      now: () => 1_000_000_000_000,
    });
    const servers = list.forConnection('abc');
    assert.deepEqual(servers, [
      { urls: 'stun:s.example' },
      { urls: ['turn:t.example:3478'], ...turnCredentials(turn.secret, 'abc', 1_000_000_600) },
    ]);
    assert.notEqual(list.forConnection('def')[1]?.username, list.forConnection('abc')[1]?.username);
  });

  it('mints fresh credentials on each call', () => {
    let now = 1_000_000_000_000;
    const list = new IceServerList({ turn, now: () => now });
    const first = list.forConnection('abc')[0];
    now += 60_000;
    assert.equal(list.forConnection('abc')[0]?.username, '1000000660:abc');
    assert.equal(first?.username, '1000000600:abc');
  });

  it('hands the fixed servers only without TURN', () => {
    assert.deepEqual(new IceServerList({ fixed: [{ urls: 'stun:s.example' }] }).forConnection('a'), [
      { urls: 'stun:s.example' },
    ]);
  });
});

describe('coturnConfig', () => {
  const embedded = (env: Record<string, string> = {}): EmbeddedTurnConfig => {
    const { turn } = loadConfig({ PARLOR_TURN: 'embedded', ...env });
    assert.equal(turn.mode, 'embedded');
    return turn;
  };
  const files = { pidFile: '/d/turnserver.pid', userDb: '/d/turndb' };
  const lines = (text: string): string[] => text.trim().split('\n');

  it('uses the shared secret, no CLI, no TLS, and refuses private and loopback peers', () => {
    const config = lines(coturnConfig(embedded(), 'the-secret-0123456', files));
    for (const line of [
      'listening-port=3478',
      'min-port=49152',
      'max-port=65535',
      'realm=parlor',
      'use-auth-secret',
      'static-auth-secret=the-secret-0123456',
      'fingerprint',
      'no-cli',
      'no-tls',
      'no-dtls',
      'denied-peer-ip=127.0.0.0-127.255.255.255',
      'denied-peer-ip=10.0.0.0-10.255.255.255',
      'denied-peer-ip=192.168.0.0-192.168.255.255',
      'denied-peer-ip=::1-::1',
      'denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      'pidfile=/d/turnserver.pid',
    ]) {
      assert.ok(config.includes(line), `missing ${line}`);
    }
    assert.equal(config.filter((line) => line.startsWith('denied-peer-ip=')).length, deniedPeerRanges.length);
    // coturn 4.6 reads an IPv6 range from :: as covering every IPv4 address too.
    assert.ok(!deniedPeerRanges.some((range) => range.startsWith('::-')));
    assert.ok(
      !config.some((line) => /^(allowed-peer-ip|allow-loopback-peers|listening-ip|relay-ip)/.test(line)),
    );
  });

  it('allows the configured peers, loopback only when listed, and listens and relays where told', () => {
    const config = lines(
      coturnConfig(
        embedded({
          PARLOR_TURN_ALLOWED_PEER_IPS: '127.0.0.1,10.1.0.0-10.1.0.255',
          PARLOR_TURN_LISTEN_IPS: '127.0.0.1,10.1.0.1',
          PARLOR_TURN_RELAY_IP: '10.1.0.1',
          PARLOR_TURN_PORT: '3500',
          PARLOR_TURN_RELAY_PORTS: '50000-50100',
        }),
        'the-secret-0123456',
        files,
      ),
    );
    for (const line of [
      'allowed-peer-ip=127.0.0.1',
      'allowed-peer-ip=10.1.0.0-10.1.0.255',
      'allow-loopback-peers',
      'listening-ip=127.0.0.1',
      'listening-ip=10.1.0.1',
      'relay-ip=10.1.0.1',
      'listening-port=3500',
      'min-port=50000',
      'max-port=50100',
    ]) {
      assert.ok(config.includes(line), `missing ${line}`);
    }
    const privateOnly = lines(
      coturnConfig(embedded({ PARLOR_TURN_ALLOWED_PEER_IPS: '10.1.0.2' }), 'the-secret-0123456', files),
    );
    assert.ok(!privateOnly.includes('allow-loopback-peers'));
  });

  it('listens for TLS with the certificate when one is configured', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parlor-tls-'));
    try {
      const turn = {
        ...embedded(),
        tls: { cert: join(dir, 'cert.pem'), pkey: join(dir, 'key.pem') },
      };
      const config = lines(coturnConfig(turn, 'the-secret-0123456', files));
      assert.ok(config.includes('tls-listening-port=5349'));
      assert.ok(config.includes(`cert=${join(dir, 'cert.pem')}`));
      assert.ok(!config.includes('no-tls'));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('loadOrCreateTurnSecret', () => {
  it('generates a secret readable by its owner only, and keeps it across restarts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parlor-secret-'));
    try {
      const secret = loadOrCreateTurnSecret(dir);
      assert.ok(secret.length >= 32);
      assert.equal(statSync(join(dir, 'turn-secret')).mode & 0o777, 0o600);
      assert.equal(loadOrCreateTurnSecret(dir), secret);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('an external TURN server', () => {
  it('is handed to clients with credentials signed with its secret, and no coturn is run', async () => {
    const secret = 'external-secret-0123';
    const parlor = await startTestServer({
      env: {
        PARLOR_TURN: 'external',
        PARLOR_TURN_URLS: 'turn:turn.example.org:3478,turns:turn.example.org:443',
        PARLOR_TURN_SECRET: secret,
      },
    });
    try {
      const client = await parlor.connectClient(await parlor.createSession());
      const servers = client.session?.iceServers ?? [];
      assert.equal(servers.length, 1);
      const [expiry] = (servers[0]?.username ?? '').split(':');
      assert.deepEqual(servers[0], {
        urls: ['turn:turn.example.org:3478', 'turns:turn.example.org:443'],
        ...turnCredentials(secret, client.connectionId, Number(expiry)),
      });
      await client.close();
      assert.ok(!existsSync(join(parlor.dataDir, 'turnserver.conf')));
    } finally {
      await parlor.dispose();
    }
  });
});
