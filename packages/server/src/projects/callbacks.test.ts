import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { main, type CliIo } from '../cli.js';
import { Store } from '../store/Store.js';
import { archiveRecord } from '../store/testing/archiveRecord.js';

const dataDir = mkdtempSync(join(tmpdir(), 'parlor-callbacks-'));
after(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

async function parlor(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (text) => (out += text),
    err: (text) => (err += text),
  };
  const code = await main([...args, '--data-dir', dataDir], { PARLOR_TURN: 'off' }, io);
  return { code, out, err };
}

describe('parlor project callback', () => {
  it('sets, shows and clears a project’s archive callback URL, and refuses a bad one', async () => {
    const created = await parlor('project', 'create', '--name', 'Hooks');
    const apiKey = /API key\s+(\d+)/.exec(created.out)?.[1] ?? '';
    assert.match((await parlor('project', 'callback', '--api-key', apiKey)).out, /No archive callback URL/);
    const set = await parlor(
      'project',
      'callback',
      '--api-key',
      apiKey,
      '--url',
      'https://example.test/archive',
    );
    assert.equal(set.code, 0);
    assert.match(set.out, /Archive callback URL\s+https:\/\/example.test\/archive/);
    assert.match((await parlor('project', 'callback', '--api-key', apiKey)).out, /example.test/);
    const bad = await parlor('project', 'callback', '--api-key', apiKey, '--url', 'ftp://x');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /http or https/);
    assert.match((await parlor('project', 'callback', '--api-key', apiKey)).out, /example.test/);
    assert.match(
      (await parlor('project', 'callback', '--api-key', apiKey, '--clear')).out,
      /No archive callback URL/,
    );
    assert.equal((await parlor('project', 'callback', '--api-key', '999')).code, 2);
    assert.equal((await parlor('project', 'callback')).code, 2);
  });

  it('sets and clears the session monitoring URL beside the archive one, and refuses an unknown kind', async () => {
    const created = await parlor('project', 'create', '--name', 'Monitored');
    const apiKey = /API key\s+(\d+)/.exec(created.out)?.[1] ?? '';
    const session = ['project', 'callback', '--api-key', apiKey, '--kind', 'session'];
    assert.match((await parlor(...session)).out, /No session monitoring URL/);
    const set = await parlor(...session, '--url', 'https://example.test/events');
    assert.match(set.out, /Session monitoring URL\s+https:\/\/example.test\/events/);
    assert.match((await parlor('project', 'callback', '--api-key', apiKey)).out, /No archive callback URL/);
    assert.match((await parlor(...session, '--clear')).out, /No session monitoring URL/);
    assert.equal((await parlor(...session.slice(0, -1), 'video')).code, 2);
  });

  it('sets and clears the SIP callback URL beside the archive one', async () => {
    const created = await parlor('project', 'create', '--name', 'Calling');
    const apiKey = /API key\s+(\d+)/.exec(created.out)?.[1] ?? '';
    const sip = ['project', 'callback', '--api-key', apiKey, '--kind', 'sip'];
    assert.match((await parlor(...sip)).out, /No SIP callback URL/);
    const set = await parlor(...sip, '--url', 'https://example.test/calls');
    assert.match(set.out, /SIP callback URL\s+https:\/\/example.test\/calls/);
    assert.match((await parlor('project', 'callback', '--api-key', apiKey)).out, /No archive callback URL/);
    assert.match((await parlor(...sip, '--clear')).out, /No SIP callback URL/);
  });
});

describe('parlor project signature-secret', () => {
  it('shows the same secret until rotated, then the new one', async () => {
    const created = await parlor('project', 'create', '--name', 'Signed');
    const apiKey = /API key\s+(\d+)/.exec(created.out)?.[1] ?? '';
    const secretOf = (out: string): string => /Signature secret\s+(\S+)/.exec(out)?.[1] ?? '';
    const first = secretOf((await parlor('project', 'signature-secret', '--api-key', apiKey)).out);
    assert.match(first, /^[\w-]{43}$/);
    assert.equal(secretOf((await parlor('project', 'signature-secret', '--api-key', apiKey)).out), first);
    const rotated = secretOf(
      (await parlor('project', 'signature-secret', '--api-key', apiKey, '--rotate')).out,
    );
    assert.match(rotated, /^[\w-]{43}$/);
    assert.notEqual(rotated, first);
    assert.equal(secretOf((await parlor('project', 'signature-secret', '--api-key', apiKey)).out), rotated);
    assert.equal((await parlor('project', 'signature-secret', '--api-key', '999')).code, 2);
    assert.equal((await parlor('project', 'signature-secret')).code, 2);
  });
});

describe('parlor project rename, suspend, reactivate and rotate-secret', () => {
  it('changes the project as the console does, and says what it needs', async () => {
    const created = await parlor('project', 'create', '--name', 'Changing');
    const apiKey = /API key\s+(\d+)/.exec(created.out)?.[1] ?? '';
    const oldSecret = /API secret\s+(\S+)/.exec(created.out)?.[1] ?? '';
    const row = async (): Promise<string> =>
      (await parlor('project', 'list')).out.split('\n').find((line) => line.startsWith(apiKey)) ?? '';

    assert.equal((await parlor('project', 'rename', '--api-key', apiKey, '--name', 'Renamed')).code, 0);
    assert.match(await row(), /Renamed$/);
    assert.match((await parlor('project', 'suspend', '--api-key', apiKey)).out, /suspended/);
    assert.match(await row(), /\byes\s+Renamed$/);
    assert.match((await parlor('project', 'reactivate', '--api-key', apiKey)).out, /reactivated/);
    assert.doesNotMatch(await row(), /\byes\b/);
    const rotated = await parlor('project', 'rotate-secret', '--api-key', apiKey);
    const newSecret = /API secret\s+(\S+)/.exec(rotated.out)?.[1] ?? '';
    assert.ok(newSecret.length > 0 && newSecret !== oldSecret);
    assert.ok((await row()).includes(newSecret));

    const missingName = await parlor('project', 'rename', '--api-key', apiKey);
    assert.equal(missingName.code, 2);
    assert.match(missingName.err, /--name NAME/);
    assert.equal((await parlor('project', 'suspend')).code, 2);
    const unknown = await parlor('project', 'suspend', '--api-key', '999');
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /no project 999/);
  });
});

describe('parlor session create and token create', () => {
  it('makes a session and a client token for it, as the console and the SDKs do, and says what it needs', async () => {
    const created = await parlor('project', 'create', '--name', 'Tokens');
    const apiKey = /API key\s+(\d+)/.exec(created.out)?.[1] ?? '';
    const session = await parlor('session', 'create', '--api-key', apiKey, '--media-mode', 'routed');
    assert.equal(session.code, 0, session.err);
    const sessionId = /Session ID\s+(\S+)/.exec(session.out)?.[1] ?? '';
    assert.match(sessionId, /^[12]_/);

    const made = await parlor(
      'token',
      'create',
      '--api-key',
      apiKey,
      '--session-id',
      sessionId,
      '--role',
      'moderator',
      '--data',
      'name=Ann',
      '--expire-in',
      '60',
    );
    assert.equal(made.code, 0, made.err);
    const [, payload] = made.out.trim().split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<string, unknown>;
    assert.equal(claims.session_id, sessionId);
    assert.equal(claims.role, 'moderator');
    assert.equal(claims.connection_data, 'name=Ann');
    assert.ok(Math.abs((claims.exp as number) - (Date.now() / 1000 + 60)) < 5);

    const refused = [
      await parlor('session', 'create'),
      await parlor('session', 'create', '--api-key', apiKey, '--media-mode', 'peer'),
      await parlor('session', 'create', '--api-key', apiKey, '--archive-mode', 'always'),
      await parlor('session', 'create', '--api-key', '999'),
      await parlor('token', 'create', '--api-key', apiKey),
      await parlor('token', 'create', '--api-key', apiKey, '--session-id', 'nope'),
      await parlor('token', 'create', '--api-key', apiKey, '--session-id', sessionId, '--role', 'king'),
      await parlor('token', 'create', '--api-key', apiKey, '--session-id', sessionId, '--expire-in', '-1'),
    ];
    assert.deepEqual(
      refused.map(({ code }) => code),
      refused.map(() => 2),
      refused.map(({ err }) => err).join(''),
    );
    assert.match(refused[2]?.err ?? '', /archive/i);
    assert.match(refused[5]?.err ?? '', /no session nope/);
  });
});

describe('parlor session list, archive list and archive delete', () => {
  it("list the project's newest sessions and archives from the store when no server runs, where an archive is not deleted", async () => {
    const created = await parlor('project', 'create', '--name', 'Listed');
    const apiKey = /API key\s+(\d+)/.exec(created.out)?.[1] ?? '';
    assert.equal((await parlor('session', 'list', '--api-key', apiKey)).out, 'No sessions yet.\n');
    assert.equal((await parlor('archive', 'list', '--api-key', apiKey)).out, 'No archives yet.\n');
    const made = await parlor('session', 'create', '--api-key', apiKey, '--media-mode', 'routed');
    const sessionId = /Session ID\s+(\S+)/.exec(made.out)?.[1] ?? '';
    const store = await Store.open({ engine: 'sqlite', file: join(dataDir, 'parlor.sqlite') });
    try {
      await store.archives.insert(
        archiveRecord({
          archiveId: '6f1c8bd0-4a0e-4a55-9d1e-0d6b1c2f7a11',
          apiKey,
          sessionId,
          name: 'Weekly',
          createdAt: Date.UTC(2026, 11, 5, 9),
          durationMs: 61_400,
          size: 123_456,
        }),
      );
    } finally {
      await store.close();
    }
    const sessions = await parlor('session', 'list', '--api-key', apiKey);
    assert.equal(sessions.code, 0, sessions.err);
    assert.match(sessions.out, /^SESSION ID\s+MEDIA\s+ARCHIVE\s+CONNECTIONS\s+STREAMS\s+CREATED\n/);
    assert.match(sessions.out, new RegExp(`\\n${sessionId}\\s+routed\\s+manual\\s+0\\s+0\\s+\\d{4}-`));
    assert.match(sessions.out, /No Parlor server runs on \S+: nobody is in these sessions/);
    assert.match(
      (await parlor('archive', 'list', '--api-key', apiKey)).out,
      new RegExp(
        `\\n6f1c8bd0-4a0e-4a55-9d1e-0d6b1c2f7a11\\s+available\\s+61\\s+123456\\s+2026-12-05T09:00:00.000Z\\s+${sessionId}\\s+Weekly\\n`,
      ),
    );
    const notRunning = await parlor('archive', 'delete', '6f1c8bd0-4a0e-4a55-9d1e-0d6b1c2f7a11');
    assert.equal(notRunning.code, 1);
    assert.match(notRunning.err, /no Parlor server runs on \S+; the running server deletes archives/);
    assert.equal((await parlor('session', 'list')).code, 2);
    assert.equal((await parlor('archive', 'list', '--api-key', '999')).code, 2);
  });
});
