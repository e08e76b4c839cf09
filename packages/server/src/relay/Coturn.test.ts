import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import type { IceServer } from '@parlor/protocol';
import { startTestServer, testTurnEnv, SignalingTestClient, type TestServer } from '../testing.js';
import { turnAllocate } from './turnAllocate.js';
import { turnCredentials } from './turnCredentials.js';
import { turnSecretFileName } from './turnSecret.js';

// A Parlor running its embedded coturn, asked for relayed addresses as a client's browser would.

let parlor: TestServer;
let turnPort: number;

before(async () => {
  const env = await testTurnEnv();
  turnPort = Number(env.PARLOR_TURN_PORT);
  parlor = await startTestServer({ env });
});
after(async () => {
  await parlor.dispose();
});

const coturn = (): { address: string; port: number } => ({ address: '127.0.0.1', port: turnPort });
const turnServer = (servers: readonly IceServer[]): IceServer => {
  const turn = servers.find((server) => [server.urls].flat().some((url) => url.startsWith('turn:')));
  assert.ok(turn?.username !== undefined && turn.credential !== undefined, 'no TURN server with credentials');
  return turn;
};
const secret = (): string => readFileSync(join(parlor.dataDir, turnSecretFileName), 'utf8').trim();

describe('the embedded TURN server', () => {
  it('hands STUN, and TURN over UDP and TCP with credentials naming the connection, in the connect response', async () => {
    const client = await parlor.connectClient(await parlor.createSession());
    const servers = client.session?.iceServers ?? [];
    assert.deepEqual(servers[0], { urls: `stun:127.0.0.1:${turnPort}` });
    const turn = turnServer(servers);
    assert.deepEqual(turn.urls, [
      `turn:127.0.0.1:${turnPort}?transport=udp`,
      `turn:127.0.0.1:${turnPort}?transport=tcp`,
    ]);
    const [expiry, connectionId] = (turn.username ?? '').split(':');
    assert.equal(connectionId, client.connectionId);
    assert.ok(Math.abs(Number(expiry) - (Date.now() / 1000 + 86400)) < 60);
    await client.close();
  });

  it('relays for the credentials handed in the connect response', async () => {
    const client = await parlor.connectClient(await parlor.createSession());
    const turn = turnServer(client.session?.iceServers ?? []);
    const outcome = await turnAllocate(coturn(), {
      username: turn.username ?? '',
      password: turn.credential ?? '',
    });
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.equal(outcome.relayed.address, '127.0.0.1');
    await client.close();
  });

  it('hands fresh credentials, which it accepts, when a connection resumes', async () => {
    const client = await parlor.connectClient(await parlor.createSession());
    const before = turnServer(client.session?.iceServers ?? []);
    await client.drop();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const resumed = await SignalingTestClient.open(parlor.url);
    const result = await resumed.request('resume', client.resumeParams);
    const after = turnServer(result.iceServers);
    assert.notEqual(after.username, before.username);
    assert.ok((after.username ?? '').endsWith(`:${client.connectionId}`));
    const outcome = await turnAllocate(coturn(), {
      username: after.username ?? '',
      password: after.credential ?? '',
    });
    assert.ok(outcome.ok, JSON.stringify(outcome));
    await resumed.close();
  });

  it('refuses expired credentials with 401', async () => {
    const expired = turnCredentials(secret(), 'someone', Date.now() / 1000 - 60);
    const outcome = await turnAllocate(coturn(), {
      username: expired.username,
      password: expired.credential,
    });
    assert.equal(outcome.ok, false);
    assert.equal(outcome.errorCode, 401);
  });

  it('refuses credentials signed with another secret with 401', async () => {
    const forged = turnCredentials('not-the-secret-at-all', 'someone', Date.now() / 1000 + 3600);
    const outcome = await turnAllocate(coturn(), { username: forged.username, password: forged.credential });
    assert.equal(outcome.ok, false);
    assert.equal(outcome.errorCode, 401);
  });

  it('refuses a valid username with a password that is not its signature with 401', async () => {
    const valid = turnCredentials(secret(), 'someone', Date.now() / 1000 + 3600);
    const outcome = await turnAllocate(coturn(), { username: valid.username, password: 'guessed' });
    assert.equal(outcome.ok, false);
    assert.equal(outcome.errorCode, 401);
  });

  it('relays to the allowed loopback address only: no other loopback, private or link-local peer (no open relay)', async () => {
    const valid = turnCredentials(secret(), 'someone', Date.now() / 1000 + 3600);
    const peers = ['127.0.0.1', '127.0.0.2', '10.0.0.1', '192.168.1.1', '172.16.0.1', '169.254.1.1'];
    const outcome = await turnAllocate(
      coturn(),
      { username: valid.username, password: valid.credential },
      { peers },
    );
    assert.ok(outcome.ok, JSON.stringify(outcome));
    assert.deepEqual(outcome.permissions, [200, 403, 403, 403, 403, 403]);
  });

  it('is restarted when it dies', async () => {
    const valid = turnCredentials(secret(), 'someone', Date.now() / 1000 + 3600);
    const pid = Number(readFileSync(join(parlor.dataDir, 'turnserver.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    for (;;) {
      const outcome = await turnAllocate(
        coturn(),
        { username: valid.username, password: valid.credential },
        { timeoutMs: 500 },
      ).catch(() => null);
      if (outcome?.ok) break;
      assert.ok(Date.now() < deadline, 'coturn did not come back');
    }
    assert.notEqual(Number(readFileSync(join(parlor.dataDir, 'turnserver.pid'), 'utf8')), pid);
  });

  it('keeps its generated secret across a restart, so credentials handed before still work', async () => {
    const kept = secret();
    parlor = await parlor.restart();
    assert.equal(secret(), kept);
    const valid = turnCredentials(kept, 'someone', Date.now() / 1000 + 3600);
    const outcome = await turnAllocate(coturn(), { username: valid.username, password: valid.credential });
    assert.ok(outcome.ok, JSON.stringify(outcome));
  });
});

describe('the embedded TURN server with a certificate', () => {
  it('also listens for TURN over TLS, and hands a turns: URL', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'parlor-tls-'));
    const [cert, pkey] = [join(folder, 'cert.pem'), join(folder, 'key.pem')];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-keyout',
        pkey,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const tlsPort = (await testTurnEnv()).PARLOR_TURN_PORT ?? '';
    const tlsParlor = await startTestServer({
      env: {
        ...(await testTurnEnv()),
        PARLOR_TURN_TLS_PORT: tlsPort,
        PARLOR_TURN_CERT: cert,
        PARLOR_TURN_PKEY: pkey,
      },
    });
    try {
      const client = await tlsParlor.connectClient(await tlsParlor.createSession());
      const urls = [turnServer(client.session?.iceServers ?? []).urls].flat();
      assert.ok(urls.includes(`turns:127.0.0.1:${tlsPort}?transport=tcp`), urls.join(' '));
      await client.close();
      const protocol = await new Promise<string | null>((resolve, reject) => {
        const socket = connect(
          { host: '127.0.0.1', port: Number(tlsPort), rejectUnauthorized: false },
          () => {
            resolve(socket.getProtocol());
            socket.end();
          },
        );
        socket.on('error', reject);
      });
      assert.match(protocol ?? '', /^TLSv1\.[23]$/);
    } finally {
      await tlsParlor.dispose();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
