import type { Publication, PublishedLayer, PublishedTrack } from './Publication.js';
import type { ConsumedTrack, Subscription } from './Subscription.js';
import type { VideoFallbackState } from './VideoFallback.js';

/** A publication's figures in a reading's row, in this order. */
export const publicationFields = [
  /** 1 when it has a track of the kind, else 0 (and the kind's figures are 0). */
  'audioTrack',
  'videoTrack',
  'audioPackets',
  'videoPackets',
  'audioBytes',
  'videoBytes',
  /**
   * Summed over the video's layers: gaps the router saw, NACKs it sent, resends in time, PLIs
   * (the router asks no resends of audio).
   */
  'uplinkLost',
  'resendsRequested',
  'repaired',
  'keyframeRequests',
  /** The widest active layer's size and frame rate over its last second (0 before known). */
  'width',
  'height',
  'frameRate',
  'activeLayers',
] as const;

/** A simulcast layer's figures (those with a RID, of every publication) in a reading's row, in this order. */
export const layerFields = [
  /** Its publication's index in `publicationIds`. */
  'publication',
  /** 1 while sent, 0 while the router has the publisher pause it. */
  'active',
  /** Over the last second it flowed, bits/s (0 before). */
  'bitrate',
] as const;

/** A subscription's figures in a reading's row, in this order; NaN where a figure is unknown. */
export const subscriptionFields = [
  /** 1 when it forwards a track of the kind, else 0 (and the kind's figures are 0, or NaN where unknown). */
  'audioTrack',
  'videoTrack',
  'audioBytes',
  'videoBytes',
  'audioPackets',
  'videoPackets',
  'audioRetransmissions',
  'videoRetransmissions',
  /** What the subscriber's receiver reports say it lost, per kind: in all, and the share in the last interval (0–1). */
  'audioLost',
  'videoLost',
  'audioFractionLost',
  'videoFractionLost',
  'audioJitterMs',
  'videoJitterMs',
  /** NaN before a report told. */
  'audioRttMs',
  'videoRttMs',
  /** Switches between simulcast layers. */
  'audioLayerSwitches',
  'videoLayerSwitches',
  'keyframeRequests',
  /** NaN until known. */
  'estimatedBitrate',
] as const;

/** Where each field is in a row. */
export function fieldIndexes<Field extends string>(
  fields: readonly Field[],
): Readonly<Record<Field, number>> {
  return Object.fromEntries(fields.map((field, index) => [field, index])) as Record<Field, number>;
}

/** The row at `index` of rows `width` figures wide, as a view. */
export function rowOf(rows: Float64Array, index: number, width: number): Float64Array {
  return rows.subarray(index * width, (index + 1) * width);
}

/**
 * A router's counters for sampling (the Inspector's, every few seconds) and for `/metrics`:
 * numbers in flat rows and a few strings, which the forwarding thread reads and posts in a
 * fraction of what `MediaRouter.stats()`'s objects cost (a meeting of 50's 2,450 subscriptions:
 * about 2–4 ms and 0.5 MB against 5–9 ms and 1.6 MB, built and serialized). Counters are as of each subscription's
 * last tick. A publication's or subscription's figures per kind are its first track's of the kind.
 */
export interface RouterReadings {
  readonly publicationIds: readonly string[];
  /** `publicationFields.length` figures per publication, in `publicationIds`' order. */
  readonly publications: Float64Array;
  /** The RID of each simulcast layer, and `layerFields.length` figures per layer in that order. */
  readonly layerRids: readonly string[];
  readonly publishedLayers: Float64Array;
  readonly subscriptionIds: readonly string[];
  /** `subscriptionFields.length` figures per subscription, in `subscriptionIds`' order. */
  readonly subscriptions: Float64Array;
  /** Per subscription: the video's layer forwarded and the one it moves to (RIDs), and its audio fallback. */
  readonly layers: readonly (string | null)[];
  readonly targetLayers: readonly (string | null)[];
  readonly videoFallbacks: readonly (VideoFallbackState | null)[];
}

/** Reads the open publications' and subscriptions' counters. */
export function readRouter(
  publications: Iterable<Publication>,
  subscriptions: Iterable<Subscription>,
): RouterReadings {
  const openPublications = [...publications].filter((publication) => !publication.closed);
  const openSubscriptions = [...subscriptions].filter((subscription) => !subscription.closed);
  const publicationRows = new Float64Array(openPublications.length * publicationFields.length);
  const layerRids: string[] = [];
  const layerRows: number[] = [];
  let at = 0;
  openPublications.forEach((publication, index) => {
    let audio: PublishedTrack | null = null;
    let video: PublishedTrack | null = null;
    for (const track of publication.tracks) {
      if (track.kind === 'audio') audio ??= track;
      else video ??= track;
      for (const layer of track.layers)
        if (layer.rid !== null) {
          layerRids.push(layer.rid);
          layerRows.push(index, layer.active ? 1 : 0, layer.bitrates.at(-1) ?? 0);
        }
    }
    publicationRows[at++] = audio ? 1 : 0;
    publicationRows[at++] = video ? 1 : 0;
    publicationRows[at++] = audio?.packetsIn ?? 0;
    publicationRows[at++] = video?.packetsIn ?? 0;
    publicationRows[at++] = audio?.bytesIn ?? 0;
    publicationRows[at++] = video?.bytesIn ?? 0;
    let uplinkLost = 0;
    let resendsRequested = 0;
    let repaired = 0;
    let keyframeRequests = 0;
    let active = 0;
    let widest: PublishedLayer | null = null;
    for (const layer of video?.layers ?? []) {
      uplinkLost += layer.resends?.counts.missed ?? 0;
      resendsRequested += layer.resends?.counts.requested ?? 0;
      repaired += layer.resends?.counts.repaired ?? 0;
      keyframeRequests += layer.keyframeRequests;
      if (!layer.active) continue;
      active++;
      if (layer.width >= (widest?.width ?? 0)) widest = layer;
    }
    publicationRows[at++] = uplinkLost;
    publicationRows[at++] = resendsRequested;
    publicationRows[at++] = repaired;
    publicationRows[at++] = keyframeRequests;
    publicationRows[at++] = widest?.width ?? 0;
    publicationRows[at++] = widest?.height ?? 0;
    publicationRows[at++] = widest?.frameRates.at(-1) ?? 0;
    publicationRows[at++] = active;
  });
  const subscriptionRows = new Float64Array(openSubscriptions.length * subscriptionFields.length);
  const layers: (string | null)[] = [];
  const targetLayers: (string | null)[] = [];
  const videoFallbacks: (VideoFallbackState | null)[] = [];
  at = 0;
  for (const subscription of openSubscriptions) {
    let audio: ConsumedTrack | null = null;
    let video: ConsumedTrack | null = null;
    for (const track of subscription.tracks) {
      if (track.source.kind === 'audio') audio ??= track;
      else video ??= track;
    }
    subscriptionRows[at++] = audio ? 1 : 0;
    subscriptionRows[at++] = video ? 1 : 0;
    subscriptionRows[at++] = audio?.bytesOut ?? 0;
    subscriptionRows[at++] = video?.bytesOut ?? 0;
    subscriptionRows[at++] = audio?.packetsOut ?? 0;
    subscriptionRows[at++] = video?.packetsOut ?? 0;
    subscriptionRows[at++] = audio?.retransmissions ?? 0;
    subscriptionRows[at++] = video?.retransmissions ?? 0;
    subscriptionRows[at++] = audio?.packetsLost ?? 0;
    subscriptionRows[at++] = video?.packetsLost ?? 0;
    subscriptionRows[at++] = audio?.fractionLost ?? 0;
    subscriptionRows[at++] = video?.fractionLost ?? 0;
    subscriptionRows[at++] = audio?.jitterMs ?? NaN;
    subscriptionRows[at++] = video?.jitterMs ?? NaN;
    subscriptionRows[at++] = audio?.rttMs ?? NaN;
    subscriptionRows[at++] = video?.rttMs ?? NaN;
    subscriptionRows[at++] = audio?.layerSwitches ?? 0;
    subscriptionRows[at++] = video?.layerSwitches ?? 0;
    subscriptionRows[at++] = subscription.keyframeRequests;
    subscriptionRows[at++] = subscription.estimatedBitrate ?? NaN;
    layers.push(video?.layer?.rid ?? null);
    targetLayers.push(video?.targetLayer?.rid ?? null);
    videoFallbacks.push(video?.fallback?.state ?? null);
  }
  return {
    publicationIds: openPublications.map((publication) => publication.id),
    publications: publicationRows,
    layerRids,
    publishedLayers: Float64Array.from(layerRows),
    subscriptionIds: openSubscriptions.map((subscription) => subscription.id),
    subscriptions: subscriptionRows,
    layers,
    targetLayers,
    videoFallbacks,
  };
}
