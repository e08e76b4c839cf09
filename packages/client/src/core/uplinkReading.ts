/** What one sending peer connection tells of the uplink between two reads of its statistics. */
export interface UplinkReading {
  /**
   * The browser's estimate of what the connection can send (its selected candidate pair's
   * `availableOutgoingBitrate`), bits/s; null when it gives none.
   */
  readonly availableBitrate: number | null;
  /**
   * Whether the estimate is higher than it was at its lowest over the last `estimateWindowMs`:
   * recovering, not settled low.
   */
  readonly estimateRising: boolean;
  /**
   * Whether the estimate follows delay (the connection gets transport-wide feedback, as peer to
   * peer): it falls within a second of a narrowing. Without, Chromium's estimate is loss-based
   * and only echoes, seconds late, the loss the reports tell.
   */
  readonly delayBasedEstimate: boolean;
  /**
   * The highest loss (0–1) that the receiver reports which came since the last read tell
   * (`remote-inbound-rtp` `fractionLost`), per kind; null when no new report came. The reports of
   * a video encoding that resumed less than `resumeGraceMs` ago are left out: they count the
   * packets the link lost just before it paused, which the receiver learns of only now.
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
  /** Per video `outbound-rtp` entry, since when it has been sending (again), ms. */
  readonly sendingSince: ReadonlyMap<string, number>;
  /** The estimates of the last `estimateWindowMs`, oldest first. */
  readonly estimates: readonly { readonly atMs: number; readonly bitrate: number }[];
  readonly videoBytesSent: number;
}

/** How a connection's statistics are read. */
export interface UplinkReadingOptions {
  /** See `UplinkReading.delayBasedEstimate`. */
  readonly delayBasedEstimate: boolean;
}

/** A resumed encoding's reports in the first this long tell the loss of before it paused, ms. */
export const resumeGraceMs = 1000;
/** The estimate is rising when above its lowest over this long, ms. */
export const estimateWindowMs = 2000;

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
  options: UplinkReadingOptions = { delayBasedEstimate: true },
): { reading: UplinkReading; sample: UplinkSample } {
  const entries: Entry[] = [];
  report.forEach((entry: Entry) => {
    entries.push(entry);
  });
  const sendingSince = videoSendingSince(entries, previous, nowMs);
  const reports = new Map<string, number>();
  const loss: { audio: number | null; video: number | null } = { audio: null, video: null };
  for (const entry of entries) {
    if (entry.type !== 'remote-inbound-rtp' || typeof entry.id !== 'string') continue;
    // Chromium counts reports only through the round-trip times they measure.
    const count = entry.reportsReceived ?? entry.roundTripTimeMeasurements;
    if (typeof count === 'number') reports.set(entry.id, count);
    const fresh = typeof count !== 'number' || previous?.reports.get(entry.id) !== count;
    if (!fresh) continue;
    const kind = entry.kind === 'audio' ? 'audio' : 'video';
    const since = typeof entry.localId === 'string' ? sendingSince.get(entry.localId) : undefined;
    if (kind === 'video' && since !== undefined && nowMs - since < resumeGraceMs) continue;
    const fractionLost = entry.fractionLost;
    if (typeof fractionLost === 'number') loss[kind] = Math.max(loss[kind] ?? 0, fractionLost);
  }
  const videoBytesSent = entries.reduce(
    (sum, entry) =>
      entry.type === 'outbound-rtp' && entry.kind === 'video' ? sum + numberOr(entry.bytesSent, 0) : sum,
    0,
  );
  const seconds = previous ? (nowMs - previous.atMs) / 1000 : 0;
  const sentBits = previous ? (videoBytesSent - previous.videoBytesSent) * 8 : 0;
  const bitrate = availableBitrate(entries);
  const estimates = (previous?.estimates ?? []).filter(({ atMs }) => nowMs - atMs <= estimateWindowMs);
  const lowest = Math.min(...estimates.map((estimate) => estimate.bitrate));
  if (bitrate !== null) estimates.push({ atMs: nowMs, bitrate });
  return {
    reading: {
      availableBitrate: bitrate,
      estimateRising: bitrate !== null && bitrate > lowest,
      delayBasedEstimate: options.delayBasedEstimate,
      audioLoss: loss.audio,
      videoLoss: loss.video,
      videoBitrate: seconds > 0 ? Math.max(0, Math.round(sentBits / seconds)) : 0,
    },
    sample: { atMs: nowMs, reports, sendingSince, estimates, videoBytesSent },
  };
}

/**
 * Since when each video encoding has been sending: since this read while it is paused (`active`
 * false), else as before; one first seen now started between the two reads, or long ago at the
 * first read, which no report precedes.
 */
function videoSendingSince(
  entries: readonly Entry[],
  previous: UplinkSample | null,
  nowMs: number,
): Map<string, number> {
  const sendingSince = new Map<string, number>();
  for (const entry of entries) {
    if (entry.type !== 'outbound-rtp' || entry.kind !== 'video' || typeof entry.id !== 'string') continue;
    const since =
      entry.active === false
        ? nowMs
        : (previous?.sendingSince.get(entry.id) ?? previous?.atMs ?? nowMs - resumeGraceMs);
    sendingSince.set(entry.id, since);
  }
  return sendingSince;
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
