import type {
  InspectorRecord,
  InspectorSessionSummary,
  InspectorSource,
  InspectorValue,
} from '../store/InspectorRepository.js';

/** One record as the timeline shows it. */
export interface TimelineEntry {
  /** Unix milliseconds. */
  readonly at: number;
  readonly source: InspectorSource;
  readonly type: string;
  readonly connectionId: string | null;
  readonly streamId: string | null;
  readonly data: Readonly<Record<string, InspectorValue>>;
}

/** A connection's time in the session, as the server saw it. */
export interface ConnectionLane {
  readonly connectionId: string;
  readonly connectedAt: number;
  /** Null while connected (or when the server stopped before telling). */
  readonly disconnectedAt: number | null;
  readonly reason: string | null;
  /** The token's connection data. */
  readonly data: string;
  /** What its SDK said of itself at connect: browser, OS and the SDK's version. */
  readonly browser: string | null;
  readonly os: string | null;
  readonly sdkVersion: string | null;
  /** Its swim lanes' spans, oldest first. */
  readonly spans: readonly LaneSpan[];
}

/** The swim lanes of a connection. */
export type LaneKind =
  'connected' | 'publishing' | 'subscribing' | 'reconnecting' | 'audioFallback' | 'errors';

/**
 * A stretch of a connection's time in one lane: connected (the server's connectionCreated to
 * connectionDestroyed), publishing (a stream of its own, created to destroyed), subscribing (its
 * client's subscribe to the stream's end or its own), reconnecting (its client's reconnecting to
 * reconnected), audio fallback (video off for the link, to video back) and errors (a failed
 * attempt, or a media path lost under adaptive routing: an instant, `endAt` equals `startAt`).
 */
export interface LaneSpan {
  readonly lane: LaneKind;
  readonly streamId: string | null;
  readonly startAt: number;
  /** The session's last record when the span was still open then. */
  readonly endAt: number;
  readonly open: boolean;
  /**
   * Its connection's events within it about its stream (or, without one, about no stream), as
   * indexes into the timeline's `events`: each event is sent once however many spans it is in.
   */
  readonly eventIndexes: readonly number[];
}

/** A stream's time in the session, as the server saw it. */
export interface StreamLane {
  readonly streamId: string;
  readonly connectionId: string | null;
  readonly createdAt: number;
  readonly destroyedAt: number | null;
  readonly reason: string | null;
  readonly hasAudio: boolean;
  readonly hasVideo: boolean;
}

/** Something that went wrong, in words, with when and whom. */
export interface InspectorIssue {
  readonly at: number;
  readonly connectionId: string | null;
  readonly streamId: string | null;
  readonly kind:
    | 'failure'
    | 'lowQuality'
    | 'lossyLink'
    | 'relayedOverTcp'
    | 'reconnecting'
    | 'audioFallback'
    | 'mediaPath';
  readonly message: string;
}

/** A stretch of the session with somebody connected; a session reused over days has several. */
export interface Meeting {
  readonly startAt: number;
  /** When its last connection left (the session's last record while one is still there). */
  readonly endAt: number;
  readonly connectionIds: readonly string[];
  readonly streamIds: readonly string[];
}

/** What the Inspector shows of one session. */
export interface InspectorTimeline {
  readonly sessionId: string;
  readonly firstAt: number;
  readonly lastAt: number;
  readonly records: number;
  /** Records refused by the session's bounds or a connection's rate. */
  readonly dropped: number;
  readonly connections: readonly ConnectionLane[];
  readonly streams: readonly StreamLane[];
  /** Split at the gaps with nobody connected, oldest first. */
  readonly meetings: readonly Meeting[];
  /** Events of the clients and the server, oldest first. */
  readonly events: readonly TimelineEntry[];
  /** Quality samples of the clients' publishers and subscribers and of the router. */
  readonly quality: readonly TimelineEntry[];
  /** Quality score changes (1–4.5) of the clients' publishers and subscribers. */
  readonly scores: readonly TimelineEntry[];
  readonly issues: readonly InspectorIssue[];
}

/**
 * A score (OpenTok's integers: 1 bad, 2 poor, 3 fair, 4 good, 5 excellent) below this is below
 * Fair; an issue when it lasts at least `lowQualityMinMs`.
 */
export const lowQualityScore = 3;
export const lowQualityMinMs = 10_000;

/**
 * A subscriber whose reports to the router tell of this share of its audio lost or more (in
 * each 5 s sample) has a lossy link; an issue when it lasts at least `lowQualityMinMs`. Audio,
 * because nothing repairs it: its loss is the link's.
 */
export const lossyLinkRatio = 0.02;

/** What of a session's samples a timeline shows. */
export interface TimelineView {
  /**
   * About how many quality samples, and score changes, to show at most: past it each series
   * (source, type, connection and stream) is thinned by the same factor, evenly, its last entry
   * kept (and at least one of each): a long meeting's overview. Default: all.
   */
  readonly samples?: number;
}

/** Builds the timeline from a session's records (oldest first). */
export function timelineOf(
  summary: InspectorSessionSummary,
  records: readonly InspectorRecord[],
  view: TimelineView = {},
): InspectorTimeline {
  const entries = records.map(({ at, source, type, connectionId, streamId, data }): TimelineEntry => ({
    at,
    source,
    type,
    connectionId,
    streamId,
    data,
  }));
  const events = entries.filter((_, i) => records[i]?.kind === 'event');
  const quality = entries.filter((_, i) => records[i]?.kind === 'quality');
  const scores = entries.filter((_, i) => records[i]?.kind === 'score');
  const streams = streamLanes(events);
  const connections = connectionLanes(events).map((lane) => ({
    ...lane,
    spans: spansOf(lane, streams, events, summary.lastAt),
  }));
  return {
    sessionId: summary.sessionId,
    firstAt: summary.firstAt,
    lastAt: summary.lastAt,
    records: summary.records,
    dropped: summary.dropped,
    connections,
    streams,
    meetings: meetingsOf(connections, streams, summary.lastAt),
    events,
    quality: downsampled(quality, view.samples),
    scores: downsampled(scores, view.samples),
    issues: issuesOf(events, quality, scores, summary.lastAt),
  };
}

/** About `max` entries at most: each series thinned by the same factor, evenly, its last kept. */
function downsampled(entries: readonly TimelineEntry[], max = Infinity): readonly TimelineEntry[] {
  if (entries.length <= max) return entries;
  const series = new Map<string, TimelineEntry[]>();
  for (const entry of entries) {
    const key = `${entry.source} ${entry.type} ${entry.connectionId ?? ''} ${entry.streamId ?? ''}`;
    const list = series.get(key);
    if (list) list.push(entry);
    else series.set(key, [entry]);
  }
  const kept = new Set<TimelineEntry>();
  for (const list of series.values()) {
    const keep = Math.max(1, Math.round((list.length * max) / entries.length));
    for (let i = 0; i < keep; i++) {
      const entry = list[Math.round(((list.length - 1) * (i + 1)) / keep)];
      if (entry) kept.add(entry);
    }
  }
  return entries.filter((entry) => kept.has(entry));
}

const text = (value: InspectorValue | undefined): string | null => (typeof value === 'string' ? value : null);

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function connectionLanes(events: readonly TimelineEntry[]): Omit<ConnectionLane, 'spans'>[] {
  const lanes = new Map<string, Mutable<Omit<ConnectionLane, 'spans'>>>();
  for (const event of events) {
    const id = event.connectionId;
    if (id === null) continue;
    if (event.source === 'server' && event.type === 'connectionCreated') {
      lanes.set(id, {
        connectionId: id,
        connectedAt: event.at,
        disconnectedAt: null,
        reason: null,
        data: text(event.data.data) ?? '',
        browser: null,
        os: null,
        sdkVersion: null,
      });
    }
    const lane = lanes.get(id);
    if (!lane) continue;
    if (event.source === 'server' && event.type === 'connectionDestroyed') {
      lane.disconnectedAt = event.at;
      lane.reason = text(event.data.reason);
    }
    if (event.source === 'client' && event.type === 'connect') {
      lane.browser = text(event.data.browser);
      lane.os = text(event.data.os);
      lane.sdkVersion = text(event.data.sdkVersion);
    }
  }
  return [...lanes.values()];
}

function streamLanes(events: readonly TimelineEntry[]): StreamLane[] {
  const lanes = new Map<string, Mutable<StreamLane>>();
  for (const event of events) {
    const id = event.streamId;
    if (id === null || event.source !== 'server') continue;
    if (event.type === 'streamCreated') {
      lanes.set(id, {
        streamId: id,
        connectionId: event.connectionId,
        createdAt: event.at,
        destroyedAt: null,
        reason: null,
        hasAudio: event.data.hasAudio === true,
        hasVideo: event.data.hasVideo === true,
      });
    }
    const lane = lanes.get(id);
    if (lane && event.type === 'streamDestroyed') {
      lane.destroyedAt = event.at;
      lane.reason = text(event.data.reason);
    }
  }
  return [...lanes.values()];
}

/** Server events that say a connection lost a media path. */
const pathLost = new Set(['routerUnreachable', 'directPathFailed']);

function spansOf(
  lane: Omit<ConnectionLane, 'spans'>,
  streams: readonly StreamLane[],
  events: readonly TimelineEntry[],
  lastAt: number,
): LaneSpan[] {
  const own = events.flatMap((event, index) =>
    event.connectionId === lane.connectionId ? [{ event, index }] : [],
  );
  const spans: LaneSpan[] = [];
  const span = (kind: LaneKind, streamId: string | null, startAt: number, endAt: number | null): void => {
    const end = Math.max(startAt, endAt ?? lastAt);
    spans.push({
      lane: kind,
      streamId,
      startAt,
      endAt: end,
      open: endAt === null,
      eventIndexes: own
        .filter(({ event }) => event.at >= startAt && event.at <= end && event.streamId === streamId)
        .map(({ index }) => index),
    });
  };
  span('connected', null, lane.connectedAt, lane.disconnectedAt);
  for (const stream of streams.filter((s) => s.connectionId === lane.connectionId))
    span('publishing', stream.streamId, stream.createdAt, stream.destroyedAt);
  const opened = new Map<string, number>();
  const close = (key: string, kind: LaneKind, streamId: string | null, at: number | null): void => {
    const since = opened.get(key);
    if (since === undefined) return;
    opened.delete(key);
    span(kind, streamId, since, at);
  };
  for (const { event } of own) {
    const streamKey = event.streamId ?? '';
    if (event.data.ok === false || (event.source === 'server' && pathLost.has(event.type)))
      span('errors', event.streamId, event.at, event.at);
    if (event.source !== 'client') continue;
    if (event.type === 'subscribe' && event.data.ok === true && event.streamId !== null) {
      const stream = streams.find((s) => s.streamId === event.streamId);
      const ends = [stream?.destroyedAt, lane.disconnectedAt].filter((at) => typeof at === 'number');
      span('subscribing', event.streamId, event.at, ends.length > 0 ? Math.min(...ends) : null);
    }
    if (event.type === 'reconnecting' && !opened.has('reconnecting')) opened.set('reconnecting', event.at);
    if (event.type === 'reconnected') close('reconnecting', 'reconnecting', null, event.at);
    if (event.data.reason === 'quality') {
      const key = `fallback ${streamKey}`;
      if (event.type === 'videoDisabled' && !opened.has(key)) opened.set(key, event.at);
      if (event.type === 'videoEnabled') close(key, 'audioFallback', event.streamId, event.at);
    }
  }
  // Still open when the connection left (or at the session's last record).
  for (const key of [...opened.keys()]) {
    const streamId = key === 'reconnecting' ? null : key.slice('fallback '.length) || null;
    close(key, key === 'reconnecting' ? 'reconnecting' : 'audioFallback', streamId, lane.disconnectedAt);
  }
  return spans.sort((a, b) => a.startAt - b.startAt);
}

function meetingsOf(
  connections: readonly ConnectionLane[],
  streams: readonly StreamLane[],
  lastAt: number,
): Meeting[] {
  const meetings: { startAt: number; endAt: number; connectionIds: string[]; streamIds: string[] }[] = [];
  for (const lane of [...connections].sort((a, b) => a.connectedAt - b.connectedAt)) {
    const endAt = lane.disconnectedAt ?? lastAt;
    const current = meetings.at(-1);
    if (current && lane.connectedAt <= current.endAt) {
      current.endAt = Math.max(current.endAt, endAt);
      current.connectionIds.push(lane.connectionId);
    } else {
      meetings.push({ startAt: lane.connectedAt, endAt, connectionIds: [lane.connectionId], streamIds: [] });
    }
  }
  for (const stream of streams) {
    const meeting = meetings.find((m) => stream.createdAt >= m.startAt && stream.createdAt <= m.endAt);
    meeting?.streamIds.push(stream.streamId);
  }
  return meetings;
}

/**
 * What went wrong: a client's failed attempt (its event says `ok: false`), a reconnection, an
 * audio fallback episode (a subscriber's video off for its link), a publisher or subscriber
 * whose media went over TURN on TCP, a score below `lowQualityScore` for at least
 * `lowQualityMinMs`, a subscriber's audio loss at the router of `lossyLinkRatio` or more for as
 * long, and under adaptive routing a client that could not reach the router or
 * get a stream peer to peer.
 */
function issuesOf(
  events: readonly TimelineEntry[],
  quality: readonly TimelineEntry[],
  scores: readonly TimelineEntry[],
  lastAt: number,
): InspectorIssue[] {
  const issues: InspectorIssue[] = [];
  const issue = (entry: TimelineEntry, kind: InspectorIssue['kind'], message: string): void => {
    issues.push({ at: entry.at, connectionId: entry.connectionId, streamId: entry.streamId, kind, message });
  };
  const who = (entry: TimelineEntry): string =>
    entry.connectionId === null ? 'a client' : `connection ${entry.connectionId}`;
  const fallbackSince = new Map<string, TimelineEntry>();
  for (const event of events) {
    if (event.source === 'server' && event.type === 'routerUnreachable')
      issue(
        event,
        'mediaPath',
        `${who(event)} could not reach the Media Router: its media went peer to peer only`,
      );
    if (event.source === 'server' && event.type === 'directPathFailed')
      issue(
        event,
        'mediaPath',
        `${who(event)} got no media peer to peer: the session moved to the Media Router`,
      );
    if (event.source !== 'client') continue;
    if (event.data.ok === false) {
      const code = event.data.code ?? '';
      const reason = text(event.data.message) ?? '';
      issue(event, 'failure', `${who(event)}: ${event.type} failed ${code} ${reason}`.trim());
    }
    if (event.type === 'reconnecting')
      issue(event, 'reconnecting', `${who(event)} lost its link and reconnected`);
    const key = `${event.connectionId ?? ''} ${event.streamId ?? ''}`;
    if (event.type === 'videoDisabled' && event.data.reason === 'quality') fallbackSince.set(key, event);
    if (event.type === 'videoEnabled' && event.data.reason === 'quality') {
      const since = fallbackSince.get(key);
      fallbackSince.delete(key);
      if (since) {
        const seconds = Math.round((event.at - since.at) / 1000);
        issue(since, 'audioFallback', fallbackMessage(since, `for ${seconds} s`));
      }
    }
  }
  for (const since of fallbackSince.values())
    issue(since, 'audioFallback', fallbackMessage(since, 'from then on'));
  const tcpRelayed = new Set<string>();
  for (const sample of quality) {
    if (sample.source !== 'client' || sample.data.path !== 'relay/tcp') continue;
    const key = `${sample.type} ${sample.connectionId ?? ''} ${sample.streamId ?? ''}`;
    if (tcpRelayed.has(key)) continue;
    tcpRelayed.add(key);
    issue(
      sample,
      'relayedOverTcp',
      `${who(sample)}: its ${sample.type} reached the other end only over TURN/TCP`,
    );
  }
  issues.push(...lowScoreIssues(scores, lastAt), ...lossyLinkIssues(quality, lastAt));
  return issues.sort((a, b) => a.at - b.at);
}

/** A subscriber's fallback is its downlink's; a publisher's (its event says `publisher`), its uplink's. */
function fallbackMessage(since: TimelineEntry, howLong: string): string {
  const who = `connection ${since.connectionId ?? '?'}`;
  return since.data.publisher === true
    ? `${who} sent audio only ${howLong}: its uplink could not carry the video`
    : `${who} had audio only ${howLong}: its link could not carry the video`;
}

function lowScoreIssues(scores: readonly TimelineEntry[], lastAt: number): InspectorIssue[] {
  const issues: InspectorIssue[] = [];
  const lowSince = new Map<string, TimelineEntry>();
  const report = (since: TimelineEntry, until: number, media: string): void => {
    if (until - since.at < lowQualityMinMs) return;
    const seconds = Math.round((until - since.at) / 1000);
    issues.push({
      at: since.at,
      connectionId: since.connectionId,
      streamId: since.streamId,
      kind: 'lowQuality',
      message: `connection ${since.connectionId ?? '?'}: ${since.type} ${media} quality below Fair for ${seconds} s`,
    });
  };
  for (const score of scores) {
    for (const media of ['audio', 'video'] as const) {
      const value = score.data[media];
      if (typeof value !== 'number') continue;
      const key = `${media} ${score.type} ${score.connectionId ?? ''} ${score.streamId ?? ''}`;
      const since = lowSince.get(key);
      if (value < lowQualityScore && !since) lowSince.set(key, score);
      if (value >= lowQualityScore && since) {
        lowSince.delete(key);
        report(since, score.at, media);
      }
    }
  }
  for (const [key, since] of lowSince) report(since, lastAt, key.split(' ')[0] ?? '');
  return issues;
}

/**
 * Runs of router samples of a subscriber with its audio loss at `lossyLinkRatio` or more; loss
 * comes in bursts, so one sample below it does not end a run, two in a row do (at the first).
 */
function lossyLinkIssues(quality: readonly TimelineEntry[], lastAt: number): InspectorIssue[] {
  const issues: InspectorIssue[] = [];
  const runs = new Map<string, { samples: TimelineEntry[]; firstGood: TimelineEntry | null }>();
  const lossOf = (sample: TimelineEntry): number =>
    typeof sample.data.audioLoss === 'number' ? sample.data.audioLoss : 0;
  const report = (samples: readonly TimelineEntry[], until: number): void => {
    const [since] = samples;
    if (!since || until - since.at < lowQualityMinMs) return;
    const losses = samples.map(lossOf);
    const mean = losses.reduce((sum, loss) => sum + loss, 0) / losses.length;
    issues.push({
      at: since.at,
      connectionId: since.connectionId,
      streamId: since.streamId,
      kind: 'lossyLink',
      message:
        `connection ${since.connectionId ?? '?'}: its link lost ${(mean * 100).toFixed(1)} % of the audio ` +
        `(at most ${(Math.max(...losses) * 100).toFixed(1)} % in a 5 s sample) for ${Math.round((until - since.at) / 1000)} s`,
    });
  };
  const close = (run: { samples: TimelineEntry[]; firstGood: TimelineEntry | null }): void => {
    if (run.firstGood) report(run.samples.slice(0, -1), run.firstGood.at);
    else report(run.samples, lastAt);
  };
  for (const sample of quality) {
    if (sample.source !== 'router' || sample.type !== 'subscription') continue;
    const key = `${sample.connectionId ?? ''} ${sample.streamId ?? ''}`;
    const run = runs.get(key);
    if (lossOf(sample) >= lossyLinkRatio) {
      if (run) {
        run.samples.push(sample);
        run.firstGood = null;
      } else runs.set(key, { samples: [sample], firstGood: null });
    } else if (run && !run.firstGood) {
      run.samples.push(sample);
      run.firstGood = sample;
    } else if (run) {
      runs.delete(key);
      close(run);
    }
  }
  for (const run of runs.values()) close(run);
  return issues;
}
