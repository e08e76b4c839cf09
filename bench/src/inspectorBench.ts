import jwt from 'jsonwebtoken';
import { OpenTok } from '@parlor/server-sdk';
import type { TelemetryRecord } from '@parlor/protocol';
import { SignalingTestClient, startTestServer } from '@parlor/server/testing';
import { ServerProcess } from './serverProcess.js';

export interface InspectorIngestFigures {
  readonly connections: number;
  readonly sessions: number;
  readonly seconds: number;
  /** Server CPU per connection per minute, with telemetry and with the same clients silent. */
  readonly cpuMsPerConnectionMinute: number;
  readonly idleCpuMsPerConnectionMinute: number;
  /** Telemetry requests' JSON, as the clients sent it, per connection per minute. */
  readonly wireBytesPerConnectionMinute: number;
  /** What the store counts (records' data and type), per connection per minute. */
  readonly storedBytesPerConnectionMinute: number;
  readonly storedRecordsPerConnectionMinute: number;
  /** Records dropped by the rate or the bounds (none expected). */
  readonly dropped: number;
}

export interface InspectorQueryFigures {
  readonly streams: number;
  readonly hours: number;
  readonly records: number;
  /** `GET …/session/:id/inspector`, the whole timeline: over `runs` runs. */
  readonly jsonMs: { readonly p50: number; readonly max: number };
  readonly jsonBytes: number;
  /** The Insights GraphQL query of every publisher's and subscriber's stream stats. */
  readonly graphqlMs: { readonly p50: number; readonly max: number };
  /** The same two asking for about `overviewSamples` samples (the page's overview). */
  readonly overviewSamples: number;
  readonly overviewJsonMs: { readonly p50: number; readonly max: number };
  readonly overviewJsonBytes: number;
  readonly overviewGraphqlMs: { readonly p50: number; readonly max: number };
  readonly runs: number;
}

export interface InspectorBenchResult {
  readonly ingest: InspectorIngestFigures;
  readonly query: InspectorQueryFigures;
}

const sessions = 50;
const perSession = 10;
const silentSeconds = 20;
const loadSeconds = 60;
/** Each client's batch every 6 s: as a routed call's SDK (1 publisher and 9 subscriber peer connections) sends in 30 s, 10 quality samples and 10 score changes. */
const batchIntervalMs = 6000;

/**
 * The Inspector's cost: ingest by 500 connections (50 routed-like sessions of 10, the built
 * server on core 0, the clients here) sending what the SDK sends, CPU and bytes per connection
 * per minute beside the same clients silent; and the query of a 4-hour meeting of 50 streams
 * at its session bound (50,000 records), through a server in this process.
 */
export async function runInspectorBench(): Promise<InspectorBenchResult> {
  return { ingest: await ingest(), query: await query() };
}

async function ingest(): Promise<InspectorIngestFigures> {
  const server = await ServerProcess.start({ core: 0 });
  const clients: { client: SignalingTestClient; streamId: string }[] = [];
  try {
    const sdk = new OpenTok(server.apiKey, server.apiSecret, { apiUrl: server.url });
    const sessionIds: string[] = [];
    for (let s = 0; s < sessions; s++)
      sessionIds.push((await sdk.createSession({ mediaMode: 'routed' })).sessionId);
    for (const sessionId of sessionIds) {
      const joined = await Promise.all(
        Array.from({ length: perSession }, () =>
          SignalingTestClient.connect(server.url, sessionId, sdk.generateToken(sessionId), {
            timeoutMs: 30_000,
          }),
        ),
      );
      for (const client of joined) {
        // Streams without media: their creation is recorded, and samples name them.
        const { stream } = await client.request('publish', { name: 'cam', hasAudio: true, hasVideo: true });
        clients.push({ client, streamId: stream.streamId });
      }
    }
    const idleBefore = server.cpuSeconds();
    await sleep(silentSeconds * 1000);
    const idleCpu = server.cpuSeconds() - idleBefore;

    let wireBytes = 0;
    let tick = 0;
    const before = server.cpuSeconds();
    const started = Date.now();
    while (Date.now() - started < loadSeconds * 1000) {
      const tickAt = Date.now();
      await Promise.all(
        clients.map(({ client, streamId }, index) => {
          const peerStream =
            clients[(index + 1 + (tick % (perSession - 1))) % clients.length]?.streamId ?? streamId;
          const records = [
            sample('publisher', streamId, tick),
            sample('subscriber', peerStream, tick),
            score('publisher', streamId, tick),
            score('subscriber', peerStream, tick),
          ];
          wireBytes += JSON.stringify({ records }).length;
          return client.request('telemetry', { records });
        }),
      );
      tick++;
      await sleep(Math.max(0, batchIntervalMs - (Date.now() - tickAt)));
    }
    const seconds = (Date.now() - started) / 1000;
    const cpu = server.cpuSeconds() - before;
    await sleep(1000);
    const now = Math.floor(Date.now() / 1000);
    const auth = jwt.sign({ iss: server.apiKey, ist: 'project', iat: now, exp: now + 300 }, server.apiSecret);
    const listed = (await (
      await fetch(`${server.url}/v2/project/${server.apiKey}/inspector/sessions?count=1000`, {
        headers: { 'X-OPENTOK-AUTH': auth },
      })
    ).json()) as { items: { records: number; bytes: number; dropped: number }[] };
    const connections = clients.length;
    const perConnectionMinute = (total: number, span: number): number => total / connections / (span / 60);
    // The silent phase's records (connections and streams) are counted in the store's totals: they are few.
    const stored = listed.items.reduce(
      (sum, item) => ({
        records: sum.records + item.records,
        bytes: sum.bytes + item.bytes,
        dropped: sum.dropped + item.dropped,
      }),
      { records: 0, bytes: 0, dropped: 0 },
    );
    return {
      connections,
      sessions,
      seconds,
      cpuMsPerConnectionMinute: perConnectionMinute(cpu * 1000, seconds),
      idleCpuMsPerConnectionMinute: perConnectionMinute(idleCpu * 1000, silentSeconds),
      wireBytesPerConnectionMinute: perConnectionMinute(wireBytes, seconds),
      storedBytesPerConnectionMinute: perConnectionMinute(stored.bytes, seconds),
      storedRecordsPerConnectionMinute: perConnectionMinute(stored.records, seconds),
      dropped: stored.dropped,
    };
  } finally {
    await Promise.all(clients.map(({ client }) => client.close().catch(() => undefined)));
    await server.stop();
  }
}

/** A client's quality sample, with the figures the SDK sends. */
function sample(type: 'publisher' | 'subscriber', streamId: string, tick: number): TelemetryRecord {
  return {
    ageMs: 0,
    kind: 'quality',
    type,
    streamId,
    data: {
      audioBitrate: 31_000 + tick,
      videoBitrate: 640_000 + tick * 10,
      audioLoss: 0.01,
      videoLoss: 0.02,
      audioPacketsLost: 3,
      videoPacketsLost: 12,
      frameRate: 29.5,
      width: 640,
      height: 360,
      rttMs: 42,
      jitterMs: 6,
      audioLevel: 0.12,
      audioMos: 4.3,
      videoMos: 4.1,
      path: 'host/udp',
      peer: 'router',
    },
  };
}

function score(type: 'publisher' | 'subscriber', streamId: string, tick: number): TelemetryRecord {
  return {
    ageMs: 0,
    kind: 'score',
    type,
    streamId,
    data: { audio: 4 + (tick % 2), video: 4, audioMos: 4.3, videoMos: 4.1 },
  };
}

const queryStreams = 50;
const queryHours = 4;
const queryRuns = 5;
/** What the Inspector page asks for (`?samples=`). */
const overviewSamples = 10_000;

async function query(): Promise<InspectorQueryFigures> {
  const parlor = await startTestServer();
  try {
    const sessionId = await parlor.createSession({ mediaMode: 'routed' });
    const start = Date.now() - queryHours * 3_600_000;
    const end = Date.now();
    const connectionIds = Array.from({ length: queryStreams }, (_, i) => `connection-${i}`);
    const streamIds = Array.from({ length: queryStreams }, (_, i) => `stream-${i}`);
    type Added = Parameters<typeof parlor.server.inspector.add>[2][number];
    const event = (at: number, type: string, i: number, data: Added['data']): Added => ({
      at,
      source: 'server',
      kind: 'event',
      type,
      connectionId: connectionIds[i] ?? null,
      streamId: type.startsWith('stream') ? (streamIds[i] ?? null) : null,
      data,
    });
    const opening: Added[] = [];
    for (let i = 0; i < queryStreams; i++) {
      opening.push(event(start + i * 100, 'connectionCreated', i, { data: `user ${i}` }));
      opening.push(event(start + i * 100 + 50, 'streamCreated', i, { hasAudio: true, hasVideo: true }));
    }
    parlor.server.inspector.add(sessionId, parlor.apiKey, opening);
    // Every 30 s each connection samples its publisher and one of its subscribers (in turn):
    // 2 × 50 × 480 = 48,000 records, with the events and score changes within the 50,000 bound.
    for (let at = start + 30_000, tick = 0; at < end - 60_000; at += 30_000, tick++) {
      const batch: Added[] = [];
      for (let i = 0; i < queryStreams; i++) {
        const peer = (i + 1 + (tick % (queryStreams - 1))) % queryStreams;
        for (const [type, streamId] of [
          ['publisher', streamIds[i]],
          ['subscriber', streamIds[peer]],
        ] as const) {
          const { data } = sample(type, streamId ?? '', tick);
          batch.push({
            at,
            source: 'client',
            kind: 'quality',
            type,
            connectionId: connectionIds[i] ?? null,
            streamId: streamId ?? null,
            data,
          });
        }
      }
      if (tick % 60 === 0)
        for (let i = 0; i < queryStreams; i++)
          batch.push({
            at,
            source: 'client',
            kind: 'score',
            type: 'subscriber',
            connectionId: connectionIds[i] ?? null,
            streamId: streamIds[i] ?? null,
            data: { audio: 4, video: 3 },
          });
      parlor.server.inspector.add(sessionId, parlor.apiKey, batch);
      await parlor.server.inspector.idle();
    }
    const closing: Added[] = [];
    for (let i = 0; i < queryStreams; i++) {
      closing.push(event(end - 1000 + i, 'streamDestroyed', i, { reason: 'clientDisconnected' }));
      closing.push(event(end - 500 + i, 'connectionDestroyed', i, { reason: 'clientDisconnected' }));
    }
    parlor.server.inspector.add(sessionId, parlor.apiKey, closing);
    await parlor.server.inspector.idle();

    const getJson = async (query: string): Promise<{ ms: number[]; text: string }> => {
      const ms: number[] = [];
      let text = '';
      for (let run = 0; run < queryRuns; run++) {
        const began = performance.now();
        const response = await parlor.rest('GET', `/session/${sessionId}/inspector${query}`);
        text = await response.text();
        ms.push(performance.now() - began);
        if (response.status !== 200) throw new Error(`the timeline answered ${response.status}`);
      }
      return { ms, text };
    };
    const { ms: jsonMs, text } = await getJson('');
    const overview = await getJson(`?samples=${overviewSamples}`);
    const timeline = JSON.parse(text) as { records: number; dropped: number };
    if (timeline.dropped > 0)
      throw new Error(`${timeline.dropped} records dropped: past the session's bound`);
    const now = Math.floor(Date.now() / 1000);
    const auth = jwt.sign({ iss: parlor.apiKey, ist: 'project', iat: now, exp: now + 300 }, parlor.apiSecret);
    const stats =
      'streamStatsCollection { resources { createdAt videoBitrateKbps videoPacketLoss videoLatency videoResolution } }';
    const graphql = async (sessionsArgs: string): Promise<number[]> => {
      const body = JSON.stringify({
        query: `{ project(projectId: "${parlor.apiKey}") { sessionData { sessions(${sessionsArgs}) {
        resources { meetings { resources { publishers { resources { ${stats} } } subscribers { resources { ${stats} } } } } } } } } }`,
      });
      const ms: number[] = [];
      for (let run = 0; run < queryRuns; run++) {
        const began = performance.now();
        const response = await fetch(`${parlor.url}/graphql`, {
          method: 'POST',
          headers: { 'X-OPENTOK-AUTH': auth, 'content-type': 'application/json' },
          body,
        });
        const answer = (await response.json()) as { errors?: unknown };
        ms.push(performance.now() - began);
        if (answer.errors) throw new Error(`the GraphQL query failed: ${JSON.stringify(answer.errors)}`);
        await sleep(250); // 5 queries a second per project
      }
      return ms;
    };
    const graphqlMs = await graphql(`sessionIds: ["${sessionId}"]`);
    const overviewGraphqlMs = await graphql(`sessionIds: ["${sessionId}"], samples: ${overviewSamples}`);
    return {
      streams: queryStreams,
      hours: queryHours,
      records: timeline.records,
      jsonMs: spread(jsonMs),
      jsonBytes: text.length,
      graphqlMs: spread(graphqlMs),
      overviewSamples,
      overviewJsonMs: spread(overview.ms),
      overviewJsonBytes: overview.text.length,
      overviewGraphqlMs: spread(overviewGraphqlMs),
      runs: queryRuns,
    };
  } finally {
    await parlor.dispose();
  }
}

function spread(values: number[]): { p50: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: sorted[Math.floor(sorted.length / 2)] ?? 0, max: sorted.at(-1) ?? 0 };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
