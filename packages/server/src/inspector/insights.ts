import {
  buildSchema,
  execute,
  GraphQLError,
  parse,
  validate,
  type DocumentNode,
  type ExecutionResult,
} from 'graphql';
import type { InspectorValue } from '../store/InspectorRepository.js';
import type { InspectorTimeline, Meeting, TimelineEntry, TimelineView } from './timeline.js';

/**
 * The session-data path of Vonage's Insights API, answered from the Inspector's records:
 * `project → sessionData → sessions → meetings → publishers/subscribers → streamStatsCollection`.
 * Stream stats are the clients' own quality samples (every 30 s per publisher and subscriber),
 * the same figures as the JSON timeline's `quality`, bitrates in kbit/s and times as ISO dates.
 */
const schema = buildSchema(`
  type Query {
    "The project authenticated by the request's credentials; null for any other."
    project(projectId: String!): Project
  }
  type Project {
    projectId: String!
    sessionData: SessionData!
  }
  type SessionData {
    """
    The sessions of these IDs the Inspector has records of (at most 10 a query). Parlor's
    samples: about how many stream stats each session gives at most, each series thinned alike.
    """
    sessions(sessionIds: [String!]!, samples: Int): SessionCollection!
  }
  type SessionCollection {
    totalCount: Int!
    resources: [Session!]!
  }
  type Session {
    sessionId: String!
    publisherMinutes: Float!
    meetings: MeetingCollection!
  }
  type MeetingCollection {
    totalCount: Int!
    resources: [Meeting!]!
  }
  "A stretch of the session with somebody connected."
  type Meeting {
    meetingId: String!
    createdAt: String!
    destroyedAt: String
    publisherMinutes: Float!
    maxConcurrentConnections: Int!
    publishers: PublisherCollection!
    subscribers: SubscriberCollection!
  }
  type PublisherCollection {
    totalCount: Int!
    resources: [Publisher!]!
  }
  type SubscriberCollection {
    totalCount: Int!
    resources: [Subscriber!]!
  }
  type Publisher {
    createdAt: String!
    destroyedAt: String
    connectionId: String
    stream: Stream!
    streamStatsCollection: StreamStatsCollection!
  }
  type Subscriber {
    "When its first record came."
    createdAt: String!
    "The subscribing connection."
    connectionId: String!
    stream: Stream!
    streamStatsCollection: StreamStatsCollection!
  }
  type Stream {
    streamId: String!
    hasAudio: Boolean
    hasVideo: Boolean
  }
  type StreamStatsCollection {
    totalCount: Int!
    resources: [StreamStats!]!
  }
  "One quality sample of the client: figures over the 30 s before createdAt."
  type StreamStats {
    createdAt: String!
    "Round trip, in ms."
    audioLatency: Float
    audioBitrateKbps: Float
    "Packets lost, as a fraction of those sent."
    audioPacketLoss: Float
    videoLatency: Float
    videoBitrateKbps: Float
    videoPacketLoss: Float
    "Width x height, e.g. 640x480."
    videoResolution: String
    videoFrameRate: Float
  }
`);

/** Sessions one query may name. */
export const maxInsightsSessions = 10;
/** Tokens a query may have: a query of the whole path with every field is about 150. */
const maxTokens = 2000;

export interface InsightsRequest {
  readonly query: string;
  readonly variables?: Readonly<Record<string, unknown>> | null;
  readonly operationName?: string | null;
}

export interface InsightsContext {
  /** The project the request authenticated as. */
  readonly apiKey: string;
  /** A session's timeline, or null when the Inspector has nothing of it for that project. */
  readonly timeline: (sessionId: string, view: TimelineView) => Promise<InspectorTimeline | null>;
}

/** Runs an Insights query; errors (syntax, validation, limits) come back in `errors`, as GraphQL answers. */
export async function runInsightsQuery(
  request: InsightsRequest,
  context: InsightsContext,
): Promise<ExecutionResult> {
  let document: DocumentNode;
  try {
    document = parse(request.query, { maxTokens });
  } catch (error) {
    return { errors: [error instanceof GraphQLError ? error : new GraphQLError(String(error))] };
  }
  const invalid = validate(schema, document);
  if (invalid.length > 0) return { errors: invalid };
  return execute({
    schema,
    document,
    rootValue: rootOf(context),
    variableValues: request.variables ?? undefined,
    operationName: request.operationName ?? undefined,
  });
}

/**
 * The resolvers: plain objects whose functions take a field's arguments. The bound on session IDs
 * holds for the whole query: aliases could otherwise name `sessions` a hundred times in one.
 */
function rootOf(context: InsightsContext): object {
  let named = 0;
  return {
    project: ({ projectId }: { projectId: string }) =>
      projectId === context.apiKey
        ? {
            projectId,
            sessionData: {
              sessions: async ({
                sessionIds,
                samples,
              }: {
                sessionIds: readonly string[];
                samples?: number | null;
              }) => {
                const unique = [...new Set(sessionIds)];
                named += unique.length;
                if (named > maxInsightsSessions)
                  throw new GraphQLError(`at most ${maxInsightsSessions} session IDs a query`);
                if (typeof samples === 'number' && samples < 1)
                  throw new GraphQLError('samples must be 1 or more');
                const view = typeof samples === 'number' ? { samples } : {};
                const timelines = await Promise.all(unique.map((id) => context.timeline(id, view)));
                const resources = timelines.filter((t) => t !== null).map(sessionOf);
                return { totalCount: resources.length, resources };
              },
            },
          }
        : null,
  };
}

const iso = (at: number): string => new Date(at).toISOString();
const collection = <T>(resources: T[]): { totalCount: number; resources: T[] } => ({
  totalCount: resources.length,
  resources,
});
const minutes = (ms: number): number => Math.round(ms / 600) / 100;

function sessionOf(timeline: InspectorTimeline): object {
  const meetings = timeline.meetings.map((meeting) => meetingOf(timeline, meeting));
  return {
    sessionId: timeline.sessionId,
    publisherMinutes: Math.round(meetings.reduce((sum, m) => sum + m.publisherMinutes, 0) * 100) / 100,
    meetings: collection(meetings),
  };
}

function meetingOf(
  timeline: InspectorTimeline,
  meeting: Meeting,
): { readonly publisherMinutes: number; readonly [field: string]: unknown } {
  const during = (entry: TimelineEntry): boolean => entry.at >= meeting.startAt && entry.at <= meeting.endAt;
  const samples = timeline.quality.filter((entry) => entry.source === 'client' && during(entry));
  const streams = timeline.streams.filter((stream) => meeting.streamIds.includes(stream.streamId));
  const publishers = streams.map((stream) => ({
    createdAt: iso(stream.createdAt),
    destroyedAt: stream.destroyedAt === null ? null : iso(stream.destroyedAt),
    connectionId: stream.connectionId,
    stream: { streamId: stream.streamId, hasAudio: stream.hasAudio, hasVideo: stream.hasVideo },
    streamStatsCollection: statsOf(
      samples.filter((entry) => entry.type === 'publisher' && entry.streamId === stream.streamId),
    ),
  }));
  const subscribers = new Map<
    string,
    { at: number; connectionId: string; streamId: string; stats: TimelineEntry[] }
  >();
  const subscriberOf = (entry: TimelineEntry): TimelineEntry[] | null => {
    if (entry.connectionId === null || entry.streamId === null) return null;
    const key = `${entry.connectionId} ${entry.streamId}`;
    let subscriber = subscribers.get(key);
    if (!subscriber) {
      subscriber = { at: entry.at, connectionId: entry.connectionId, streamId: entry.streamId, stats: [] };
      subscribers.set(key, subscriber);
    }
    return subscriber.stats;
  };
  for (const event of timeline.events)
    if (event.source === 'client' && event.type === 'subscribe' && event.data.ok === true && during(event))
      subscriberOf(event);
  for (const sample of samples) if (sample.type === 'subscriber') subscriberOf(sample)?.push(sample);
  const streamOf = (streamId: string): object => {
    const stream = timeline.streams.find((s) => s.streamId === streamId);
    return { streamId, hasAudio: stream?.hasAudio ?? null, hasVideo: stream?.hasVideo ?? null };
  };
  return {
    meetingId: `${timeline.sessionId}:${meeting.startAt}`,
    createdAt: iso(meeting.startAt),
    destroyedAt: timeline.connections.some(
      (c) => meeting.connectionIds.includes(c.connectionId) && c.disconnectedAt === null,
    )
      ? null
      : iso(meeting.endAt),
    publisherMinutes: minutes(
      streams.reduce((sum, stream) => sum + (stream.destroyedAt ?? meeting.endAt) - stream.createdAt, 0),
    ),
    maxConcurrentConnections: peakOf(timeline, meeting),
    publishers: collection(publishers),
    subscribers: collection(
      [...subscribers.values()].map((subscriber) => ({
        createdAt: iso(subscriber.at),
        connectionId: subscriber.connectionId,
        stream: streamOf(subscriber.streamId),
        streamStatsCollection: statsOf(subscriber.stats),
      })),
    ),
  };
}

/** The most connections at once in the meeting. */
function peakOf(timeline: InspectorTimeline, meeting: Meeting): number {
  const changes: [number, number][] = [];
  for (const lane of timeline.connections) {
    if (!meeting.connectionIds.includes(lane.connectionId)) continue;
    changes.push([lane.connectedAt, 1], [lane.disconnectedAt ?? Infinity, -1]);
  }
  changes.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, change] of changes) {
    now += change;
    peak = Math.max(peak, now);
  }
  return peak;
}

const figure = (value: InspectorValue | undefined): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;

function statsOf(samples: readonly TimelineEntry[]): object {
  return collection(
    samples.map(({ at, data }) => {
      const kbps = (value: InspectorValue | undefined): number | null => {
        const bits = figure(value);
        return bits === null ? null : bits / 1000;
      };
      const width = figure(data.width);
      const height = figure(data.height);
      return {
        createdAt: iso(at),
        audioLatency: figure(data.rttMs),
        audioBitrateKbps: kbps(data.audioBitrate),
        audioPacketLoss: figure(data.audioLoss),
        videoLatency: figure(data.rttMs),
        videoBitrateKbps: kbps(data.videoBitrate),
        videoPacketLoss: figure(data.videoLoss),
        videoResolution: width && height ? `${width}x${height}` : null,
        videoFrameRate: figure(data.frameRate),
      };
    }),
  );
}
