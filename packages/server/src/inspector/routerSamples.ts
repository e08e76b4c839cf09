import {
  fieldIndexes,
  publicationFields,
  rowOf,
  subscriptionFields,
} from '../media/router/routerReadings.js';
import type { RoutedReadings } from '../signaling/RoutedMedia.js';
import type { InspectorRecord, InspectorValue } from '../store/InspectorRepository.js';
import { lossyLinkRatio } from './timeline.js';

/** What sampling one router keeps from a sample to the next. */
export interface RouterSampling {
  /**
   * Each publication's (`p ID`) and subscription's (`s ID`) row of its last reading, to make
   * rates of the next; it holds only what the last reading had.
   */
  readonly counters: Map<string, { readonly at: number; readonly row: Float64Array }>;
  /** When each subscriber's sample was last kept, by connection and stream. */
  readonly lastKept: Map<string, number>;
}

const p = fieldIndexes(publicationFields);
const s = fieldIndexes(subscriptionFields);

/**
 * The router's view of a routed session as Inspector quality samples: per published stream what
 * reaches the router (bitrate per kind, the top layer's size and frame rate, packets its uplink
 * lost, asked again (NACKs) and repaired, keyframes the router asked for), per subscriber what the
 * router sends (bitrate, layer forwarded and wanted, retransmissions, keyframes it asked for, the
 * loss, jitter and round trip its reports tell, the share of each kind's packets its reports say
 * were lost over the interval, the downlink estimate, audio fallback). Each starts with its
 * second reading: the first has no rates.
 *
 * At most `maxSubscribers` subscriber samples, so that a big meeting's router (N streams, N²
 * subscribers) costs the store as much as a meeting of about √max people: every publication's,
 * then the subscribers having a bad time (audio loss at `lossyLinkRatio` or more, video off or
 * warned for their link), then the others in turn, those kept longest ago first. Records are
 * made only of the samples kept.
 */
export function routerSamples(
  readings: RoutedReadings,
  sampling: RouterSampling,
  now: number,
  maxSubscribers: number,
): InspectorRecord[] {
  const { counters, lastKept } = sampling;
  const seen = new Set<string>();
  /** The previous row and the seconds since, after keeping this one; null for a first reading. */
  const previous = (id: string, row: Float64Array): { row: Float64Array; seconds: number } | null => {
    seen.add(id);
    const last = counters.get(id);
    counters.set(id, { at: now, row });
    const seconds = last ? (now - last.at) / 1000 : 0;
    return last && seconds > 0 ? { row: last.row, seconds } : null;
  };
  const records: InspectorRecord[] = [];
  readings.publicationIds.forEach((id, index) => {
    const streamId = readings.streams.get(id);
    if (streamId === undefined) return;
    const row = rowOf(readings.publications, index, publicationFields.length);
    const last = previous(`p ${id}`, row);
    if (!last) return;
    const figure = (field: number): number => row[field] ?? 0;
    const counted = (field: number): number => added(row, last.row, field);
    records.push({
      at: now,
      source: 'router',
      kind: 'quality',
      type: 'publication',
      connectionId: null,
      streamId,
      data: {
        audioBitrate: Math.round((counted(p.audioBytes) * 8) / last.seconds),
        videoBitrate: Math.round((counted(p.videoBytes) * 8) / last.seconds),
        width: figure(p.width),
        height: figure(p.height),
        frameRate: figure(p.frameRate),
        layers: figure(p.activeLayers),
        uplinkLost: counted(p.uplinkLost),
        nacks: counted(p.resendsRequested),
        repaired: counted(p.repaired),
        keyframeRequests: counted(p.keyframeRequests),
      },
    });
  });

  const candidates: Candidate[] = [];
  readings.subscriptionIds.forEach((id, index) => {
    const subscriber = readings.subscribers.get(id);
    if (!subscriber) return;
    const row = rowOf(readings.subscriptions, index, subscriptionFields.length);
    const last = previous(`s ${id}`, row);
    if (!last) return;
    const videoFallback = readings.videoFallbacks[index] ?? null;
    const audioLoss = lossRatio(added(row, last.row, s.audioLost), added(row, last.row, s.audioPackets));
    candidates.push({
      index,
      subscriber,
      key: `${subscriber.connectionId} ${subscriber.streamId}`,
      bad: audioLoss >= lossyLinkRatio || (videoFallback !== null && videoFallback !== 'on'),
      row,
      last,
    });
  });
  for (const id of counters.keys()) if (!seen.has(id)) counters.delete(id);

  let kept = candidates;
  if (candidates.length > maxSubscribers || lastKept.size > 0) {
    kept = candidates
      .map((candidate) => ({ candidate, keptAt: lastKept.get(candidate.key) ?? 0 }))
      .sort((a, b) => Number(b.candidate.bad) - Number(a.candidate.bad) || a.keptAt - b.keptAt)
      .slice(0, maxSubscribers)
      .map(({ candidate }) => candidate)
      .sort((a, b) => a.index - b.index);
    const present = new Set(candidates.map((candidate) => candidate.key));
    for (const key of lastKept.keys()) if (!present.has(key)) lastKept.delete(key);
    for (const candidate of kept) lastKept.set(candidate.key, now);
  }
  for (const candidate of kept) {
    records.push({
      at: now,
      source: 'router',
      kind: 'quality',
      type: 'subscription',
      connectionId: candidate.subscriber.connectionId,
      streamId: candidate.subscriber.streamId,
      data: subscriberData(readings, candidate),
    });
  }
  return records;
}

/** A subscriber's sample, before the choice of those kept. */
interface Candidate {
  readonly index: number;
  readonly subscriber: { readonly streamId: string; readonly connectionId: string };
  /** Its connection and stream. */
  readonly key: string;
  /** Its audio loss at `lossyLinkRatio` or more, or its video off or warned for its link. */
  readonly bad: boolean;
  readonly row: Float64Array;
  readonly last: { readonly row: Float64Array; readonly seconds: number };
}

function subscriberData(
  readings: RoutedReadings,
  { index, row, last }: Candidate,
): Record<string, InspectorValue> {
  const figure = (field: number): number | null => {
    const value = row[field] ?? NaN;
    return Number.isNaN(value) ? null : value;
  };
  const counted = (field: number): number => added(row, last.row, field);
  return {
    audioBitrate: Math.round((counted(s.audioBytes) * 8) / last.seconds),
    videoBitrate: Math.round((counted(s.videoBytes) * 8) / last.seconds),
    retransmissions: counted(s.audioRetransmissions) + counted(s.videoRetransmissions),
    packetsLost: counted(s.audioLost) + counted(s.videoLost),
    audioLoss: lossRatio(counted(s.audioLost), counted(s.audioPackets)),
    videoLoss: lossRatio(counted(s.videoLost), counted(s.videoPackets)),
    keyframeRequests: counted(s.keyframeRequests),
    fractionLost: Math.max(figure(s.audioFractionLost) ?? 0, figure(s.videoFractionLost) ?? 0),
    jitterMs: figure(s.audioJitterMs) ?? figure(s.videoJitterMs),
    rttMs: figure(s.videoRttMs) ?? figure(s.audioRttMs),
    layer: readings.layers[index] ?? null,
    targetLayer: readings.targetLayers[index] ?? null,
    estimatedBitrate: figure(s.estimatedBitrate),
    videoFallback: readings.videoFallbacks[index] ?? null,
  };
}

/** What a counter added since the last reading (never less than 0: a counter may restart). */
function added(row: Float64Array, last: Float64Array, field: number): number {
  return Math.max(0, (row[field] ?? 0) - (last[field] ?? 0));
}

/** Packets the subscriber's reports say it lost over the interval, as a share of those sent. */
function lossRatio(lost: number, sent: number): number {
  return sent > 0 ? Math.round((Math.min(lost, sent) / sent) * 10_000) / 10_000 : 0;
}
