import type { RoutedMediaStats } from '../signaling/RoutedMedia.js';
import type { InspectorRecord, InspectorValue } from '../store/InspectorRepository.js';
import { lossyLinkRatio } from './timeline.js';

/** A publication's or subscription's counters at the last sample, to make rates of the next. */
export interface RouterCounters {
  readonly at: number;
  readonly values: Readonly<Record<string, number>>;
}

/**
 * The router's view of a routed session as Inspector quality samples: per published stream what
 * reaches the router (bitrate per kind, the top layer's size and frame rate, packets its uplink
 * lost, asked again (NACKs) and repaired, keyframes the router asked for), per subscriber what the
 * router sends (bitrate, layer forwarded and wanted, retransmissions, keyframes it asked for, the loss, jitter and round trip its reports tell, the
 * share of each kind's packets its reports say were lost over the interval, the downlink
 * estimate, audio fallback). `counters` keeps the last sample of each, for rates; it
 * holds only what `stats` still has. Each starts with its second sample: the first has no rates.
 */
export function routerSamples(
  stats: RoutedMediaStats,
  counters: Map<string, RouterCounters>,
  now: number,
): InspectorRecord[] {
  const records: InspectorRecord[] = [];
  const seen = new Set<string>();
  /** What each counter added since the last sample (bytes as bits/s); null for a first sample. */
  const rates = (id: string, values: Record<string, number>): Record<string, number> | null => {
    seen.add(id);
    const previous = counters.get(id);
    counters.set(id, { at: now, values });
    const seconds = previous ? (now - previous.at) / 1000 : 0;
    if (!previous || seconds <= 0) return null;
    const out: Record<string, number> = {};
    for (const [name, value] of Object.entries(values)) {
      const added = Math.max(0, value - (previous.values[name] ?? 0));
      out[name] = name.endsWith('Bytes') ? Math.round((added * 8) / seconds) : added;
    }
    return out;
  };
  for (const publication of stats.publications) {
    const audio = publication.tracks.find((track) => track.kind === 'audio');
    const video = publication.tracks.find((track) => track.kind === 'video');
    const layers = video?.layers ?? [];
    const top = layers.reduce<(typeof layers)[number] | undefined>(
      (best, layer) => (layer.active && layer.width >= (best?.width ?? -1) ? layer : best),
      undefined,
    );
    const sum = (pick: (layer: (typeof layers)[number]) => number): number =>
      layers.reduce((total, layer) => total + pick(layer), 0);
    const delta = rates(`p ${publication.id}`, {
      audioBytes: audio?.bytes ?? 0,
      videoBytes: video?.bytes ?? 0,
      uplinkLost: sum((layer) => layer.uplinkLost),
      nacks: sum((layer) => layer.resendsRequested),
      repaired: sum((layer) => layer.repaired),
      keyframeRequests: sum((layer) => layer.keyframeRequests),
    });
    if (!delta) continue;
    records.push({
      at: now,
      source: 'router',
      kind: 'quality',
      type: 'publication',
      connectionId: null,
      streamId: publication.streamId,
      data: {
        audioBitrate: delta.audioBytes ?? 0,
        videoBitrate: delta.videoBytes ?? 0,
        width: top?.width ?? 0,
        height: top?.height ?? 0,
        frameRate: top?.frameRate ?? 0,
        layers: layers.filter((layer) => layer.active).length,
        uplinkLost: delta.uplinkLost ?? 0,
        nacks: delta.nacks ?? 0,
        repaired: delta.repaired ?? 0,
        keyframeRequests: delta.keyframeRequests ?? 0,
      },
    });
  }
  for (const subscription of stats.subscriptions) {
    const audio = subscription.tracks.find((track) => track.kind === 'audio');
    const video = subscription.tracks.find((track) => track.kind === 'video');
    const delta = rates(`s ${subscription.id}`, {
      audioBytes: audio?.bytes ?? 0,
      videoBytes: video?.bytes ?? 0,
      audioPackets: audio?.packets ?? 0,
      videoPackets: video?.packets ?? 0,
      audioLost: audio?.packetsLost ?? 0,
      videoLost: video?.packetsLost ?? 0,
      retransmissions: (audio?.retransmissions ?? 0) + (video?.retransmissions ?? 0),
      keyframeRequests: subscription.keyframeRequests,
    });
    if (!delta) continue;
    const data: Record<string, InspectorValue> = {
      audioBitrate: delta.audioBytes ?? 0,
      videoBitrate: delta.videoBytes ?? 0,
      retransmissions: delta.retransmissions ?? 0,
      packetsLost: (delta.audioLost ?? 0) + (delta.videoLost ?? 0),
      audioLoss: lossRatio(delta.audioLost, delta.audioPackets),
      videoLoss: lossRatio(delta.videoLost, delta.videoPackets),
      keyframeRequests: delta.keyframeRequests ?? 0,
      fractionLost: Math.max(audio?.fractionLost ?? 0, video?.fractionLost ?? 0),
      jitterMs: audio?.jitterMs ?? video?.jitterMs ?? null,
      rttMs: video?.rttMs ?? audio?.rttMs ?? null,
      layer: video?.layer ?? null,
      targetLayer: video?.targetLayer ?? null,
      estimatedBitrate: subscription.estimatedBitrate,
      videoFallback: video?.videoFallback ?? null,
    };
    records.push({
      at: now,
      source: 'router',
      kind: 'quality',
      type: 'subscription',
      connectionId: subscription.connectionId,
      streamId: subscription.streamId,
      data,
    });
  }
  for (const id of counters.keys()) if (!seen.has(id)) counters.delete(id);
  return records;
}

/** Packets the subscriber's reports say it lost over the interval, as a share of those sent. */
function lossRatio(lost = 0, sent = 0): number {
  return sent > 0 ? Math.round((Math.min(lost, sent) / sent) * 10_000) / 10_000 : 0;
}

/**
 * At most `max` of a tick's subscriber samples, so that a big meeting's router (N streams, N²
 * subscribers) costs the store as much as a meeting of about √max people: every publication's,
 * then the subscribers having a bad time (audio loss at `lossyLinkRatio` or more, video off or
 * warned for their link), then the others in turn, those kept longest ago first. `lastKept`
 * holds when each subscriber's sample was last kept, by connection and stream; it holds only
 * what `records` has.
 */
export function pickRouterSamples(
  records: readonly InspectorRecord[],
  lastKept: Map<string, number>,
  max: number,
): InspectorRecord[] {
  const subscriptions = records.filter((record) => record.type === 'subscription');
  if (subscriptions.length <= max && lastKept.size === 0) return [...records];
  const key = (record: InspectorRecord): string => `${record.connectionId ?? ''} ${record.streamId ?? ''}`;
  const bad = (record: InspectorRecord): boolean =>
    (typeof record.data.audioLoss === 'number' && record.data.audioLoss >= lossyLinkRatio) ||
    (record.data.videoFallback !== null && record.data.videoFallback !== 'on');
  const ranked = subscriptions
    .map((record) => ({ record, bad: bad(record), keptAt: lastKept.get(key(record)) ?? 0 }))
    .sort((a, b) => Number(b.bad) - Number(a.bad) || a.keptAt - b.keptAt);
  const kept = new Set(ranked.slice(0, max).map(({ record }) => record));
  const present = new Set(subscriptions.map(key));
  for (const id of lastKept.keys()) if (!present.has(id)) lastKept.delete(id);
  for (const record of kept) lastKept.set(key(record), record.at);
  return records.filter((record) => record.type !== 'subscription' || kept.has(record));
}
