import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import OpenTok from 'opentok';
import {
  SignalingTestClient,
  startPostgresServer,
  startTestServer,
  type PostgresServer,
  type TestServer,
} from '@parlor/server/testing';

// A Parlor whose durable records are in PostgreSQL, driven by the official `opentok` npm package.

let postgres: PostgresServer;
let parlor: TestServer;

before(async () => {
  postgres = await startPostgresServer();
  parlor = await startTestServer({ env: { PARLOR_DATABASE_URL: await postgres.createDatabase() } });
});
after(async () => {
  await parlor.dispose();
  await postgres.stop();
});

/** The SDK's callback methods, as promises. */
function sdk(client: OpenTok) {
  return {
    createSession: (options: OpenTok.SessionOptions) =>
      new Promise<string>((resolve, reject) => {
        client.createSession(options, (error, session) => {
          if (error || !session) reject(error ?? new Error('no session'));
          else resolve(session.sessionId);
        });
      }),
    startArchive: promisify(client.startArchive.bind(client)),
    stopArchive: promisify(client.stopArchive.bind(client)),
    listArchives: (options: { sessionId?: string }) =>
      new Promise<{ ids: string[]; count: number }>((resolve, reject) => {
        client.listArchives(options, (error, archives, count) => {
          if (error) reject(error);
          else resolve({ ids: (archives ?? []).map((archive) => archive.id), count: count ?? 0 });
        });
      }),
    registerCallback: promisify(client.registerCallback.bind(client)),
    listCallbacks: promisify(client.listCallbacks.bind(client)),
  };
}

describe('a Parlor on PostgreSQL', () => {
  it('creates sessions, connects their tokens, archives and registers callbacks for the opentok SDK, and keeps them all across a restart', async () => {
    let opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
    let api = sdk(opentok);
    const relayed = await api.createSession({});
    const routed = await api.createSession({ mediaMode: 'routed' });
    const token = opentok.generateToken(routed, { role: 'moderator', data: 'name=Ann' });
    const ann = await SignalingTestClient.connect(parlor.url, routed, token);
    assert.equal(ann.session?.connection.data, 'name=Ann');

    const started = (await api.startArchive(routed, { name: 'on postgres', outputMode: 'individual' })) as
      OpenTok.Archive | undefined;
    assert.ok(started);
    assert.equal(started.status, 'started');
    await api.stopArchive(started.id);
    const callback = await api.registerCallback({
      group: 'archive',
      event: 'status',
      url: 'https://callbacks.example/parlor',
    });
    assert.equal(callback?.url, 'https://callbacks.example/parlor');
    assert.deepEqual(await api.listArchives({ sessionId: routed }), { ids: [started.id], count: 1 });
    await ann.close();

    const { apiKey, apiSecret } = parlor;
    parlor = await parlor.restart();
    assert.deepEqual([parlor.apiKey, parlor.apiSecret], [apiKey, apiSecret], 'the default project is kept');
    opentok = new OpenTok(parlor.apiKey, parlor.apiSecret, { apiUrl: parlor.url });
    api = sdk(opentok);
    assert.deepEqual(await api.listArchives({}), { ids: [started.id], count: 1 });
    assert.deepEqual(
      (await api.listCallbacks())?.map((kept) => kept.url),
      ['https://callbacks.example/parlor'],
    );
    assert.equal((await parlor.server.sessions.get(parlor.apiKey, routed)).mediaMode, 'routed');
    // A token made before the restart still connects: the session and the secret were kept.
    const bob = await SignalingTestClient.connect(parlor.url, relayed, opentok.generateToken(relayed));
    await bob.close();
  });

  it('starts in a data directory that does not exist yet (no SQLite file makes it)', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'parlor-pg-data-')), 'node', 'data');
    const fresh = await startTestServer({
      dataDir,
      env: { PARLOR_DATABASE_URL: await postgres.createDatabase() },
    });
    try {
      assert.ok(existsSync(join(dataDir, 'archive-link-secret')));
      assert.equal((await fetch(`${fresh.url}/health`)).status, 200);
    } finally {
      await fresh.dispose();
      rmSync(dirname(dirname(dataDir)), { recursive: true, force: true });
    }
  });

  it('answers 500 while the database is unreachable, and keeps serving what needs no database', async () => {
    await postgres.stop();
    // Authenticating the request reads the project: the database's failure is the server's.
    assert.equal((await parlor.rest('GET', '/archive')).status, 500);
    assert.equal((await fetch(`${parlor.url}/health`)).status, 200);
  });
});
