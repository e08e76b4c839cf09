import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { spawnParlor, type SpawnedParlor } from '../src/testing.js';

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
