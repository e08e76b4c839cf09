import assert from 'node:assert/strict';
import { afterEach, beforeEach, it } from 'node:test';
import type { ArchiveRecord, RecordingRecord } from './ArchiveRepository.js';
import { deliveryHistoryLength, type DeliveryOutcome } from './DeliveryHistoryRepository.js';
import type { SessionRecord } from './SessionRepository.js';
import { Store } from './Store.js';
import { archiveRecord } from './testing/archiveRecord.js';
import { projectRecord, sessionRecord } from './testing/records.js';
import { describeEachEngine } from './testing/storeEngines.js';

const apiKey = '10000001';

const session = (sessionId: string, changes: Partial<SessionRecord> = {}): SessionRecord =>
  sessionRecord({ sessionId, apiKey, createdAt: 1000, ...changes });

const archive = (archiveId: string, changes: Partial<ArchiveRecord> = {}): ArchiveRecord =>
  archiveRecord({
    archiveId,
    apiKey,
    sessionId: 's1',
    name: 'Meeting',
    status: 'started',
    reason: '',
    hasVideo: false,
    resolution: '1280x720',
    streamMode: 'manual',
    maxBitrate: 2_000_000,
    createdAt: 5000,
    updatedAt: 5000,
    durationMs: 0,
    ...changes,
  });

const recording = (seq: number): RecordingRecord => ({
  archiveId: 'a1',
  seq,
  streamId: `stream-${seq}`,
  connectionId: 'c1',
  connectionData: 'name=Ann',
  videoType: 'camera',
  hasAudio: true,
  hasVideo: false,
  basePath: `/tmp/a1/${seq}`,
  requestedAt: 6000,
  file: null,
  startedAt: null,
  durationMs: null,
  ended: false,
  failure: null,
});

describeEachEngine('the repositories', (engine) => {
  let store: Store;
  beforeEach(async () => {
    store = await Store.open(await engine.freshLocation());
    await store.projects.insert(projectRecord({ apiKey }));
    await store.sessions.insert(session('s1'));
  });
  afterEach(async () => {
    await store.close();
  });

  it('projects: one default at a time, secrets replaced, applications apart', async () => {
    await store.projects.insert({
      apiKey: '2',
      name: 'Q',
      apiSecret: 't'.repeat(40),
      isDefault: false,
      createdAt: 2,
    });
    await store.applications.insert({ applicationId: 'app-1', name: 'App', publicKey: 'PEM', createdAt: 3 });
    await store.transaction((tx) => tx.projects.makeDefault('2'));
    await store.projects.setSecret('2', 'u'.repeat(40));
    assert.deepEqual(await store.projects.findDefault(), {
      apiKey: '2',
      name: 'Q',
      apiSecret: 'u'.repeat(40),
      isDefault: true,
      suspended: false,
      createdAt: 2,
    });
    assert.deepEqual(
      (await store.projects.list()).map((p) => [p.apiKey, p.isDefault]),
      [
        [apiKey, false],
        ['2', true],
      ],
    );
    assert.equal(await store.projects.find('app-1'), undefined);
    assert.deepEqual(await store.applications.find('app-1'), {
      applicationId: 'app-1',
      name: 'App',
      publicKey: 'PEM',
      createdAt: 3,
    });
    assert.deepEqual(
      (await store.applications.list()).map((a) => a.applicationId),
      ['app-1'],
    );
  });

  it('sessions: read back whole, counted by origin, old demo ones purged but the kept and archived', async () => {
    const routed = session('s2', {
      location: '192.0.2.1',
      e2ee: true,
      archiveName: 'n',
      archiveResolution: '640x480',
    });
    await store.sessions.insert(routed);
    assert.deepEqual(await store.sessions.find('s2'), routed);
    assert.equal(await store.sessions.projectOf('s2'), apiKey);
    assert.equal(await store.sessions.projectOf('nope'), undefined);
    for (const id of ['d1', 'd2', 'd3', 'd4'])
      await store.sessions.insert(session(id, { origin: 'demo', createdAt: 10 }));
    await store.sessions.insert(session('d5', { origin: 'demo', createdAt: 99_999 }));
    await store.archives.insert(archive('a-demo', { sessionId: 'd3' }));
    assert.deepEqual(
      [await store.sessions.count(apiKey, 'api'), await store.sessions.count(apiKey, 'demo')],
      [2, 5],
    );
    assert.equal(await store.sessions.deleteOldDemoSessions(50_000, ['d2']), 2);
    assert.deepEqual(
      await Promise.all(
        ['d1', 'd2', 'd3', 'd4', 'd5'].map(async (id) => (await store.sessions.find(id)) !== undefined),
      ),
      [false, true, true, false, true],
    );
  });

  it('archives: read back whole, updated, listed newest first by page, and found unfinished or failed', async () => {
    const first = archive('a1', { size: 6_000_000_000 });
    await store.archives.insert(first);
    assert.deepEqual(await store.archives.find('a1'), first);
    await store.sessions.insert(session('s2'));
    // Created in the same millisecond: listed by insertion, newest first.
    await store.archives.insert(archive('a2', { sessionId: 's2', createdAt: 7000 }));
    await store.archives.insert(
      archive('a3', { createdAt: 7000, outputMode: 'individual', resolution: null }),
    );
    await store.archives.insert(archive('a4', { createdAt: 8000, status: 'deleted' }));
    const stopped: ArchiveRecord = {
      ...first,
      status: 'failed',
      reason: 'system failure',
      layouts: [...first.layouts, { atMs: 500, layout: { type: 'pip' } }],
      updatedAt: 9000,
      durationMs: 4000,
      outputKey: 'a1/archive.mp4',
    };
    await store.archives.update(stopped);
    assert.deepEqual(await store.archives.find('a1'), stopped);

    const page = await store.archives.list(apiKey, { offset: 0, count: 2 });
    assert.equal(page.count, 3);
    assert.deepEqual(
      page.items.map((a) => a.archiveId),
      ['a3', 'a2'],
    );
    const rest = await store.archives.list(apiKey, { offset: 2, count: 2 });
    assert.deepEqual(
      rest.items.map((a) => a.archiveId),
      ['a1'],
    );
    const ofSession = await store.archives.list(apiKey, { offset: 0, count: 10, sessionId: 's2' });
    assert.deepEqual([ofSession.count, ofSession.items[0]?.archiveId], [1, 'a2']);

    assert.deepEqual(
      (await store.archives.unfinished()).map((a) => a.archiveId),
      ['a2', 'a3'],
    );
    assert.deepEqual(
      (await store.archives.failed()).map((a) => a.archiveId),
      ['a1'],
    );
    // A cluster node finishes only the archives it records.
    await store.archives.insert(archive('a5', { createdAt: 9000, nodeId: 'eu-2' }));
    assert.deepEqual(
      (await store.archives.unfinished('eu-2')).map((a) => [a.archiveId, a.nodeId]),
      [['a5', 'eu-2']],
    );
    assert.deepEqual(await store.archives.failed('eu-2'), []);
    assert.equal(await store.archives.retry('a1', 9500), true);
    assert.equal(await store.archives.retry('a1', 9600), false);
    assert.equal((await store.archives.find('a1'))?.status, 'stopped');
  });

  it('archives: recordings are kept in order and their end is written', async () => {
    await store.archives.insert(archive('a1'));
    await store.archives.insertRecording(recording(2));
    await store.archives.insertRecording(recording(1));
    const end = { file: '/tmp/a1/1.webm', startedAt: 6100, durationMs: 2_500_000_000, failure: null };
    await store.archives.endRecording('a1', 1, end);
    await store.archives.endRecording('a1', 2, {
      file: null,
      startedAt: null,
      durationMs: null,
      failure: 'refused',
    });
    assert.deepEqual(await store.archives.recordingsOf('a1'), [
      { ...recording(1), ...end, ended: true },
      { ...recording(2), failure: 'refused', ended: true },
    ]);
  });

  it('callbacks: one per project, group and event, replaced when registered again', async () => {
    const callback = { apiKey, group: 'archive', event: 'status', createdAt: 1 };
    await store.callbacks.put({ ...callback, callbackId: 'cb1', url: 'https://a.example/1' });
    await store.callbacks.put({ ...callback, callbackId: 'cb2', url: 'https://a.example/2', createdAt: 2 });
    assert.deepEqual(await store.callbacks.list(apiKey), [
      { ...callback, callbackId: 'cb2', url: 'https://a.example/2', createdAt: 2 },
    ]);
    assert.equal((await store.callbacks.find(apiKey, 'archive', 'status'))?.url, 'https://a.example/2');
    assert.equal(await store.callbacks.delete(apiKey, 'cb1'), false);
    assert.equal(await store.callbacks.delete(apiKey, 'cb2'), true);
    await store.callbacks.put({ ...callback, callbackId: 'cb3', url: 'https://a.example/3' });
    assert.equal(await store.callbacks.deleteFor(apiKey, 'archive', 'status'), true);
    assert.equal(await store.callbacks.deleteFor(apiKey, 'archive', 'status'), false);
    assert.deepEqual(await store.callbacks.list(apiKey), []);
  });

  it('webhooks: deliveries wait oldest first per URL and queue, count their failures and leave once sent', async () => {
    const delivery = (url: string, n: number, queue: string) => ({
      url,
      body: `{"n":${n}}`,
      apiKey: n === 4 ? null : apiKey,
      queue,
      createdAt: 10 + n,
      nodeId: null,
    });
    await store.webhooks.add(delivery('https://a.example/', 1, 's1'));
    await store.webhooks.add(delivery('https://b.example/', 2, 's1'));
    await store.webhooks.add(delivery('https://a.example/', 3, 's1'));
    await store.webhooks.add(delivery('https://a.example/', 4, 's2'));
    assert.equal(await store.webhooks.count(), 4);
    const queues = await store.webhooks.pendingQueues();
    assert.deepEqual(queues.map(({ url, queue }) => `${url} ${queue}`).sort(), [
      'https://a.example/ s1',
      'https://a.example/ s2',
      'https://b.example/ s1',
    ]);
    const next = await store.webhooks.next('https://a.example/', 's1');
    assert.ok(next);
    assert.equal(typeof next.deliveryId, 'number');
    assert.deepEqual(
      { ...next, deliveryId: 0 },
      { deliveryId: 0, attempts: 0, ...delivery('https://a.example/', 1, 's1') },
    );
    assert.equal((await store.webhooks.next('https://a.example/', 's2'))?.apiKey, null);
    await store.webhooks.failed(next.deliveryId);
    assert.equal((await store.webhooks.next('https://a.example/', 's1'))?.attempts, 1);
    await store.webhooks.delete(next.deliveryId);
    assert.equal((await store.webhooks.next('https://a.example/', 's1'))?.body, '{"n":3}');
    assert.equal(await store.webhooks.count(), 3);
  });

  it('webhooks: a node sees only its own queues, and another node takes them over once', async () => {
    const delivery = (n: number, queue: string, nodeId: string) => ({
      url: 'https://a.example/',
      body: `{"n":${n}}`,
      apiKey,
      queue,
      createdAt: n,
      nodeId,
    });
    await store.webhooks.add(delivery(1, 's1', 'node-a'));
    await store.webhooks.add(delivery(2, 's1', 'node-b'));
    await store.webhooks.add(delivery(3, 's1', 'node-a'));
    await store.webhooks.add(delivery(4, 's2', 'node-a'));
    assert.equal(await store.webhooks.count('node-a'), 3);
    assert.equal(await store.webhooks.count(), 4);
    assert.deepEqual(await store.webhooks.pendingQueues('node-b'), [
      { url: 'https://a.example/', queue: 's1' },
    ]);
    assert.equal((await store.webhooks.next('https://a.example/', 's1', 'node-b'))?.body, '{"n":2}');
    const [first, second] = await Promise.all([
      store.webhooks.adopt('node-a', 'node-b'),
      store.webhooks.adopt('node-a', 'node-c'),
    ]);
    assert.deepEqual([first, second].map(({ count }) => count).sort(), [0, 3]);
    assert.equal(await store.webhooks.count('node-a'), 0);
    const adopter = first.count === 3 ? 'node-b' : 'node-c';
    const taken = first.count === 3 ? first : second;
    assert.deepEqual(taken.queues.map(({ queue }) => queue).sort(), ['s1', 's2']);
    // Taken over in their order: the adopter's queue s1 goes on oldest first.
    assert.equal((await store.webhooks.next('https://a.example/', 's1', adopter))?.createdAt, 1);
  });

  it('projects: renamed and suspended; recent sessions are the API ones, newest first', async () => {
    assert.equal(await store.projects.rename(apiKey, 'Renamed'), true);
    assert.equal(await store.projects.setSuspended(apiKey, true), true);
    assert.equal(await store.projects.setSuspended('nope', true), false);
    const project = await store.projects.find(apiKey);
    assert.deepEqual([project?.name, project?.suspended], ['Renamed', true]);
    await store.sessions.insert(session('s2', { createdAt: 3000 }));
    await store.sessions.insert(session('s3', { createdAt: 2000, origin: 'demo' }));
    assert.deepEqual(
      (await store.sessions.recent(apiKey, 10)).map((s) => s.sessionId),
      ['s2', 's1'],
    );
    assert.deepEqual(
      (await store.sessions.recent(apiKey, 1)).map((s) => s.sessionId),
      ['s2'],
    );
  });

  it('operators: a password replaced, sessions found until they expire or end, and ended with their operator', async () => {
    await store.operators.put({ name: 'ann', passwordHash: 'h1', createdAt: 1 });
    await store.operators.put({ name: 'ann', passwordHash: 'h2', createdAt: 2 });
    assert.deepEqual(await store.operators.find('ann'), { name: 'ann', passwordHash: 'h2', createdAt: 1 });
    assert.equal(await store.operators.count(), 1);
    const login = { tokenHash: 't1', name: 'ann', csrfToken: 'c1', createdAt: 10, expiresAt: 100 };
    await store.operators.addSession(login);
    await store.operators.addSession({ ...login, tokenHash: 't2', expiresAt: 50 });
    assert.deepEqual(await store.operators.findSession('t1', 60), login);
    assert.equal(await store.operators.findSession('t2', 60), undefined);
    await store.operators.deleteExpiredSessions(60);
    await store.operators.deleteSession('t1');
    assert.equal(await store.operators.findSession('t1', 60), undefined);
    await store.operators.addSession({ ...login, tokenHash: 't3' });
    await store.operators.deleteSessionsOf('ann');
    assert.equal(await store.operators.findSession('t3', 60), undefined);
  });

  it('operator API tokens: found by hash, last use written at most once a window, only of an operator, gone when revoked', async () => {
    await store.operators.put({ name: 'bea', passwordHash: 'h', createdAt: 1 });
    const token = {
      tokenId: 'id1',
      tokenHash: 'th1',
      name: 'bea',
      label: 'ci',
      createdAt: 5,
      lastUsedAt: null,
    };
    await store.operators.addToken(token);
    await store.operators.addToken({ ...token, tokenId: 'id2', tokenHash: 'th2', createdAt: 6 });
    assert.deepEqual(await store.operators.findToken('th1'), token);
    await store.operators.touchToken('id1', 100, 50);
    await store.operators.touchToken('id1', 120, 90);
    assert.equal((await store.operators.findToken('th1'))?.lastUsedAt, 100);
    assert.deepEqual(
      (await store.operators.listTokens()).map((each) => each.tokenId),
      ['id1', 'id2'],
    );
    assert.equal(await store.operators.deleteToken('id1'), true);
    assert.equal(await store.operators.deleteToken('id1'), false);
    assert.equal(await store.operators.findToken('th1'), undefined);
    assert.equal(await store.operators.countTokens(), 1);
    await assert.rejects(
      store.operators.addToken({ ...token, tokenId: 'id3', tokenHash: 'th3', name: 'nobody' }),
    );
  });

  it('setup tokens: each taken once, not when too old, all forgotten at once', async () => {
    await store.operators.addSetupToken('s1', 10);
    await store.operators.addSetupToken('s2', 20);
    await store.operators.addSetupToken('s3', 30);
    assert.equal(await store.operators.takeSetupToken('s1', 15), false);
    assert.equal(await store.operators.takeSetupToken('s2', 15), true);
    assert.equal(await store.operators.takeSetupToken('s2', 15), false);
    await store.operators.deleteSetupTokens();
    assert.equal(await store.operators.takeSetupToken('s3', 0), false);
  });

  it('delivery history: updated in place, newest first, at most its bound per project', async () => {
    const outcome = (deliveryId: number): DeliveryOutcome => ({
      deliveryId,
      apiKey,
      url: 'http://127.0.0.1:9/hook',
      event: 'connectionCreated',
      state: 'retrying',
      result: 'HTTP 500',
      attempts: 1,
      updatedAt: deliveryId,
    });
    for (let id = 1; id <= deliveryHistoryLength + 5; id++) await store.deliveryHistory.record(outcome(id));
    await store.deliveryHistory.record({
      ...outcome(deliveryHistoryLength + 5),
      state: 'delivered',
      attempts: 2,
    });
    const history = await store.deliveryHistory.list(apiKey);
    assert.equal(history.length, deliveryHistoryLength);
    assert.deepEqual(
      [history[0]?.deliveryId, history[0]?.state, history[0]?.attempts, history.at(-1)?.deliveryId],
      [deliveryHistoryLength + 5, 'delivered', 2, 6],
    );
    assert.deepEqual(await store.deliveryHistory.list('other'), []);
  });

  it("renewal keys: the first stored for a period is every asker's, older periods deleted", async () => {
    const asked = await Promise.all(
      ['a', 'b', 'c'].map((candidate) => store.renewalKeys.obtain(7, candidate)),
    );
    assert.equal(new Set(asked).size, 1);
    assert.equal(await store.renewalKeys.obtain(7, 'd'), asked[0]);
    assert.equal(await store.renewalKeys.obtain(8, 'e'), 'e');
    assert.equal(await store.renewalKeys.deleteBefore(8), 1);
    assert.equal(await store.renewalKeys.obtain(7, 'f'), 'f');
  });
});
