import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { main, type CliIo } from '../src/cli.js';
import {
  SignalingRequestError,
  SignalingTestClient,
  spawnParlor,
  verifyCallback,
  type SpawnedParlor,
} from '../src/testing.js';

// The `parlor` command as users run it: the built bin in a child process.
const bin = fileURLToPath(new URL('../bin/parlor.js', import.meta.url));
const dataDirs: string[] = [];
after(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

function newDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'parlor-cli-'));
  dataDirs.push(dir);
  return dir;
}

function parlor(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
  });
}

function startParlor(dataDir: string, env: Record<string, string> = {}): Promise<SpawnedParlor> {
  // Each test runs its own coturn when it wants one (relay/), never on the default port.
  return spawnParlor({ dataDir, env });
}

describe('parlor start', () => {
  it('prints the credentials and URLs, serves /health and stops cleanly on SIGTERM', async () => {
    const dataDir = newDataDir();
    const apiKey = '2147483647';
    const apiSecret = 'ab'.repeat(20);
    const running = await startParlor(dataDir, { PARLOR_API_KEY: apiKey, PARLOR_API_SECRET: apiSecret });
    assert.match(running.banner, new RegExp(`API key\\s+${apiKey}`));
    assert.match(running.banner, new RegExp(`API secret\\s+${apiSecret}`));
    assert.match(running.banner, /REST API\s+http:\/\/127\.0\.0\.1:\d+/);
    assert.match(running.banner, /Demo\s+off\s+\(npm start -- --demo serves a video chat at \/\)/);
    assert.match(
      running.banner,
      /Console\s+http:\/\/127\.0\.0\.1:\d+\/console\s+Setup link\s+\S+\/console\/setup#[\w-]+/,
    );
    const health = await fetch(`${running.url}/health`);
    assert.deepEqual(await health.json(), { status: 'ok' });

    const { code, output } = await running.stop('SIGTERM');
    assert.equal(code, 0);
    assert.match(output, /Parlor stopped/);
    const file = join(dataDir, 'parlor.sqlite');
    assert.ok(!existsSync(`${file}-wal`) || statSync(`${file}-wal`).size === 0, 'the WAL was checkpointed');
    const db = new Database(file, { readonly: true });
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    assert.equal(
      (db.prepare('SELECT api_key FROM projects WHERE is_default = 1').get() as { api_key: string }).api_key,
      apiKey,
    );
    db.close();
  });

  it('generates credentials on first start and keeps them on the next, stopping on SIGINT', async () => {
    const dataDir = newDataDir();
    const first = await startParlor(dataDir);
    const credentials = /API key\s+(\d+)\s+API secret\s+([0-9a-f]{40})/.exec(first.banner)?.slice(1);
    assert.ok(credentials, first.banner);
    assert.equal((await first.stop('SIGINT')).code, 0);
    const second = await startParlor(dataDir);
    assert.deepEqual(
      /API key\s+(\d+)\s+API secret\s+([0-9a-f]{40})/.exec(second.banner)?.slice(1),
      credentials,
    );
    assert.equal((await second.stop('SIGTERM')).code, 0);
  });

  it('reports every invalid setting at once and exits with 2', () => {
    const result = parlor(['start', '--port', '70000', '--data-dir', newDataDir()], {
      PARLOR_API_KEY: '12ab',
      PARLOR_API_SECRET: 'ABCDEF',
      PARLOR_LOG_LEVEL: 'loud',
    });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--port="70000": must be 0 to 65535/);
    assert.match(result.stderr, /PARLOR_API_KEY="12ab": must be decimal digits no greater than 2147483647/);
    assert.match(result.stderr, /PARLOR_API_SECRET: must be 40 lowercase hexadecimal characters/);
    assert.match(result.stderr, /PARLOR_LOG_LEVEL="loud": must be one of/);
  });

  it('says in one line that an unreachable PostgreSQL cannot be used, and exits with 1', () => {
    const result = parlor(
      ['start', '--data-dir', newDataDir(), '--database-url', 'postgres://parlor@127.0.0.1:1/parlor'],
      {
        PARLOR_TURN: 'off',
        PARLOR_LOG_LEVEL: 'silent',
      },
    );
    assert.equal(result.status, 1);
    assert.equal(
      result.stderr,
      'Parlor could not start: PostgreSQL at 127.0.0.1:1/parlor cannot be used: connect ECONNREFUSED 127.0.0.1:1\n',
    );
  });

  it('refuses an API key without its secret, and a key above 2147483647', () => {
    const alone = parlor(['start', '--data-dir', newDataDir()], { PARLOR_API_KEY: '12345678' });
    assert.equal(alone.status, 2);
    assert.match(alone.stderr, /must be given together/);
    const big = parlor(['start', '--data-dir', newDataDir()], {
      PARLOR_API_KEY: '2147483648',
      PARLOR_API_SECRET: 'a'.repeat(40),
    });
    assert.equal(big.status, 2);
    assert.match(big.stderr, /no greater than 2147483647/);
  });

  it('rejects unknown commands and flags with usage', () => {
    const result = parlor(['launch']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /Unknown command: launch[\s\S]*Usage:/);
    assert.equal(parlor(['start', '--colour']).status, 2);
  });
});

describe('parlor project', () => {
  it('create prints new credentials and list shows every project', () => {
    const dataDir = newDataDir();
    const created = parlor(['project', 'create', '--name', 'My app', '--data-dir', dataDir]);
    assert.equal(created.status, 0, created.stderr);
    const [, apiKey, apiSecret] = /API key\s+(\d+)\s+API secret\s+([0-9a-f]{40})/.exec(created.stdout) ?? [];
    assert.ok(apiKey && apiSecret, created.stdout);

    const listed = parlor(['project', 'list', '--data-dir', dataDir]);
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${apiKey}\\s+${apiSecret}\\s+My app`));
  });

  it('create without a name fails with a clear message', () => {
    const result = parlor(['project', 'create', '--data-dir', newDataDir()]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /needs --name/);
  });
});

describe('parlor application', () => {
  const idPattern = /Application ID\s+([0-9a-f-]{36})/;

  it('create writes a new private key to a file only the owner reads, and list shows the application', () => {
    const dataDir = newDataDir();
    const keyFile = join(dataDir, 'app.key');
    const created = parlor([
      'application',
      'create',
      '--name',
      'Web app',
      '--private-key-out',
      keyFile,
      '--data-dir',
      dataDir,
    ]);
    assert.equal(created.status, 0, created.stderr);
    const applicationId = idPattern.exec(created.stdout)?.[1];
    assert.ok(applicationId, created.stdout);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const privateKey = readFileSync(keyFile, 'utf8');
    assert.match(privateKey, /^-----BEGIN PRIVATE KEY-----/);

    const db = new Database(join(dataDir, 'parlor.sqlite'), { readonly: true });
    const row = db.prepare('SELECT public_key FROM projects WHERE api_key = ?').get(applicationId) as {
      public_key: string;
    };
    db.close();
    assert.equal(createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }), row.public_key);

    const listed = parlor(['application', 'list', '--data-dir', dataDir]);
    assert.match(listed.stdout, new RegExp(`${applicationId}\\s+Web app`));
  });

  it('create prints the private key once when no file is named', () => {
    const created = parlor(['application', 'create', '--name', 'Printed', '--data-dir', newDataDir()]);
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout, /shown only this once:\s+-----BEGIN PRIVATE KEY-----/);
  });

  it('create registers an existing public key, and refuses one that is not RSA', () => {
    const dataDir = newDataDir();
    const rsaFile = join(dataDir, 'rsa.pub');
    writeFileSync(
      rsaFile,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }),
    );
    const registered = parlor([
      'application',
      'create',
      '--name',
      'Own key',
      '--public-key',
      rsaFile,
      '--data-dir',
      dataDir,
    ]);
    assert.equal(registered.status, 0, registered.stderr);
    assert.match(registered.stdout, /Public key\s+registered/);
    assert.doesNotMatch(registered.stdout, /PRIVATE KEY/);

    const ecFile = join(dataDir, 'ec.pub');
    writeFileSync(
      ecFile,
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }),
    );
    const refused = parlor([
      'application',
      'create',
      '--name',
      'EC',
      '--public-key',
      ecFile,
      '--data-dir',
      dataDir,
    ]);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /must be RSA/);
    const garbage = join(dataDir, 'garbage.pub');
    writeFileSync(garbage, 'not a key');
    assert.match(
      parlor(['application', 'create', '--name', 'G', '--public-key', garbage, '--data-dir', dataDir]).stderr,
      /not a PEM/,
    );
    assert.equal(
      (parlor(['application', 'list', '--data-dir', dataDir]).stdout.match(/[0-9a-f-]{36}/g) ?? []).length,
      1,
    );
  });

  it('create refuses to overwrite an existing key file and stores nothing', () => {
    const dataDir = newDataDir();
    const keyFile = join(dataDir, 'existing.key');
    writeFileSync(keyFile, 'precious');
    const result = parlor([
      'application',
      'create',
      '--name',
      'X',
      '--private-key-out',
      keyFile,
      '--data-dir',
      dataDir,
    ]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /already exists/);
    assert.equal(readFileSync(keyFile, 'utf8'), 'precious');
    assert.match(parlor(['application', 'list', '--data-dir', dataDir]).stdout, /No applications yet/);
  });
});

/** The `parlor` command run beside a server, without blocking this process (which answers its callbacks). */
function parlorBeside(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    child.once('close', (status) => {
      resolve({ status, stdout, stderr });
    });
  });
}

describe('parlor beside a running server', () => {
  it('sends test events of each kind, lists a session with its connected client, then suspends the project and the server disconnects that client', async () => {
    const dataDir = newDataDir();
    const received: { path: string; body: string; authorization: string }[] = [];
    const receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ path: request.url ?? '', body, authorization: request.headers.authorization ?? '' });
        response.statusCode = request.url === '/failing' ? 500 : 200;
        response.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const running = await startParlor(dataDir, { PARLOR_CALLBACK_ALLOWED_IPS: '127.0.0.1' });
    const apiKey = /API key\s+(\d+)/.exec(running.banner)?.[1] ?? '';
    // The commands under test run as users run them; the others in this process, which is quicker.
    const cli = (...args: string[]) => parlorBeside([...args, '--api-key', apiKey, '--data-dir', dataDir]);
    const quick = async (...args: string[]): Promise<string> => {
      let out = '';
      const io: CliIo = { out: (text) => (out += text), err: () => undefined };
      assert.equal(
        await main([...args, '--api-key', apiKey, '--data-dir', dataDir], {}, io),
        0,
        args.join(' '),
      );
      return out;
    };
    try {
      const kinds = [
        ['session', '/session'],
        ['archive', '/archive'],
        ['sip', '/failing'],
      ] as const;
      const tested = await Promise.all(
        kinds.map(([kind, path]) =>
          cli('project', 'callback', '--kind', kind, '--url', `${hook}${path}`, '--test'),
        ),
      );
      assert.deepEqual(
        tested.map(({ status }) => status),
        [0, 0, 1],
        tested.map(({ stderr }) => stderr).join(''),
      );
      assert.match(tested[0]?.stdout ?? '', /Test event delivered to http:\S+\/session \(HTTP 200\)/);
      assert.match(tested[2]?.stderr ?? '', /failed \(HTTP 500\): the server retries it/);
      const secret = /Signature secret\s+(\S+)/.exec(await quick('project', 'signature-secret'))?.[1] ?? '';
      for (const [kind, path] of kinds) {
        const event = received.find((each) => each.path === path);
        assert.ok(event, path);
        verifyCallback(event.authorization, event.body, secret);
        assert.deepEqual(
          { ...(JSON.parse(event.body) as object), timestamp: 0 },
          { projectId: apiKey, event: 'test', group: kind, timestamp: 0 },
        );
      }
      const deliveries = await cli('project', 'deliveries');
      assert.equal(deliveries.status, 0, deliveries.stderr);
      const rows = deliveries.stdout.trim().split('\n');
      assert.match(rows[0] ?? '', /^TIME\s+EVENT\s+STATE\s+RESULT\s+ATTEMPTS\s+URL$/);
      for (const [, path] of kinds)
        assert.ok(
          rows.some((row) =>
            new RegExp(
              `^\\d{4}-\\S+Z\\s+test\\s+${path === '/failing' ? 'retrying\\s+HTTP 500' : 'delivered\\s+HTTP 200'}\\s+\\d+\\s+${hook}${path}$`,
            ).test(row),
          ),
          deliveries.stdout,
        );

      const sessionId = /Session ID\s+(\S+)/.exec(await quick('session', 'create'))?.[1] ?? '';
      const token = (await quick('token', 'create', '--session-id', sessionId)).trim();
      const client = await SignalingTestClient.connect(running.url, sessionId, token);
      assert.match(
        await quick('session', 'list'),
        new RegExp(`\\n${sessionId}\\s+relayed\\s+manual\\s+1\\s+0\\s+\\d{4}-\\S+\\n$`),
      );
      const suspended = await cli('project', 'suspend');
      assert.equal(suspended.status, 0, suspended.stderr);
      assert.match(suspended.stdout, /suspended[\s\S]*\n1 connected client disconnected\n$/);
      await client.closed;
      await assert.rejects(SignalingTestClient.connect(running.url, sessionId, token), SignalingRequestError);
    } finally {
      await running.stop('SIGTERM');
      receiver.closeAllConnections();
      receiver.close();
    }
    // With no server running there is nobody to disconnect, and nobody to send a test event.
    assert.match(await quick('project', 'suspend'), /No Parlor server runs on \S+: no client to disconnect/);
    let refusal = '';
    const io: CliIo = { out: () => undefined, err: (text) => (refusal += text) };
    const untested = ['project', 'callback', '--kind', 'session', '--test', '--api-key', apiKey];
    assert.equal(await main([...untested, '--data-dir', dataDir], {}, io), 1);
    assert.match(refusal, /no Parlor server runs on \S+; the running server sends the test event/);
  });
});
