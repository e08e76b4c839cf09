import { mediaPaths } from '@parlor/protocol';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Cluster } from '../cluster/Cluster.js';
import { maxAddressesPerEndpoint } from '../media/ice/UdpMux.js';
import type { MediaWorkerPool } from '../media/worker/MediaWorkerPool.js';
import {
  fieldIndexes,
  layerFields,
  publicationFields,
  rowOf,
  subscriptionFields,
} from '../media/router/routerReadings.js';
import type { RoomRegistry } from '../signaling/RoomRegistry.js';
import type { RoutedReadings } from '../signaling/RoutedMedia.js';
import { labelText, TextFamily } from './TextFamily.js';

export interface PrometheusMetricsOptions {
  readonly rooms: RoomRegistry;
  readonly mediaWorkers: MediaWorkerPool;
  /** The node's cluster, whose gauges are added; null or absent for a node on its own. */
  readonly cluster?: Cluster | null;
  /** The callbacks waiting to be delivered, and those dropped since the start. Default: not exported. */
  readonly callbacks?: { readonly queued: number; readonly dropped: number };
}

/**
 * Parlor's Prometheus metrics: the process (CPU, memory, event loop), the live sessions, and the
 * Media Router's counters per session, stream and subscriber. Values are read from the live
 * state at each scrape, so ended sessions drop out; the router's from its compact readings
 * (`readRouter`, as of each subscription's last tick), not its `stats()`.
 */
export class PrometheusMetrics {
  readonly #options: PrometheusMetricsOptions;
  readonly #registry = new Registry();
  readonly #sessions: Gauge<'media_mode'>;
  readonly #connections: Gauge;
  readonly #adaptiveSessions: Gauge<'path'>;
  readonly #adaptiveSwitches: Counter<'path'>;
  readonly #adaptiveFailures: Counter<'path'>;
  readonly #streams: Gauge;
  readonly #workerSessions: Gauge<'worker'>;
  readonly #workerUtilization: Gauge<'worker'>;
  readonly #workerLag: Gauge<'worker'>;
  readonly #workerAdmitting: Gauge<'worker'>;
  readonly #workerShedding: Gauge<'worker'>;
  readonly #workerSheddingSeconds: Counter<'worker'>;
  readonly #tcpConnections: Gauge<'worker' | 'state'>;
  readonly #tcpClosed: Counter<'worker' | 'reason'>;
  readonly #udpDatagrams: Counter<'worker'>;
  readonly #udpStun: Counter<'worker'>;
  readonly #udpToIngress: Counter<'worker'>;
  readonly #udpDropped: Counter<'worker' | 'reason'>;
  readonly #udpEvicted: Counter<'worker'>;
  readonly #receivedPackets: TextFamily;
  readonly #receivedBytes: TextFamily;
  readonly #resendsRequested: TextFamily;
  readonly #repairedPackets: TextFamily;
  readonly #sentPackets: TextFamily;
  readonly #sentBytes: TextFamily;
  readonly #retransmittedPackets: TextFamily;
  readonly #fractionLost: TextFamily;
  readonly #packetsLost: TextFamily;
  readonly #jitter: TextFamily;
  readonly #roundTrip: TextFamily;
  readonly #estimatedBitrate: TextFamily;
  readonly #layerActive: TextFamily;
  readonly #layerBitrate: TextFamily;
  readonly #forwardedLayer: TextFamily;
  readonly #layerSwitches: TextFamily;
  /** The media workers' socket and shedding counts, which are set afresh at each scrape. */
  readonly #routerMetrics: { reset(): void }[] = [];
  /** The router's per session, stream and subscriber, written after the registry's. */
  readonly #routerFamilies: TextFamily[] = [];

  constructor(options: PrometheusMetricsOptions) {
    this.#options = options;
    const registers = [this.#registry];
    collectDefaultMetrics({ register: this.#registry, prefix: 'parlor_' });
    this.#sessions = new Gauge({
      name: 'parlor_sessions',
      help: 'Sessions with clients connected',
      labelNames: ['media_mode'],
      registers,
    });
    this.#connections = new Gauge({ name: 'parlor_connections', help: 'Connected clients', registers });
    this.#adaptiveSessions = new Gauge({
      name: 'parlor_adaptive_routing_sessions',
      help: 'Routed sessions with adaptive routing, by the path their media takes (direct or routed)',
      labelNames: ['path'],
      registers,
    });
    this.#adaptiveSwitches = new Counter({
      name: 'parlor_adaptive_routing_switches_total',
      help: 'Moves of a session to peer-to-peer media (direct) or to the Media Router (routed)',
      labelNames: ['path'],
      registers,
    });
    this.#adaptiveFailures = new Counter({
      name: 'parlor_adaptive_routing_path_failures_total',
      help: 'Clients that could not reach the Media Router (routed), or get a stream peer to peer (direct)',
      labelNames: ['path'],
      registers,
    });
    options.rooms.observer.on('newRoom', (room) => {
      room.adaptiveRouting?.observer.on('modeChanged', ({ mode }) => {
        this.#adaptiveSwitches.inc({ path: mode });
      });
      room.adaptiveRouting?.observer.on('pathFailed', (_connection, path) => {
        this.#adaptiveFailures.inc({ path });
      });
    });
    if (options.cluster) registerClusterGauges(options.cluster, registers);
    if (options.callbacks) registerCallbackGauges(options.callbacks, registers);
    this.#streams = new Gauge({ name: 'parlor_streams', help: 'Published streams', registers });
    this.#workerSessions = new Gauge({
      name: 'parlor_media_worker_sessions',
      help: 'Routed sessions hosted by each media worker',
      labelNames: ['worker'],
      registers,
    });
    const workerGauge = (name: string, help: string): Gauge<'worker'> =>
      new Gauge({ name, help, labelNames: ['worker'], registers });
    this.#workerUtilization = workerGauge(
      'parlor_media_worker_utilization',
      "Share of the last half second each media worker's event loop was busy, 0-1",
    );
    this.#workerLag = workerGauge(
      'parlor_media_worker_lag_seconds',
      "Each media worker's event-loop delay, p99 over the last half second",
    );
    this.#workerAdmitting = workerGauge(
      'parlor_media_worker_admitting',
      'Whether each media worker takes new sessions, publishers and subscribers (1), or is overloaded (0)',
    );
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> => {
      const metric = new Counter({ name, help, labelNames, registers });
      this.#routerMetrics.push(metric);
      return metric;
    };
    this.#workerShedding = workerGauge(
      'parlor_media_worker_shedding',
      "Whether each media worker, overloaded, holds its subscribers' video at the lowest layer (1) or not (0)",
    );
    this.#workerSheddingSeconds = counter(
      'parlor_media_worker_shedding_seconds_total',
      'Time each media worker has spent holding its subscribers at the lowest layer',
      ['worker'],
    );
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> => {
      const metric = new Gauge({ name, help, labelNames, registers });
      this.#routerMetrics.push(metric);
      return metric;
    };
    this.#tcpConnections = gauge(
      'parlor_media_tcp_connections',
      'ICE-TCP connections of each media worker, authenticated by a check or pending',
      ['worker', 'state'],
    );
    this.#tcpClosed = counter(
      'parlor_media_tcp_closed_total',
      'ICE-TCP connections a media worker closed before their first authentic check: refused (too many pending from the address), timeout, invalid (a first frame that was no check)',
      ['worker', 'reason'],
    );
    this.#udpDatagrams = counter(
      'parlor_media_udp_datagrams_total',
      "Datagrams a media worker's UDP socket read",
      ['worker'],
    );
    this.#udpStun = counter(
      'parlor_media_udp_stun_total',
      'Of those, STUN messages (ICE checks, authentic or not)',
      ['worker'],
    );
    this.#udpToIngress = counter(
      'parlor_media_udp_to_ingress_total',
      "Of those, a publisher's RTP that the batched reader handed to its ingress in C (native data plane)",
      ['worker'],
    );
    this.#udpDropped = counter(
      'parlor_media_udp_dropped_total',
      'Datagrams a media worker dropped: unrouted (neither a check nor from an address a check authenticated), lapsed (from a peer whose ICE consent lapsed), truncated (longer than the batched reader takes, or not IPv4)',
      ['worker', 'reason'],
    );
    this.#udpEvicted = counter(
      'parlor_media_udp_addresses_evicted_total',
      `Source addresses a media worker forgot because their peer's ICE checks came from more than ${maxAddressesPerEndpoint} (the least recently checked, never the selected path)`,
      ['worker'],
    );
    const family = (name: string, help: string, type: 'counter' | 'gauge'): TextFamily => {
      const metric = new TextFamily({ name, help, type });
      this.#routerFamilies.push(metric);
      return metric;
    };
    this.#receivedPackets = family(
      'parlor_router_received_packets_total',
      'RTP packets the router received from a publisher, per track',
      'counter',
    );
    this.#receivedBytes = family(
      'parlor_router_received_bytes_total',
      'RTP bytes the router received from a publisher, per track',
      'counter',
    );
    this.#resendsRequested = family(
      'parlor_router_upstream_resends_requested_total',
      'Packets the router asked a publisher to resend (NACK) because its uplink lost them, per track; each request counts',
      'counter',
    );
    this.#repairedPackets = family(
      'parlor_router_upstream_repaired_packets_total',
      'Packets a publisher resent in time after the router asked, per track',
      'counter',
    );
    this.#sentPackets = family(
      'parlor_router_sent_packets_total',
      'RTP packets the router forwarded to a subscriber, per track',
      'counter',
    );
    this.#sentBytes = family(
      'parlor_router_sent_bytes_total',
      'RTP bytes the router forwarded to a subscriber, per track',
      'counter',
    );
    this.#retransmittedPackets = family(
      'parlor_router_retransmitted_packets_total',
      'Packets the router resent to a subscriber after a NACK',
      'counter',
    );
    this.#fractionLost = family(
      'parlor_router_subscriber_fraction_lost',
      "Share of packets lost in the subscriber's last receiver report interval (0-1)",
      'gauge',
    );
    this.#packetsLost = family(
      'parlor_router_subscriber_packets_lost',
      'Packets the subscriber counts as lost, cumulative',
      'gauge',
    );
    this.#jitter = family(
      'parlor_router_subscriber_jitter_seconds',
      'Interarrival jitter the subscriber reports',
      'gauge',
    );
    this.#roundTrip = family(
      'parlor_router_subscriber_rtt_seconds',
      'Round-trip time to the subscriber, from its receiver reports',
      'gauge',
    );
    this.#estimatedBitrate = family(
      'parlor_router_subscriber_estimated_bitrate_bps',
      "What the subscriber's downlink carries for video, as estimated from its feedback",
      'gauge',
    );
    this.#layerActive = family(
      'parlor_router_layer_active',
      'Whether a simulcast layer of a stream is sent (1) or paused at the publisher because no one needs it (0)',
      'gauge',
    );
    this.#layerBitrate = family(
      'parlor_router_layer_bitrate_bits',
      'Bitrate of a simulcast layer over the last second it flowed, bits/s',
      'gauge',
    );
    this.#forwardedLayer = family(
      'parlor_router_forwarded_layer',
      'The simulcast layer a subscriber receives of a stream (1 for the layer forwarded)',
      'gauge',
    );
    this.#layerSwitches = family(
      'parlor_router_layer_switches_total',
      'Switches between simulcast layers of a stream for a subscriber',
      'counter',
    );
  }

  get contentType(): string {
    return this.#registry.contentType;
  }

  /** The metrics in Prometheus's text format, read from the live state now. */
  async render(): Promise<string> {
    await this.#update();
    const text = await this.#registry.metrics();
    return `${text}\n${this.#routerFamilies.map((family) => family.text()).join('\n\n')}\n`;
  }

  async #update(): Promise<void> {
    for (const metric of [...this.#routerMetrics, ...this.#routerFamilies]) metric.reset();
    const rooms = this.#options.rooms.all;
    this.#sessions.reset();
    for (const mode of ['relayed', 'routed'] as const)
      this.#sessions.set({ media_mode: mode }, rooms.filter((room) => room.mediaMode === mode).length);
    this.#connections.set(rooms.reduce((sum, room) => sum + room.connections.length, 0));
    for (const path of mediaPaths)
      this.#adaptiveSessions.set(
        { path },
        rooms.filter((room) => room.adaptiveRouting?.mode === path).length,
      );
    this.#streams.set(rooms.reduce((sum, room) => sum + room.streams.length, 0));
    for (const metric of [
      this.#workerSessions,
      this.#workerUtilization,
      this.#workerLag,
      this.#workerAdmitting,
      this.#workerShedding,
    ])
      metric.reset();
    for (const load of this.#options.mediaWorkers.load) {
      const { index, routers, utilization, lagP99Ms, admitting, shedding, sheddingMs } = load;
      const worker = String(index);
      this.#workerSessions.set({ worker }, routers);
      this.#workerUtilization.set({ worker }, utilization);
      this.#workerLag.set({ worker }, lagP99Ms / 1000);
      this.#workerAdmitting.set({ worker }, admitting ? 1 : 0);
      this.#workerShedding.set({ worker }, shedding ? 1 : 0);
      this.#workerSheddingSeconds.inc({ worker }, sheddingMs / 1000);
    }
    for (const { index, stats } of await this.#options.mediaWorkers.muxStats().catch(() => [])) {
      const worker = String(index);
      const { tcp, udp } = stats;
      this.#tcpConnections.set({ worker, state: 'authenticated' }, tcp.authenticated);
      this.#tcpConnections.set({ worker, state: 'pending' }, tcp.pending);
      this.#tcpClosed.inc({ worker, reason: 'refused' }, tcp.refused);
      this.#tcpClosed.inc({ worker, reason: 'timeout' }, tcp.timedOut);
      this.#tcpClosed.inc({ worker, reason: 'invalid' }, tcp.invalid);
      this.#udpDatagrams.inc({ worker }, udp.datagrams);
      this.#udpStun.inc({ worker }, udp.stun);
      this.#udpToIngress.inc({ worker }, udp.toIngress);
      this.#udpDropped.inc({ worker, reason: 'unrouted' }, udp.unrouted);
      this.#udpDropped.inc({ worker, reason: 'lapsed' }, udp.lapsed);
      this.#udpDropped.inc({ worker, reason: 'truncated' }, udp.truncated);
      this.#udpEvicted.inc({ worker }, udp.evicted);
    }

    const sessions = await Promise.all(
      rooms.map(async (room) => ({
        sessionId: room.sessionId,
        readings: await room.routerReadings().catch(() => null),
      })),
    );
    for (const { sessionId, readings } of sessions) if (readings) this.#setRouter(sessionId, readings);
  }

  /** Sets a session's router series from its readings (labels in the order they always had). */
  #setRouter(sessionId: string, readings: RoutedReadings): void {
    readings.publicationIds.forEach((id, index) => {
      const streamId = readings.streams.get(id);
      if (streamId === undefined) return;
      const row = rowOf(readings.publications, index, publicationFields.length);
      const figure = (field: number): number => row[field] ?? 0;
      for (const { kind, publication: f } of kindFields) {
        if (figure(f.track) === 0) continue;
        const labels = labelText({ session_id: sessionId, stream_id: streamId, kind });
        this.#receivedPackets.add(labels, figure(f.packets));
        this.#receivedBytes.add(labels, figure(f.bytes));
        // The router asks no resends of audio.
        this.#resendsRequested.add(labels, kind === 'video' ? figure(p.resendsRequested) : 0);
        this.#repairedPackets.add(labels, kind === 'video' ? figure(p.repaired) : 0);
      }
    });
    readings.layerRids.forEach((rid, index) => {
      const row = rowOf(readings.publishedLayers, index, layerFields.length);
      const publicationId = readings.publicationIds[row[l.publication] ?? -1];
      const streamId = publicationId === undefined ? undefined : readings.streams.get(publicationId);
      if (streamId === undefined) return;
      const labels = labelText({ session_id: sessionId, stream_id: streamId, rid });
      this.#layerActive.add(labels, row[l.active] ?? 0);
      this.#layerBitrate.add(labels, row[l.bitrate] ?? 0);
    });
    readings.subscriptionIds.forEach((id, index) => {
      const ids = readings.subscribers.get(id);
      if (!ids) return;
      const row = rowOf(readings.subscriptions, index, subscriptionFields.length);
      const figure = (field: number): number => row[field] ?? NaN;
      const subscriber = labelText({
        session_id: sessionId,
        stream_id: ids.streamId,
        subscriber: ids.connectionId,
      });
      if (!Number.isNaN(figure(s.estimatedBitrate)))
        this.#estimatedBitrate.add(subscriber, figure(s.estimatedBitrate));
      for (const { kind, subscription: f } of kindFields) {
        if (figure(f.track) === 0) continue;
        const labels = `${subscriber},${labelText({ kind })}`;
        this.#sentPackets.add(labels, figure(f.packets));
        this.#sentBytes.add(labels, figure(f.bytes));
        this.#retransmittedPackets.add(labels, figure(f.retransmissions));
        this.#fractionLost.add(labels, figure(f.fractionLost));
        this.#packetsLost.add(labels, figure(f.lost));
        this.#jitter.add(labels, figure(f.jitterMs) / 1000);
        if (!Number.isNaN(figure(f.rttMs))) this.#roundTrip.add(labels, figure(f.rttMs) / 1000);
        this.#layerSwitches.add(labels, figure(f.layerSwitches));
      }
      const layer = readings.layers[index] ?? null;
      if (layer !== null) this.#forwardedLayer.add(`${subscriber},${labelText({ rid: layer })}`, 1);
    });
  }
}

const p = fieldIndexes(publicationFields);
const l = fieldIndexes(layerFields);
const s = fieldIndexes(subscriptionFields);

/** Where a publication's and a subscription's figures of each kind are in their rows. */
const kindFields = (['audio', 'video'] as const).map((kind) => {
  const publication = (field: 'Track' | 'Packets' | 'Bytes'): number => p[`${kind}${field}`];
  const subscription = (
    field:
      | 'Track'
      | 'Packets'
      | 'Bytes'
      | 'Retransmissions'
      | 'Lost'
      | 'FractionLost'
      | 'JitterMs'
      | 'RttMs'
      | 'LayerSwitches',
  ): number => s[`${kind}${field}`];
  return {
    kind,
    publication: {
      track: publication('Track'),
      packets: publication('Packets'),
      bytes: publication('Bytes'),
    },
    subscription: {
      track: subscription('Track'),
      packets: subscription('Packets'),
      bytes: subscription('Bytes'),
      retransmissions: subscription('Retransmissions'),
      lost: subscription('Lost'),
      fractionLost: subscription('FractionLost'),
      jitterMs: subscription('JitterMs'),
      rttMs: subscription('RttMs'),
      layerSwitches: subscription('LayerSwitches'),
    },
  };
});

/** The cluster's gauges, read at each scrape: this node's leases and admission, and the live nodes per region. */
function registerCallbackGauges(
  callbacks: NonNullable<PrometheusMetricsOptions['callbacks']>,
  registers: Registry[],
): void {
  new Gauge({
    name: 'parlor_callbacks_queued',
    help: 'Callbacks stored and waiting to be delivered',
    registers,
    collect() {
      this.set(callbacks.queued);
    },
  });
  new Gauge({
    name: 'parlor_callbacks_dropped',
    help: 'Callbacks dropped since the start because too many waited',
    registers,
    collect() {
      this.set(callbacks.dropped);
    },
  });
}

function registerClusterGauges(cluster: Cluster, registers: Registry[]): void {
  new Gauge({
    name: 'parlor_cluster_sessions_held',
    help: 'Sessions whose lease this node holds',
    registers,
    collect() {
      this.set(cluster.heldSessions);
    },
  });
  new Gauge({
    name: 'parlor_cluster_admitting',
    help: 'Whether this node takes new sessions: serving and within its admission limits (1 or 0)',
    registers,
    collect() {
      this.set(cluster.record().admitting ? 1 : 0);
    },
  });
  new Gauge({
    name: 'parlor_cluster_nodes',
    help: 'Live nodes of the cluster per region, as Redis lists them',
    labelNames: ['region'],
    registers,
    async collect() {
      this.reset();
      const nodes = await cluster.nodes().catch(() => []);
      const regions = new Map<string, number>();
      for (const node of nodes) regions.set(node.region, (regions.get(node.region) ?? 0) + 1);
      for (const [region, count] of regions) this.set({ region }, count);
    },
  });
}
