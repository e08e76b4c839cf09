/** What one sending peer connection tells of the uplink between two reads of its statistics. */
export interface UplinkReading {
  /**
   * The browser's estimate of what the connection can send (its selected candidate pair's
   * `availableOutgoingBitrate`), bits/s; null when it gives none.
   */
  readonly availableBitrate: number | null;
  /**
   * The highest loss (0–1) that the receiver reports which came since the last read tell
   * (`remote-inbound-rtp` `fractionLost`), per kind; null when no new report came.
   */
  readonly audioLoss: number | null;
  readonly videoLoss: number | null;
  /** Video sent since the last read, over every encoding, bits/s. */
  readonly videoBitrate: number;
}

/** What a read keeps to compare the next one with. */
export interface UplinkSample {
  /** When it was read, ms. */
  readonly atMs: number;
  /** Per `remote-inbound-rtp` entry, how many receiver reports it had counted, when the browser says. */
  readonly reports: ReadonlyMap<string, number>;
  readonly videoBytesSent: number;
}

/** The entries of a statistics report, as `RTCPeerConnection.getStats()` gives them. */
export type StatsEntries = Pick<RTCStatsReport, 'forEach'>;

type Entry = Readonly<Record<string, unknown>>;

/**
 * Reads the uplink from a sending connection's statistics, against the previous read of the same
 * connection (null for the first). A receiver report counts once: the browser keeps showing the
 * last one's loss until the next comes, and a paused encoding's report may be seconds old. A
 * browser that counts no reports has each read as new.
 */
export function readUplink(
  report: StatsEntries,
  previous: UplinkSample | null,
  nowMs: number,
): { reading: UplinkReading; sample: UplinkSample } {
  const entries: Entry[] = [];
  report.forEach((entry: Entry) => {
    entries.push(entry);
  });
  const reports = new Map<string, number>();
  const loss: { audio: number | null; video: number | null } = { audio: null, video: null };
  let videoBytesSent = 0;
  for (const entry of entries) {
    if (entry.type === 'outbound-rtp' && entry.kind === 'video') {
      videoBytesSent += numberOr(entry.bytesSent, 0);
    } else if (entry.type === 'remote-inbound-rtp' && typeof entry.id === 'string') {
      // Chromium counts reports only through the round-trip times they measure.
      const count = entry.reportsReceived ?? entry.roundTripTimeMeasurements;
      if (typeof count === 'number') reports.set(entry.id, count);
      const kind = entry.kind === 'audio' ? 'audio' : 'video';
      const fractionLost = entry.fractionLost;
      const fresh = typeof count !== 'number' || previous?.reports.get(entry.id) !== count;
      if (typeof fractionLost === 'number' && fresh) loss[kind] = Math.max(loss[kind] ?? 0, fractionLost);
    }
  }
  const seconds = previous ? (nowMs - previous.atMs) / 1000 : 0;
  const sentBits = previous ? (videoBytesSent - previous.videoBytesSent) * 8 : 0;
  return {
    reading: {
      availableBitrate: availableBitrate(entries),
      audioLoss: loss.audio,
      videoLoss: loss.video,
      videoBitrate: seconds > 0 ? Math.max(0, Math.round(sentBits / seconds)) : 0,
    },
    sample: { atMs: nowMs, reports, videoBytesSent },
  };
}

/** The selected candidate pair's estimate; without a transport entry, any pair's that has one. */
function availableBitrate(entries: readonly Entry[]): number | null {
  const transport = entries.find((entry) => entry.type === 'transport');
  const selected = entries.find(
    (entry) => entry.type === 'candidate-pair' && entry.id === transport?.selectedCandidatePairId,
  );
  const pair =
    selected ??
    entries.find(
      (entry) => entry.type === 'candidate-pair' && typeof entry.availableOutgoingBitrate === 'number',
    );
  const bitrate = pair?.availableOutgoingBitrate;
  return typeof bitrate === 'number' ? bitrate : null;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}
