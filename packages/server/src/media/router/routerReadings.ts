import type { Publication, PublishedLayer, PublishedTrack } from './Publication.js';
import type { ConsumedTrack, Subscription } from './Subscription.js';
import type { VideoFallbackState } from './VideoFallback.js';

/** A publication's figures in a reading's row, in this order. */
export const publicationFields = [
  'audioBytes',
  'videoBytes',
  /** Summed over the video's layers: gaps the router saw, NACKs it sent, resends in time, PLIs. */
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

/** A subscription's figures in a reading's row, in this order; NaN where a figure is unknown. */
export const subscriptionFields = [
  'audioBytes',
  'videoBytes',
  'audioPackets',
  'videoPackets',
  /** What the subscriber's receiver reports say it lost, per kind. */
  'audioLost',
  'videoLost',
  'retransmissions',
  'keyframeRequests',
  /** The larger of its tracks' shares lost in their last report intervals, 0–1. */
  'fractionLost',
  /** The audio's, else the video's. */
  'jitterMs',
  /** The video's, else the audio's; NaN before a report told. */
  'rttMs',
  /** NaN until known. */
  'estimatedBitrate',
] as const;

/**
 * A router's counters for sampling (the Inspector's, every few seconds): numbers in flat rows
 * and a few strings, which the forwarding thread reads and posts in a fraction of what
 * `MediaRouter.stats()`'s objects cost (a meeting of 50's 2,450 subscriptions: about 1–4 ms
 * and 0.35 MB against 6–16 ms and 1.5 MB). Counters are as of each subscription's last tick.
 */
export interface RouterReadings {
  readonly publicationIds: readonly string[];
  /** `publicationFields.length` figures per publication, in `publicationIds`' order. */
  readonly publications: Float64Array;
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
  let at = 0;
  for (const publication of openPublications) {
    let audio: PublishedTrack | null = null;
    let video: PublishedTrack | null = null;
    for (const track of publication.tracks) {
      if (track.kind === 'audio') audio ??= track;
      else video ??= track;
    }
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
  }
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
    subscriptionRows[at++] = audio?.bytesOut ?? 0;
    subscriptionRows[at++] = video?.bytesOut ?? 0;
    subscriptionRows[at++] = audio?.packetsOut ?? 0;
    subscriptionRows[at++] = video?.packetsOut ?? 0;
    subscriptionRows[at++] = audio?.packetsLost ?? 0;
    subscriptionRows[at++] = video?.packetsLost ?? 0;
    subscriptionRows[at++] = (audio?.retransmissions ?? 0) + (video?.retransmissions ?? 0);
    subscriptionRows[at++] = subscription.keyframeRequests;
    subscriptionRows[at++] = Math.max(audio?.fractionLost ?? 0, video?.fractionLost ?? 0);
    subscriptionRows[at++] = audio?.jitterMs ?? video?.jitterMs ?? NaN;
    subscriptionRows[at++] = video?.rttMs ?? audio?.rttMs ?? NaN;
    subscriptionRows[at++] = subscription.estimatedBitrate ?? NaN;
    layers.push(video?.layer?.rid ?? null);
    targetLayers.push(video?.targetLayer?.rid ?? null);
    videoFallbacks.push(video?.fallback?.state ?? null);
  }
  return {
    publicationIds: openPublications.map((publication) => publication.id),
    publications: publicationRows,
    subscriptionIds: openSubscriptions.map((subscription) => subscription.id),
    subscriptions: subscriptionRows,
    layers,
    targetLayers,
    videoFallbacks,
  };
}
