import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createSocket } from 'node:dgram';
import { createConnection } from 'node:net';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { layerFields, publicationFields, subscriptionFields } from '../media/router/routerReadings.js';
import type { IceTcpStats, UdpMuxStats } from '../media/ice/UdpMux.js';
import type { RoutedReadings } from '../signaling/RoutedMedia.js';
import { startTestServer } from '../testing.js';
import { PrometheusMetrics, type PrometheusMetricsOptions } from './PrometheusMetrics.js';

describe('/metrics', () => {
  it('counts the ICE-TCP connections a media worker holds and those it closed before a check, with the limits the settings give, and the datagrams its UDP socket read and dropped', async () => {
    const parlor = await startTestServer({
      // Long enough that the two pending connections are still there when counted on a loaded
      // machine (with 600 ms they had timed out once before the count).
      env: { PARLOR_MEDIA_TCP_AUTH_TIMEOUT_MS: '3000', PARLOR_MEDIA_TCP_PENDING_PER_ADDRESS: '2' },
    });
    try {
      const port = parlor.server.mediaWorkers.load[0]?.port ?? 0;
      const sockets = Array.from({ length: 3 }, () =>
        createConnection(port, '127.0.0.1').on('error', () => undefined),
      );
      const closed = Promise.all(sockets.map((socket) => once(socket, 'close')));
      await Promise.all(sockets.map((socket) => once(socket, 'connect')));
      const metric = async (series: string): Promise<number> => {
        const text = await (await fetch(`${parlor.url}/metrics`)).text();
        return Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1]);
      };
      for (
        let i = 0;
        i < 100 && (await metric('parlor_media_tcp_closed_total{worker="0",reason="refused"}')) !== 1;
        i++
      )
        await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(await metric('parlor_media_tcp_connections{worker="0",state="pending"}'), 2);
      await closed;
      assert.equal(await metric('parlor_media_tcp_closed_total{worker="0",reason="timeout"}'), 2);
      assert.equal(await metric('parlor_media_tcp_connections{worker="0",state="pending"}'), 0);

      // Three datagrams from an address no check authenticated: read, and dropped as unrouted.
      const udp = createSocket('udp4');
      try {
        for (let i = 0; i < 3; i++)
          udp.send(Buffer.from([0x80, 0x60, 0, i, 0, 0, 0, 0, 0, 0, 0, 1]), port, '127.0.0.1');
        for (
          let i = 0;
          i < 100 && (await metric('parlor_media_udp_dropped_total{worker="0",reason="unrouted"}')) !== 3;
          i++
        )
          await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(await metric('parlor_media_udp_dropped_total{worker="0",reason="unrouted"}'), 3);
        assert.equal(await metric('parlor_media_udp_datagrams_total{worker="0"}'), 3);
        assert.equal(await metric('parlor_media_udp_stun_total{worker="0"}'), 0);
        assert.equal(await metric('parlor_media_udp_to_ingress_total{worker="0"}'), 0);
        assert.equal(await metric('parlor_media_udp_addresses_evicted_total{worker="0"}'), 0);
        assert.equal(await metric('parlor_media_udp_dropped_total{worker="0",reason="lapsed"}'), 0);
      } finally {
        udp.close();
      }
    } finally {
      await parlor.dispose();
    }
  });

  it("writes each media worker's UDP counters from its mux, with the RTP routed in C and the addresses forgotten", async () => {
    const udp: UdpMuxStats = {
      datagrams: 100,
      stun: 10,
      toIngress: 70,
      unrouted: 3,
      lapsed: 2,
      truncated: 1,
      evicted: 4,
    };
    const tcp: IceTcpStats = { authenticated: 0, pending: 0, refused: 0, timedOut: 0, invalid: 0 };
    const metrics = new PrometheusMetrics({
      rooms: { all: [], observer: new EventEmitter() },
      mediaWorkers: { load: [], muxStats: () => Promise.resolve([{ index: 1, stats: { tcp, udp } }]) },
    } as unknown as PrometheusMetricsOptions);
    const text = await metrics.render();
    const lines = text.split('\n').filter((line) => line.startsWith('parlor_media_udp_'));
    assert.deepEqual(lines, [
      'parlor_media_udp_datagrams_total{worker="1"} 100',
      'parlor_media_udp_stun_total{worker="1"} 10',
      'parlor_media_udp_to_ingress_total{worker="1"} 70',
      'parlor_media_udp_dropped_total{worker="1",reason="unrouted"} 3',
      'parlor_media_udp_dropped_total{worker="1",reason="lapsed"} 2',
      'parlor_media_udp_dropped_total{worker="1",reason="truncated"} 1',
      'parlor_media_udp_addresses_evicted_total{worker="1"} 4',
    ]);
  });

  it("writes the router's series per stream, layer and subscriber from its readings, leaving out what it does not know", async () => {
    const row = <Field extends string>(fields: readonly Field[], figures: Partial<Record<Field, number>>) =>
      fields.map((field) => figures[field] ?? 0);
    const readings: RoutedReadings = {
      publicationIds: ['p1'],
      publications: Float64Array.from(
        row(publicationFields, {
          audioTrack: 1,
          videoTrack: 1,
          audioPackets: 10,
          videoPackets: 20,
          audioBytes: 1000,
          videoBytes: 2000,
          resendsRequested: 3,
          repaired: 2,
        }),
      ),
      layerRids: ['q', 'h'],
      publishedLayers: Float64Array.from([
        ...row(layerFields, { publication: 0, active: 1, bitrate: 150_000 }),
        ...row(layerFields, { publication: 0, active: 0, bitrate: 0 }),
      ]),
      subscriptionIds: ['s1', 's2'],
      subscriptions: Float64Array.from([
        ...row(subscriptionFields, {
          audioTrack: 1,
          videoTrack: 1,
          audioPackets: 5,
          videoPackets: 9,
          audioBytes: 500,
          videoBytes: 900,
          videoRetransmissions: 1,
          videoLost: 2,
          videoFractionLost: 0.25,
          audioJitterMs: 4,
          videoJitterMs: 8,
          audioRttMs: 30,
          videoRttMs: 40,
          videoLayerSwitches: 3,
          estimatedBitrate: 500_000,
        }),
        ...row(subscriptionFields, {
          videoTrack: 1,
          videoPackets: 7,
          videoRttMs: NaN,
          estimatedBitrate: NaN,
        }),
      ]),
      layers: ['q', null],
      targetLayers: ['q', null],
      videoFallbacks: ['on', 'on'],
      streams: new Map([['p1', 'st1']]),
      subscribers: new Map([
        ['s1', { streamId: 'st1', connectionId: 'c1' }],
        ['s2', { streamId: 'st1', connectionId: 'c2' }],
      ]),
    };
    const room = {
      sessionId: 'se',
      mediaMode: 'routed',
      connections: [],
      streams: [],
      routerReadings: async () => readings,
    };
    const metrics = new PrometheusMetrics({
      rooms: { all: [room], observer: new EventEmitter() },
      mediaWorkers: { load: [], muxStats: () => Promise.resolve([]) },
    } as unknown as PrometheusMetricsOptions);
    const text = await metrics.render();
    const series = (name: string): string[] =>
      text.split('\n').filter((line) => line.startsWith(`parlor_router_${name}{`));
    const stream = 'session_id="se",stream_id="st1"';
    assert.deepEqual(series('received_packets_total'), [
      `parlor_router_received_packets_total{${stream},kind="audio"} 10`,
      `parlor_router_received_packets_total{${stream},kind="video"} 20`,
    ]);
    assert.deepEqual(series('upstream_resends_requested_total'), [
      `parlor_router_upstream_resends_requested_total{${stream},kind="audio"} 0`,
      `parlor_router_upstream_resends_requested_total{${stream},kind="video"} 3`,
    ]);
    assert.deepEqual(series('layer_active'), [
      `parlor_router_layer_active{${stream},rid="q"} 1`,
      `parlor_router_layer_active{${stream},rid="h"} 0`,
    ]);
    assert.deepEqual(series('layer_bitrate_bits'), [
      `parlor_router_layer_bitrate_bits{${stream},rid="q"} 150000`,
      `parlor_router_layer_bitrate_bits{${stream},rid="h"} 0`,
    ]);
    assert.deepEqual(series('sent_packets_total'), [
      `parlor_router_sent_packets_total{${stream},subscriber="c1",kind="audio"} 5`,
      `parlor_router_sent_packets_total{${stream},subscriber="c1",kind="video"} 9`,
      `parlor_router_sent_packets_total{${stream},subscriber="c2",kind="video"} 7`,
    ]);
    assert.deepEqual(series('subscriber_rtt_seconds'), [
      `parlor_router_subscriber_rtt_seconds{${stream},subscriber="c1",kind="audio"} 0.03`,
      `parlor_router_subscriber_rtt_seconds{${stream},subscriber="c1",kind="video"} 0.04`,
    ]);
    assert.deepEqual(series('subscriber_estimated_bitrate_bps'), [
      `parlor_router_subscriber_estimated_bitrate_bps{${stream},subscriber="c1"} 500000`,
    ]);
    assert.deepEqual(series('forwarded_layer'), [
      `parlor_router_forwarded_layer{${stream},subscriber="c1",rid="q"} 1`,
    ]);
    for (const [name, audio, video] of [
      ['retransmitted_packets_total', '0', '1'],
      ['subscriber_packets_lost', '0', '2'],
      ['subscriber_fraction_lost', '0', '0.25'],
      ['subscriber_jitter_seconds', '0.004', '0.008'],
      ['layer_switches_total', '0', '3'],
    ] as const)
      assert.deepEqual(series(name).slice(0, 2), [
        `parlor_router_${name}{${stream},subscriber="c1",kind="audio"} ${audio}`,
        `parlor_router_${name}{${stream},subscriber="c1",kind="video"} ${video}`,
      ]);
    assert.match(text, /^# TYPE parlor_router_layer_switches_total counter$/m);
  });
});
