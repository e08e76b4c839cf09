import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ParlorError } from '@parlor/protocol';
import { createLogger } from '../logger.js';
import { askRunningServer } from './askRunningServer.js';
import { ControlServer, type ControlHandlers } from './ControlServer.js';
import { controlSocketPath, maxControlRequestBytes } from './controlProtocol.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function newDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'parlor-control-'));
  dirs.push(dir);
  return dir;
}

const logger = createLogger('silent');
const handlers: ControlHandlers = {
  disconnectProject: async ({ apiKey }) => ({ disconnected: apiKey.length }),
  recentSessions: async () => ({ sessions: [] }),
  deleteArchive: async () => ({}),
  testCallback: async ({ apiKey, kind }) => {
    if (kind === 'sip') throw new ParlorError('INVALID_REQUEST', 'no URL is set for these callbacks');
    return { url: `https://example.test/${apiKey}/${kind}` };
  },
};

/** Writes raw bytes to the socket and resolves to what came back before it closed. */
function exchange(path: string, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path, () => socket.write(bytes));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.once('close', () => {
      resolve(answer);
    });
    socket.once('error', reject);
  });
}

describe('the local control channel', () => {
  it('answers its operations, to the owner only: a 0600 socket in a 0700 directory', async () => {
    const dataDir = newDataDir();
    const path = controlSocketPath(dataDir);
    const control = await ControlServer.listen({ path, handlers, logger });
    assert.ok(control);
    try {
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(statSync(join(dataDir, 'control')).mode & 0o777, 0o700);
      assert.deepEqual(await askRunningServer(dataDir, { op: 'disconnectProject', apiKey: '1234' }), {
        ok: true,
        disconnected: 4,
      });
      assert.deepEqual(
        await askRunningServer(dataDir, { op: 'testCallback', apiKey: '77', kind: 'archive' }),
        { ok: true, url: 'https://example.test/77/archive' },
      );
      assert.deepEqual(await askRunningServer(dataDir, { op: 'testCallback', apiKey: '77', kind: 'sip' }), {
        ok: false,
        error: 'INVALID_REQUEST',
        message: 'Invalid request: no URL is set for these callbacks',
      });
    } finally {
      control.close();
      control.close();
    }
    assert.equal(statSync(path, { throwIfNoEntry: false }), undefined);
    assert.equal(await askRunningServer(dataDir, { op: 'disconnectProject', apiKey: '1' }), null);
  });

  it('refuses malformed, unknown and oversized requests, and serves the next one', async () => {
    const dataDir = newDataDir();
    const path = controlSocketPath(dataDir);
    const control = await ControlServer.listen({ path, handlers, logger });
    assert.ok(control);
    try {
      const refusal = async (bytes: string): Promise<string> =>
        (JSON.parse(await exchange(path, bytes)) as { ok: boolean; message: string }).message;
      assert.match(await refusal('not json\n'), /a JSON object on one line/);
      assert.match(await refusal('{"op":"shutdown","apiKey":"1"}\n'), /op must be/);
      assert.match(await refusal('{"op":"disconnectProject","apiKey":"../x"}\n'), /apiKey/);
      assert.match(await refusal('{"op":"testCallback","apiKey":"1","kind":"video"}\n'), /kind must be/);
      assert.match(await refusal('{"op":"deleteArchive","apiKey":"1","archiveId":"a/b"}\n'), /archiveId/);
      assert.match(await refusal(`{"op":"${'x'.repeat(maxControlRequestBytes * 4)}`), /at most 4096 bytes/);
      assert.deepEqual(await askRunningServer(dataDir, { op: 'disconnectProject', apiKey: '12' }), {
        ok: true,
        disconnected: 2,
      });
    } finally {
      control.close();
    }
  });

  it('replaces the socket of a server that died, and leaves one that answers to its server', async () => {
    const dataDir = newDataDir();
    const path = controlSocketPath(dataDir);
    // A server killed with -9 leaves its socket file behind, with no one listening.
    mkdirSync(dirname(path), { mode: 0o700 });
    const dead = spawn(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`,
    ]);
    await once(dead.stdout, 'data');
    dead.kill('SIGKILL');
    await once(dead, 'exit');
    assert.ok(statSync(path).isSocket());
    const control = await ControlServer.listen({ path, handlers, logger });
    assert.ok(control);
    try {
      assert.deepEqual(await askRunningServer(dataDir, { op: 'disconnectProject', apiKey: '1' }), {
        ok: true,
        disconnected: 1,
      });
      assert.equal(await ControlServer.listen({ path, handlers, logger }), null);
      assert.equal((await askRunningServer(dataDir, { op: 'disconnectProject', apiKey: '1' }))?.ok, true);
    } finally {
      control.close();
    }
  });
});
