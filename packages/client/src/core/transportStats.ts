import type { StatsEntries } from './uplinkReading.js';

/** How media reaches the other end: the kind of the selected candidate pair's ends and its transport. */
export interface MediaPath {
  /** The local candidate's type: `host`, `srflx`, `prflx` or `relay`. */
  readonly local: string;
  readonly remote: string;
  /** `udp` or `tcp`; for a relayed path, how this end reaches its TURN server. */
  readonly protocol: string;
}

/** A transport's counters at one read of its statistics, summed per kind. */
export interface StatsSnapshot {
  readonly atMs: number;
  readonly audioBytes: number;
  readonly audioPackets: number;
  readonly audioLost: number;
  readonly videoBytes: number;
  readonly videoPackets: number;
  readonly videoLost: number;
  /** Frames decoded (receiver) or encoded by the largest encoding (sender). */
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  /** Round trip of the selected pair, ms; null when not measured yet. */
  readonly rttMs: number | null;
  /** Interarrival jitter, ms (received audio, or what the receiver reports of the sent audio). */
  readonly jitterMs: number | null;
  /** Received audio's level, 0–1 (receivers only). */
  readonly audioLevel: number | null;
  readonly path: MediaPath | null;
  readonly iceState: string | null;
  readonly dtlsState: string | null;
}

/** What a transport carried between two snapshots. */
export interface StatsInterval {
  readonly audioBitrate: number;
  readonly videoBitrate: number;
  /** Lost over expected, 0–1. */
  readonly audioLoss: number;
  readonly videoLoss: number;
  readonly audioPacketsLost: number;
  readonly videoPacketsLost: number;
  readonly frameRate: number;
  readonly width: number;
  readonly height: number;
  readonly rttMs: number | null;
  readonly jitterMs: number | null;
  readonly audioLevel: number | null;
}

type Entry = Readonly<Record<string, unknown>>;

const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/** Reads a receiving (`inbound`) or sending transport's statistics. */
export function snapshotOf(report: StatsEntries, sending: boolean, atMs: number): StatsSnapshot {
  const byId = new Map<string, Entry>();
  report.forEach((entry: Entry) => {
    if (typeof entry.id === 'string') byId.set(entry.id, entry);
  });
  let audioBytes = 0;
  let audioPackets = 0;
  let audioLost = 0;
  let videoBytes = 0;
  let videoPackets = 0;
  let videoLost = 0;
  let frames = 0;
  let width = 0;
  let height = 0;
  let jitterMs: number | null = null;
  let audioLevel: number | null = null;
  let remoteRttMs: number | null = null;
  let transport: Entry | undefined;
  for (const entry of byId.values()) {
    const kind = entry.kind;
    if (entry.type === 'transport') transport = entry;
    if (entry.type === (sending ? 'outbound-rtp' : 'inbound-rtp')) {
      const bytes = num(sending ? entry.bytesSent : entry.bytesReceived);
      const packets = num(sending ? entry.packetsSent : entry.packetsReceived);
      if (kind === 'audio') {
        audioBytes += bytes;
        audioPackets += packets;
        if (!sending) {
          audioLost += num(entry.packetsLost);
          jitterMs = num(entry.jitter) * 1000;
          if (typeof entry.audioLevel === 'number') audioLevel = entry.audioLevel;
        }
      } else if (kind === 'video') {
        videoBytes += bytes;
        videoPackets += packets;
        const entryWidth = num(entry.frameWidth);
        // The largest encoding sent (a sender's simulcast layers) is the one measured.
        if (entryWidth >= width) {
          width = entryWidth;
          height = num(entry.frameHeight);
          frames = num(sending ? entry.framesEncoded : entry.framesDecoded);
        }
        if (!sending) videoLost += num(entry.packetsLost);
      }
    }
    if (sending && entry.type === 'remote-inbound-rtp') {
      if (kind === 'audio') {
        audioLost += num(entry.packetsLost);
        jitterMs = num(entry.jitter) * 1000;
      } else videoLost += num(entry.packetsLost);
      if (typeof entry.roundTripTime === 'number') remoteRttMs = entry.roundTripTime * 1000;
    }
  }
  const pairId =
    typeof transport?.selectedCandidatePairId === 'string' ? transport.selectedCandidatePairId : null;
  let pair = pairId === null ? undefined : byId.get(pairId);
  if (!pair) {
    for (const entry of byId.values()) {
      if (
        entry.type === 'candidate-pair' &&
        (entry.selected === true || entry.nominated === true) &&
        entry.state === 'succeeded'
      )
        pair = entry;
    }
  }
  const local = pair && byId.get(String(pair.localCandidateId));
  const remote = pair && byId.get(String(pair.remoteCandidateId));
  const pairRtt = typeof pair?.currentRoundTripTime === 'number' ? pair.currentRoundTripTime * 1000 : null;
  return {
    atMs,
    audioBytes,
    audioPackets,
    audioLost,
    videoBytes,
    videoPackets,
    videoLost,
    frames,
    width,
    height,
    rttMs: pairRtt ?? remoteRttMs,
    jitterMs,
    audioLevel,
    path:
      local && remote
        ? {
            local: String(local.candidateType),
            remote: String(remote.candidateType),
            protocol: String(
              local.candidateType === 'relay' && typeof local.relayProtocol === 'string'
                ? local.relayProtocol
                : local.protocol,
            ),
          }
        : null,
    iceState: typeof transport?.iceState === 'string' ? transport.iceState : null,
    dtlsState: typeof transport?.dtlsState === 'string' ? transport.dtlsState : null,
  };
}

/** What was carried from `from` to `to`; counters that went back (a renegotiation) count as zero. */
export function intervalBetween(from: StatsSnapshot, to: StatsSnapshot): StatsInterval {
  const seconds = Math.max(0.001, (to.atMs - from.atMs) / 1000);
  const delta = (a: number, b: number): number => Math.max(0, b - a);
  const loss = (lost: number, received: number): number =>
    lost + received > 0 ? lost / (lost + received) : 0;
  const audioPacketsLost = delta(from.audioLost, to.audioLost);
  const videoPacketsLost = delta(from.videoLost, to.videoLost);
  return {
    audioBitrate: Math.round((delta(from.audioBytes, to.audioBytes) * 8) / seconds),
    videoBitrate: Math.round((delta(from.videoBytes, to.videoBytes) * 8) / seconds),
    audioLoss: loss(audioPacketsLost, delta(from.audioPackets, to.audioPackets)),
    videoLoss: loss(videoPacketsLost, delta(from.videoPackets, to.videoPackets)),
    audioPacketsLost,
    videoPacketsLost,
    frameRate: Math.round((delta(from.frames, to.frames) / seconds) * 10) / 10,
    width: to.width,
    height: to.height,
    rttMs: to.rttMs === null ? null : Math.round(to.rttMs),
    jitterMs: to.jitterMs === null ? null : Math.round(to.jitterMs * 10) / 10,
    audioLevel: to.audioLevel,
  };
}

/** How a path is named in the Inspector: `relay/tcp`, `srflx/udp`… by the less direct end. */
export function pathName(path: MediaPath): string {
  const rank = ['host', 'prflx', 'srflx', 'relay'];
  const kind = rank.indexOf(path.remote) > rank.indexOf(path.local) ? path.remote : path.local;
  return `${kind}/${path.protocol}`;
}
