import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { publicationFields, subscriptionFields } from '../media/router/routerReadings.js';
import type { VideoFallbackState } from '../media/router/VideoFallback.js';
import type { RoutedReadings } from '../signaling/RoutedMedia.js';
import type { InspectorRecord } from '../store/InspectorRepository.js';
import { routerSamples, type RouterSampling } from './routerSamples.js';
import { timelineOf } from './timeline.js';

type PublicationField = (typeof publicationFields)[number];
type SubscriptionField = (typeof subscriptionFields)[number];

const summary = {
  sessionId: 's1',
  apiKey: 'k1',
  records: 0,
  bytes: 0,
  dropped: 0,
  firstAt: 0,
  lastAt: 120_000,
};

const client = (
  at: number,
  kind: InspectorRecord['kind'],
  type: string,
  data: InspectorRecord['data'],
): InspectorRecord => ({
  at,
  source: 'client',
  kind,
  type,
  connectionId: 'c2',
  streamId: 'st1',
  data,
});

describe('the timeline', () => {
  it('calls out audio fallback episodes (a subscriber’s with its length, a publisher’s) and a score below Fair for 10 s or more', () => {
    const timeline = timelineOf(summary, [
      client(10_000, 'score', 'subscriber', { audio: 4, video: 2 }),
      client(15_000, 'event', 'videoDisabled', { reason: 'quality' }),
      client(19_000, 'score', 'subscriber', { audio: 4, video: 4 }),
      client(57_000, 'event', 'videoEnabled', { reason: 'quality' }),
      client(60_000, 'score', 'subscriber', { audio: 2, video: 4 }),
      client(62_000, 'score', 'subscriber', { audio: 4, video: 4 }),
      client(100_000, 'score', 'subscriber', { audio: 1, video: 4 }),
      {
        ...client(110_000, 'event', 'videoDisabled', { reason: 'quality', publisher: true }),
        connectionId: 'c1',
      },
    ]);
    assert.deepEqual(
      timeline.issues.map((issue) => [issue.at, issue.kind, issue.message]),
      [
        [
          15_000,
          'audioFallback',
          'connection c2 had audio only for 42 s: its link could not carry the video',
        ],
        [100_000, 'lowQuality', 'connection c2: subscriber audio quality below Fair for 20 s'],
        [
          110_000,
          'audioFallback',
          'connection c1 sent audio only from then on: its uplink could not carry the video',
        ],
      ],
    );
    assert.equal(timeline.scores.length, 5);
    assert.equal(timeline.events.length, 3);
  });

  it('calls out a subscriber whose reports to the router tell of 2 % of its audio lost or more for 10 s or more, with the loss', () => {
    const router = (at: number, connectionId: string, audioLoss: number): InspectorRecord => ({
      at,
      source: 'router',
      kind: 'quality',
      type: 'subscription',
      connectionId,
      streamId: 'st1',
      data: { audioLoss, videoLoss: 0.3 },
    });
    const timeline = timelineOf(summary, [
      router(5000, 'c1', 0.01),
      router(5000, 'c2', 0.04),
      router(10_000, 'c1', 0.06),
      router(10_000, 'c2', 0.01),
      router(15_000, 'c1', 0.05),
      router(20_000, 'c1', 0.019),
      router(25_000, 'c1', 0.03),
      router(30_000, 'c1', 0.01),
      router(35_000, 'c1', 0),
      router(40_000, 'c1', 0.05),
      router(45_000, 'c1', 0.07),
      router(50_000, 'c1', 0.01),
    ]);
    // One sample under 2 % does not end a run, two in a row do (at the first).
    assert.deepEqual(
      timeline.issues.map((issue) => [issue.at, issue.connectionId, issue.kind, issue.message]),
      [
        [
          10_000,
          'c1',
          'lossyLink',
          'connection c1: its link lost 4.0 % of the audio (at most 6.0 % in a 5 s sample) for 20 s',
        ],
        [
          40_000,
          'c1',
          'lossyLink',
          'connection c1: its link lost 6.0 % of the audio (at most 7.0 % in a 5 s sample) for 10 s',
        ],
      ],
    );
  });

  it('calls out, under adaptive routing, a client that could not reach the router and one that got nothing peer to peer', () => {
    const server = (at: number, type: string, connectionId: string | null): InspectorRecord => ({
      at,
      source: 'server',
      kind: 'event',
      type,
      connectionId,
      streamId: null,
      data: {},
    });
    const timeline = timelineOf(summary, [
      server(1000, 'routerUnreachable', 'c1'),
      server(2000, 'directPathFailed', 'c2'),
      { ...server(2000, 'mediaRoutingChanged', null), data: { mode: 'routed', reason: 'directFailed' } },
    ]);
    assert.deepEqual(
      timeline.issues.map((issue) => [issue.at, issue.kind, issue.message]),
      [
        [
          1000,
          'mediaPath',
          'connection c1 could not reach the Media Router: its media went peer to peer only',
        ],
        [2000, 'mediaPath', 'connection c2 got no media peer to peer: the session moved to the Media Router'],
      ],
    );
  });
});

describe('a long session', () => {
  it('shows about so many samples and score changes at most, each series thinned alike and evenly, the last kept, its issues from all', () => {
    const records: InspectorRecord[] = [];
    for (let i = 1; i <= 100; i++) {
      records.push(client(i * 1000, 'quality', 'subscriber', { videoBitrate: i }));
      if (i % 2 === 0)
        records.push({
          ...client(i * 1000, 'quality', 'subscriber', { videoBitrate: i }),
          connectionId: 'c3',
        });
      if (i <= 10) records.push(client(i * 1000, 'quality', 'publisher', { videoBitrate: i }));
      records.push(client(i * 1000, 'score', 'subscriber', { audio: i <= 20 ? 1 : 5 }));
    }
    const timeline = timelineOf(summary, records, { samples: 16 });
    const bitrates = (type: string, connectionId: string): unknown[] =>
      timeline.quality
        .filter((q) => q.type === type && q.connectionId === connectionId)
        .map((q) => q.data.videoBitrate);
    // 160 samples to 16: a tenth of each series.
    assert.deepEqual(bitrates('subscriber', 'c2'), [11, 21, 31, 41, 51, 60, 70, 80, 90, 100]);
    assert.deepEqual(bitrates('subscriber', 'c3'), [22, 42, 60, 80, 100]);
    assert.deepEqual(bitrates('publisher', 'c2'), [10]);
    assert.equal(timeline.scores.length, 16);
    assert.deepEqual(
      timeline.issues.map((issue) => issue.message),
      ['connection c2: subscriber audio quality below Fair for 20 s'],
    );
    assert.equal(timelineOf(summary, records, { samples: 1000 }).quality.length, 160);
  });
});

describe('swim lanes', () => {
  it('give each connection its spans: connected, publishing, subscribing, reconnecting, audio fallback and errors, with their events', () => {
    const record = (
      at: number,
      source: InspectorRecord['source'],
      type: string,
      connectionId: string,
      streamId: string | null,
      data: InspectorRecord['data'] = {},
    ): InspectorRecord => ({ at, source, kind: 'event', type, connectionId, streamId, data });
    const timeline = timelineOf(summary, [
      record(1000, 'server', 'connectionCreated', 'a', null, { data: 'ann' }),
      record(1200, 'client', 'connect', 'a', null, { ok: true, browser: 'Chrome 140', sdkVersion: '0.1.0' }),
      record(2000, 'server', 'connectionCreated', 'b', null),
      record(3000, 'server', 'streamCreated', 'a', 'st1', { hasAudio: true, hasVideo: true }),
      record(3100, 'client', 'publish', 'a', 'st1', { ok: true }),
      record(4000, 'client', 'subscribe', 'b', 'st1', { ok: true }),
      record(4500, 'client', 'subscribe', 'b', 'st9', { ok: false, code: 1600, message: 'no such stream' }),
      record(5000, 'client', 'iceState', 'b', 'st1', { role: 'subscriber', state: 'connected' }),
      record(10_000, 'client', 'videoDisabled', 'b', 'st1', { reason: 'quality' }),
      record(20_000, 'client', 'videoEnabled', 'b', 'st1', { reason: 'quality' }),
      record(30_000, 'client', 'reconnecting', 'b', null),
      record(33_000, 'client', 'reconnected', 'b', null),
      record(40_000, 'client', 'reconnecting', 'b', null),
      record(50_000, 'server', 'streamDestroyed', 'a', 'st1', { reason: 'clientDisconnected' }),
      record(60_000, 'server', 'connectionDestroyed', 'b', null, { reason: 'networkDisconnected' }),
    ]);
    const spans = (id: string): [string, string | null, number, number, boolean, string[]][] =>
      (timeline.connections.find((c) => c.connectionId === id)?.spans ?? []).map((s) => [
        s.lane,
        s.streamId,
        s.startAt,
        s.endAt,
        s.open,
        s.eventIndexes.map((index) => timeline.events[index]?.type ?? '?'),
      ]);
    assert.deepEqual(spans('a'), [
      ['connected', null, 1000, 120_000, true, ['connectionCreated', 'connect']],
      ['publishing', 'st1', 3000, 50_000, false, ['streamCreated', 'publish', 'streamDestroyed']],
    ]);
    assert.deepEqual(spans('b'), [
      [
        'connected',
        null,
        2000,
        60_000,
        false,
        ['connectionCreated', 'reconnecting', 'reconnected', 'reconnecting', 'connectionDestroyed'],
      ],
      ['subscribing', 'st1', 4000, 50_000, false, ['subscribe', 'iceState', 'videoDisabled', 'videoEnabled']],
      ['errors', 'st9', 4500, 4500, false, ['subscribe']],
      ['audioFallback', 'st1', 10_000, 20_000, false, ['videoDisabled', 'videoEnabled']],
      ['reconnecting', null, 30_000, 33_000, false, ['reconnecting', 'reconnected']],
      ['reconnecting', null, 40_000, 60_000, false, ['reconnecting', 'connectionDestroyed']],
    ]);
    assert.equal(timeline.connections[0]?.sdkVersion, '0.1.0');
    assert.equal(timeline.connections[1]?.sdkVersion, null);
  });
});

describe('meetings', () => {
  it('split the session at the gaps with nobody connected', () => {
    const server = (
      at: number,
      type: string,
      connectionId: string,
      streamId: string | null = null,
    ): InspectorRecord => ({
      at,
      source: 'server',
      kind: 'event',
      type,
      connectionId,
      streamId,
      data: { reason: 'clientDisconnected', data: '' },
    });
    const timeline = timelineOf(summary, [
      server(1000, 'connectionCreated', 'a'),
      server(2000, 'connectionCreated', 'b'),
      server(3000, 'streamCreated', 'b', 'st1'),
      server(5000, 'connectionDestroyed', 'a'),
      server(9000, 'connectionDestroyed', 'b'),
      server(50_000, 'connectionCreated', 'c'),
      server(51_000, 'streamCreated', 'c', 'st2'),
    ]);
    assert.deepEqual(timeline.meetings, [
      { startAt: 1000, endAt: 9000, connectionIds: ['a', 'b'], streamIds: ['st1'] },
      { startAt: 50_000, endAt: 120_000, connectionIds: ['c'], streamIds: ['st2'] },
    ]);
  });
});

/** A routed room's readings from figures by field name (0 where not given, NaN for unknown). */
function readingsOf(entries: {
  publications?: readonly {
    id: string;
    streamId: string;
    figures: Partial<Record<PublicationField, number>>;
  }[];
  subscriptions?: readonly {
    id: string;
    streamId: string;
    connectionId: string;
    figures: Partial<Record<SubscriptionField, number>>;
    layer?: string;
    videoFallback?: VideoFallbackState;
  }[];
}): RoutedReadings {
  const publications = entries.publications ?? [];
  const subscriptions = entries.subscriptions ?? [];
  return {
    publicationIds: publications.map((entry) => entry.id),
    publications: Float64Array.from(
      publications.flatMap((entry) => publicationFields.map((field) => entry.figures[field] ?? 0)),
    ),
    subscriptionIds: subscriptions.map((entry) => entry.id),
    subscriptions: Float64Array.from(
      subscriptions.flatMap((entry) => subscriptionFields.map((field) => entry.figures[field] ?? 0)),
    ),
    layerRids: [],
    publishedLayers: new Float64Array(),
    layers: subscriptions.map((entry) => entry.layer ?? null),
    targetLayers: subscriptions.map((entry) => entry.layer ?? null),
    videoFallbacks: subscriptions.map((entry) => entry.videoFallback ?? null),
    streams: new Map(publications.map((entry) => [entry.id, entry.streamId])),
    subscribers: new Map(
      subscriptions.map((entry) => [
        entry.id,
        { streamId: entry.streamId, connectionId: entry.connectionId },
      ]),
    ),
  };
}

const newSampling = (): RouterSampling => ({ counters: new Map(), lastKept: new Map() });

describe('router samples', () => {
  it('start at a stream’s second sample, with bitrates and losses over the interval', () => {
    const readings = (scale: number): RoutedReadings =>
      readingsOf({
        publications: [
          {
            id: 'p1',
            streamId: 'st1',
            figures: {
              videoBytes: 100_000 * scale,
              uplinkLost: 3 * scale,
              resendsRequested: 2 * scale,
              repaired: scale,
              keyframeRequests: scale,
              width: 640,
              height: 360,
              frameRate: 30,
              activeLayers: 1,
            },
          },
        ],
      });
    const sampling = newSampling();
    assert.deepEqual(routerSamples(readings(1), sampling, 0, 100), []);
    const [sample] = routerSamples(readings(2), sampling, 5000, 100);
    assert.deepEqual(sample?.data, {
      audioBitrate: 0,
      videoBitrate: 160_000,
      width: 640,
      height: 360,
      frameRate: 30,
      layers: 1,
      uplinkLost: 3,
      nacks: 2,
      repaired: 1,
      keyframeRequests: 1,
    });
    routerSamples(readingsOf({}), sampling, 10_000, 100);
    assert.equal(sampling.counters.size, 0);
  });

  it('tell of a subscriber the share of each kind of its packets its reports say were lost', () => {
    const readings = (scale: number): RoutedReadings =>
      readingsOf({
        subscriptions: [
          {
            id: 's1',
            streamId: 'st1',
            connectionId: 'c1',
            figures: {
              audioBytes: 25_000 * scale,
              videoBytes: 25_000 * scale,
              audioPackets: 250 * scale,
              videoPackets: 250 * scale,
              audioLost: 10 * scale,
              videoFractionLost: 0.05,
              audioJitterMs: 3,
              audioRttMs: NaN,
              videoRttMs: NaN,
              estimatedBitrate: 300_000,
            },
            layer: 'h',
            videoFallback: 'on',
          },
        ],
      });
    const sampling = newSampling();
    routerSamples(readings(1), sampling, 0, 100);
    const [sample] = routerSamples(readings(2), sampling, 5000, 100);
    assert.deepEqual([sample?.connectionId, sample?.streamId], ['c1', 'st1']);
    assert.deepEqual(sample?.data, {
      audioBitrate: 40_000,
      videoBitrate: 40_000,
      retransmissions: 0,
      packetsLost: 10,
      audioLoss: 0.04,
      videoLoss: 0,
      keyframeRequests: 0,
      fractionLost: 0.05,
      jitterMs: 3,
      rttMs: null,
      layer: 'h',
      targetLayer: 'h',
      estimatedBitrate: 300_000,
      videoFallback: 'on',
    });
  });

  it('keep at most so many subscriber samples a tick: those having a bad time first, then the others in turn', () => {
    const readings = (
      at: number,
      bad: string | null = null,
      ids = ['c1', 'c2', 'c3', 'c4', 'c5'],
    ): RoutedReadings =>
      readingsOf({
        publications: [{ id: 'p1', streamId: 'st1', figures: {} }],
        subscriptions: ids.map((id) => ({
          id: `s-${id}`,
          streamId: 'st1',
          connectionId: id,
          // A tenth of its audio lost since the last tick, for the one having a bad time.
          figures: { audioPackets: at * 100, audioLost: id === bad ? at * 10 : 0 },
          videoFallback: 'on',
        })),
      });
    const sampling = newSampling();
    const kept = (at: number, max: number, bad: string | null = null, ids?: string[]): (string | null)[] =>
      routerSamples(readings(at, bad, ids), sampling, at, max).map((record) => record.connectionId);
    assert.deepEqual(kept(0, 10), []);
    assert.deepEqual(kept(5, 10), [null, 'c1', 'c2', 'c3', 'c4', 'c5']);
    assert.deepEqual(kept(10, 2), [null, 'c1', 'c2']);
    assert.deepEqual(kept(15, 2, 'c1'), [null, 'c1', 'c3']);
    assert.deepEqual(kept(20, 2), [null, 'c4', 'c5']);
    assert.deepEqual(kept(25, 2, null, ['c1', 'c2']), [null, 'c1', 'c2']);
    assert.deepEqual([...sampling.lastKept.keys()].sort(), ['c1 st1', 'c2 st1']);
  });
});
