import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RoutedMediaStats } from '../signaling/RoutedMedia.js';
import type { InspectorRecord } from '../store/InspectorRepository.js';
import { routerSamples, type RouterCounters } from './routerSamples.js';
import { timelineOf } from './timeline.js';

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

describe('router samples', () => {
  it('start at a stream’s second sample, with bitrates and losses over the interval', () => {
    const stats = (scale: number): RoutedMediaStats => ({
      worker: 0,
      shedding: false,
      publications: [
        {
          id: 'p1',
          streamId: 'st1',
          tracks: [
            {
              kind: 'video',
              packets: 100 * scale,
              bytes: 100_000 * scale,
              layers: [
                {
                  rid: 'h',
                  active: true,
                  width: 640,
                  height: 360,
                  bitrate: 800_000,
                  frameRate: 30,
                  temporalFrameRates: [30],
                  packets: 100 * scale,
                  uplinkLost: 3 * scale,
                  resendsRequested: 2 * scale,
                  repaired: scale,
                  keyframeRequests: scale,
                },
              ],
            },
          ],
        },
      ],
      subscriptions: [],
    });
    const counters = new Map<string, RouterCounters>();
    assert.deepEqual(routerSamples(stats(1), counters, 0), []);
    const [sample] = routerSamples(stats(2), counters, 5000);
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
    routerSamples({ worker: 0, shedding: false, publications: [], subscriptions: [] }, counters, 10_000);
    assert.equal(counters.size, 0);
  });
});
