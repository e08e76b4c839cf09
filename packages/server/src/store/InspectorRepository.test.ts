import assert from 'node:assert/strict';
import { afterEach, beforeEach, it } from 'node:test';
import type { InspectorRecord } from './InspectorRepository.js';
import { Store } from './Store.js';
import { describeEachEngine } from './testing/storeEngines.js';

const record = (at: number, changes: Partial<InspectorRecord> = {}): InspectorRecord => ({
  at,
  source: 'client',
  kind: 'event',
  type: 'connect',
  connectionId: 'c1',
  streamId: null,
  data: { ok: true, code: null },
  ...changes,
});

const roomy = { maxRecords: 1000, maxBytes: 1_000_000 };

describeEachEngine('the inspector repository', (engine) => {
  let store: Store;
  beforeEach(async () => {
    store = await Store.open(await engine.freshLocation());
  });
  afterEach(async () => {
    await store.close();
  });

  it('keeps a session’s records in time order with its totals', async () => {
    const quality = record(3000, {
      kind: 'quality',
      type: 'subscriber',
      streamId: 'st1',
      data: { videoBitrate: 512_000, frameRate: 29.5, path: 'router' },
    });
    assert.equal(await store.inspector.add('s1', 'k1', [record(2000), quality], roomy), true);
    assert.equal(await store.inspector.add('s1', 'k1', [record(1000, { type: 'publish' })], roomy), true);
    const records = await store.inspector.records('s1');
    assert.deepEqual(
      records.map((r) => [r.at, r.type]),
      [
        [1000, 'publish'],
        [2000, 'connect'],
        [3000, 'subscriber'],
      ],
    );
    assert.deepEqual(records[2], quality);
    const summary = await store.inspector.summary('s1');
    assert.deepEqual(
      summary && [summary.records, summary.firstAt, summary.lastAt, summary.dropped],
      [3, 1000, 3000, 0],
    );
    assert.deepEqual(await store.inspector.records('other'), []);
  });

  it('drops a batch that would take the session past its record or byte bound, and counts it', async () => {
    const bounds = { maxRecords: 3, maxBytes: 400 };
    assert.equal(await store.inspector.add('s1', 'k1', [record(1), record(2)], bounds), true);
    assert.equal(await store.inspector.add('s1', 'k1', [record(3), record(4)], bounds), false);
    assert.equal(await store.inspector.add('s1', 'k1', [record(5)], bounds), true);
    const big = record(6, { data: { text: 'x'.repeat(500) } });
    assert.equal(await store.inspector.add('s2', 'k1', [big], bounds), false);
    await store.inspector.countDropped('s1', 7);
    assert.equal((await store.inspector.records('s1')).length, 3);
    assert.equal((await store.inspector.summary('s1'))?.dropped, 9);
    assert.equal((await store.inspector.summary('s2'))?.dropped, 1);
    assert.deepEqual(await store.inspector.records('s2'), []);
  });

  it('at its bound, thins the older half of each series of samples to every second one, keeping events and scores', async () => {
    const bounds = { maxRecords: 30, maxBytes: 1_000_000 };
    const sample = (at: number, type: string, connectionId: string): InspectorRecord =>
      record(at, { kind: 'quality', type, connectionId, data: { videoBitrate: at } });
    const minute = (at: number): InspectorRecord[] => [
      sample(at, 'subscriber', 'c1'),
      sample(at, 'subscriber', 'c2'),
      { ...sample(at, 'subscription', 'c1'), source: 'router' },
    ];
    await store.inspector.add(
      's1',
      'k1',
      [record(0), record(1, { kind: 'score', type: 'subscriber' })],
      bounds,
    );
    for (let at = 1000; at <= 9000; at += 1000)
      assert.ok(await store.inspector.add('s1', 'k1', minute(at), bounds));
    // 29 records: the next batch fits once the samples before 5 s (half of 0–9 s) are thinned.
    assert.ok(await store.inspector.add('s1', 'k1', minute(10_000), bounds));
    const records = await store.inspector.records('s1');
    const times = (type: string, connectionId: string, source = 'client'): number[] =>
      records
        .filter(
          (r) =>
            r.kind === 'quality' && r.type === type && r.connectionId === connectionId && r.source === source,
        )
        .map((r) => r.at);
    const thinned = [1000, 3000, 5000, 6000, 7000, 8000, 9000, 10_000];
    assert.deepEqual(times('subscriber', 'c1'), thinned);
    assert.deepEqual(times('subscriber', 'c2'), thinned);
    assert.deepEqual(times('subscription', 'c1', 'router'), thinned);
    assert.deepEqual(
      records.filter((r) => r.kind !== 'quality').map((r) => r.at),
      [0, 1],
    );
    const summary = await store.inspector.summary('s1');
    assert.deepEqual([summary?.records, summary?.dropped], [records.length, 0]);
  });

  it('lists a project’s sessions most recent first and purges those idle past the retention', async () => {
    await store.inspector.add('old', 'k1', [record(1000)], roomy);
    await store.inspector.add('new', 'k1', [record(5000)], roomy);
    await store.inspector.add('theirs', 'k2', [record(6000)], roomy);
    assert.deepEqual(
      (await store.inspector.recentSessions('k1', 10)).map((s) => s.sessionId),
      ['new', 'old'],
    );
    assert.equal(await store.inspector.purge(2000), 1);
    assert.equal(await store.inspector.summary('old'), undefined);
    assert.deepEqual(await store.inspector.records('old'), []);
    assert.equal((await store.inspector.records('new')).length, 1);
  });
});
