import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import type { TelemetryRecord } from '@parlor/protocol';
import { startTestServer, type TestServer } from '@parlor/server/testing';

// The Inspector's data through the server: what clients report over signaling and what the
// server saw, read back by REST; its limits and its retention.

let parlor: TestServer;

before(async () => {
  parlor = await startTestServer();
});
after(() => parlor.dispose());

interface Timeline {
  connections: {
    connectionId: string;
    connectedAt: number;
    disconnectedAt: number | null;
    reason: string | null;
    browser: string | null;
  }[];
  streams: { streamId: string; connectionId: string; hasVideo: boolean }[];
  events: {
    at: number;
    source: string;
    type: string;
    connectionId: string | null;
    data: Record<string, unknown>;
  }[];
  quality: { source: string; type: string; streamId: string | null; data: Record<string, unknown> }[];
  scores: unknown[];
  meetings: unknown[];
  issues: { kind: string; message: string }[];
  dropped: number;
  records: number;
}

interface Collection<T> {
  totalCount: number;
  resources: T[];
}
interface InsightsMember {
  connectionId: string;
  stream: { streamId: string };
  streamStatsCollection: Collection<Record<string, unknown>>;
}
interface InsightsAnswer {
  project: {
    sessionData: {
      sessions: Collection<{
        meetings: Collection<{
          destroyedAt: string | null;
          maxConcurrentConnections: number;
          publishers: Collection<InsightsMember>;
          subscribers: Collection<InsightsMember>;
        }>;
      }>;
    };
  };
}

const inspectorPath = (sessionId: string): string => `/session/${sessionId}/inspector`;

/** Waits until the session's timeline satisfies `done` (writes are asynchronous), at most 5 s. */
async function timelineWhen(sessionId: string, done: (timeline: Timeline) => boolean): Promise<Timeline> {
  const deadline = Date.now() + 5000;
  for (;;) {
    await parlor.server.inspector.idle();
    const response = await parlor.rest('GET', inspectorPath(sessionId));
    if (response.status === 200) {
      const timeline = (await response.json()) as Timeline;
      if (done(timeline)) return timeline;
    }
    if (Date.now() > deadline) throw new Error(`timeline not as expected: ${response.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const quality = (ageMs: number, streamId: string): TelemetryRecord => ({
  ageMs,
  kind: 'quality',
  type: 'subscriber',
  streamId,
  data: { videoBitrate: 400_000, frameRate: 30, width: 640, height: 480, path: 'relay/tcp' },
});

describe('the Inspector', () => {
  it('keeps what the server saw and what clients reported, and reads it back by REST', async () => {
    const { sessionId, alice, bob, streamId } = await parlor.liveSession();
    await bob.request('telemetry', {
      records: [
        {
          ageMs: 0,
          kind: 'event',
          type: 'connect',
          data: { ok: true, browser: 'Chromium 130', os: 'Linux' },
        },
        {
          ageMs: 0,
          kind: 'event',
          type: 'subscribe',
          streamId,
          data: { ok: false, code: 1501, message: 'boom' },
        },
        quality(2000, streamId),
        quality(0, streamId),
        { ageMs: 0, kind: 'score', type: 'subscriber', streamId, data: { audio: 4.3, video: 3.9 } },
      ],
    });
    // What archives recorded it (the archive service tells the room, as clients are told).
    parlor.server.rooms.get(sessionId)?.notifyArchive('archiveStarted', { id: 'archive-1', name: '' });
    await bob.close();
    const timeline = await timelineWhen(
      sessionId,
      (t) => t.quality.length === 2 && t.connections.some((c) => c.disconnectedAt !== null),
    );
    // A long meeting's overview: about so many samples at most, each series' last kept.
    const overview = (await (
      await parlor.rest('GET', `${inspectorPath(sessionId)}?samples=1`)
    ).json()) as Timeline;
    assert.deepEqual(overview.quality, timeline.quality.slice(1));
    assert.equal((await parlor.rest('GET', `${inspectorPath(sessionId)}?samples=0`)).status, 400);
    assert.ok(timeline.events.some((e) => e.type === 'archiveStarted' && e.data.archiveId === 'archive-1'));
    const lanes = new Map(timeline.connections.map((lane) => [lane.connectionId, lane]));
    assert.equal(lanes.size, 2);
    assert.equal(lanes.get(bob.connectionId)?.reason, 'clientDisconnected');
    assert.equal(lanes.get(bob.connectionId)?.browser, 'Chromium 130');
    assert.equal(lanes.get(alice.connectionId)?.disconnectedAt, null);
    assert.deepEqual(
      timeline.streams.map((s) => [s.streamId, s.connectionId, s.hasVideo]),
      [[streamId, alice.connectionId, true]],
    );
    assert.equal(timeline.quality[0]?.data.videoBitrate, 400_000);
    assert.equal(timeline.scores.length, 1);
    const kinds = timeline.issues.map((issue) => issue.kind).sort();
    assert.deepEqual(kinds, ['failure', 'relayedOverTcp']);
    assert.match(
      timeline.issues.find((i) => i.kind === 'failure')?.message ?? '',
      /subscribe failed 1501 boom/,
    );
    await alice.close();
  });

  it('opens a session to a moderator token of that session only, and to no other project', async () => {
    const { sessionId, alice, bob } = await parlor.liveSession();
    await timelineWhen(sessionId, (t) => t.connections.length === 2);
    const url = `${parlor.url}/v2/project/${parlor.apiKey}${inspectorPath(sessionId)}`;
    const withToken = (token: string): Promise<Response> =>
      fetch(url, { headers: { 'X-Parlor-Token': token } });
    assert.equal((await withToken(parlor.token(sessionId, { role: 'moderator' }))).status, 200);
    assert.equal((await withToken(parlor.token(sessionId, { role: 'publisher' }))).status, 403);
    const other = await parlor.createSession();
    const otherUrl = `${parlor.url}/v2/project/${parlor.apiKey}${inspectorPath(other)}`;
    const moderatorOfOther = await fetch(url, {
      headers: { 'X-Parlor-Token': parlor.token(other, { role: 'moderator' }) },
    });
    assert.equal(moderatorOfOther.status, 403);
    assert.equal((await fetch(otherUrl)).status, 403);
    assert.equal((await parlor.rest('GET', inspectorPath(other))).status, 404);
    const now = Math.floor(Date.now() / 1000);
    const stranger = jwt.sign({ iss: '99999999', ist: 'project', iat: now, exp: now + 300 }, 'x'.repeat(40));
    const refused = await fetch(url, { headers: { 'X-OPENTOK-AUTH': stranger } });
    assert.equal(refused.status, 403);
    const recent = (await (await parlor.rest('GET', '/inspector/sessions?count=5')).json()) as {
      items: { sessionId: string }[];
    };
    assert.equal(recent.items[0]?.sessionId, sessionId);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('cuts a client that reports ten times its allowed rate, counting what it dropped, and the server stays well', async () => {
    const { sessionId, alice, bob, streamId } = await parlor.liveSession();
    // 2 records a second in bursts of 150 allowed: 30 batches of 50 in about 3 s is 10x that.
    const batch = Array.from({ length: 50 }, (_, i) => quality(i, streamId));
    for (let i = 0; i < 30; i++) {
      await bob.request('telemetry', { records: batch });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await alice.request('ping', {});
    const timeline = await timelineWhen(sessionId, (t) => t.dropped > 0);
    assert.ok(timeline.quality.length <= 150 + 50 + 2 * 5, `${timeline.quality.length} stored`);
    assert.ok(timeline.dropped >= 1000, `${timeline.dropped} dropped`);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('takes a failed connect over HTTP with a token of the session (expired 5 min at most), rate limited, and calls it out', async () => {
    const sessionId = await parlor.createSession();
    const url = `${parlor.url}/v2/project/${parlor.apiKey}${inspectorPath(sessionId)}/connect-failure`;
    const post = (body: object): Promise<Response> =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const failure = {
      code: 1006,
      message: 'the socket closed',
      ms: 812,
      browser: 'Chromium 130',
      os: 'Linux',
      sdkVersion: '0.1.0',
    };
    const token = parlor.token(sessionId);
    // What the schema does not name is not kept.
    assert.equal((await post({ token, ...failure, extra: 'x'.repeat(100) })).status, 204);
    const other = await parlor.createSession();
    assert.equal((await post({ token: parlor.token(other), ...failure })).status, 403);
    assert.equal((await post({ token: 'nonsense', ...failure })).status, 403);
    // A connect refused for its expired token is reported at once; a token 5 min past expiry, never.
    const expiredAgo = (seconds: number): string =>
      parlor.token(sessionId, { expireTime: Math.floor(Date.now() / 1000) - seconds });
    assert.equal((await post({ token: expiredAgo(60), ...failure })).status, 204);
    assert.equal((await post({ token: expiredAgo(301), ...failure })).status, 403);
    // 10 at once, then 1 a second per session.
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push((await post({ token, ...failure })).status);
    assert.ok(statuses.includes(429), statuses.join());
    const timeline = await timelineWhen(sessionId, (t) => t.events.length >= 1);
    const [event] = timeline.events;
    assert.deepEqual([event?.source, event?.type, event?.connectionId], ['client', 'connect', null]);
    assert.deepEqual(event?.data, { ...failure, ok: false });
    assert.equal(timeline.connections.length, 0);
    assert.match(timeline.issues[0]?.message ?? '', /a client: connect failed 1006 the socket closed/);
  });

  it("answers a GraphQL query in the shape of Vonage's Insights API with the JSON timeline's numbers", async () => {
    const { sessionId, alice, bob, streamId } = await parlor.liveSession();
    const sample = (
      type: 'publisher' | 'subscriber',
      videoBitrate: number,
      rttMs: number,
    ): TelemetryRecord => ({
      ageMs: 0,
      kind: 'quality',
      type,
      streamId,
      data: {
        audioBitrate: 31_500,
        videoBitrate,
        audioLoss: 0.02,
        videoLoss: 0.05,
        rttMs,
        width: 640,
        height: 360,
      },
    });
    await alice.request('telemetry', { records: [sample('publisher', 812_000, 40)] });
    await bob.request('telemetry', {
      records: [
        { ageMs: 0, kind: 'event', type: 'subscribe', streamId, data: { ok: true } },
        sample('subscriber', 655_000, 120),
      ],
    });
    const timeline = await timelineWhen(sessionId, (t) => t.quality.length === 2);
    const query = `query ($projectId: String!, $sessionIds: [String!]!) {
      project(projectId: $projectId) { sessionData { sessions(sessionIds: $sessionIds) { totalCount resources {
        sessionId meetings { totalCount resources { createdAt destroyedAt maxConcurrentConnections
          publishers { resources { connectionId stream { streamId }
            streamStatsCollection { resources { videoBitrateKbps audioBitrateKbps videoPacketLoss videoLatency videoResolution } } } }
          subscribers { resources { connectionId stream { streamId }
            streamStatsCollection { resources { videoBitrateKbps audioPacketLoss audioLatency videoResolution } } } }
        } } } } } } }`;
    const now = Math.floor(Date.now() / 1000);
    const auth = jwt.sign({ iss: parlor.apiKey, ist: 'project', iat: now, exp: now + 300 }, parlor.apiSecret);
    const post = (body: unknown, token = auth): Promise<Response> =>
      fetch(`${parlor.url}/graphql`, {
        method: 'POST',
        headers: { 'X-OPENTOK-AUTH': token, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const response = await post({
      query,
      variables: { projectId: parlor.apiKey, sessionIds: [sessionId, 'nope'] },
    });
    assert.equal(response.status, 200);
    const { data, errors } = (await response.json()) as { data: InsightsAnswer; errors?: unknown };
    assert.equal(errors, undefined);
    const sessions = data.project.sessionData.sessions;
    assert.equal(sessions.totalCount, 1);
    const meetings = sessions.resources[0]?.meetings;
    assert.equal(meetings?.totalCount, timeline.meetings.length);
    const meeting = meetings.resources[0];
    assert.ok(meeting);
    assert.equal(meeting.maxConcurrentConnections, 2);
    assert.equal(meeting.destroyedAt, null);
    const [published] = timeline.quality.filter((q) => q.type === 'publisher');
    const [subscribed] = timeline.quality.filter((q) => q.type === 'subscriber');
    const publisher = meeting.publishers.resources[0];
    assert.equal(publisher?.connectionId, alice.connectionId);
    assert.equal(publisher.stream.streamId, streamId);
    assert.deepEqual(publisher.streamStatsCollection.resources, [
      {
        videoBitrateKbps: Number(published?.data.videoBitrate) / 1000,
        audioBitrateKbps: Number(published?.data.audioBitrate) / 1000,
        videoPacketLoss: published?.data.videoLoss,
        videoLatency: published?.data.rttMs,
        videoResolution: '640x360',
      },
    ]);
    const subscriber = meeting.subscribers.resources[0];
    assert.equal(subscriber?.connectionId, bob.connectionId);
    assert.deepEqual(subscriber.streamStatsCollection.resources, [
      {
        videoBitrateKbps: Number(subscribed?.data.videoBitrate) / 1000,
        audioPacketLoss: subscribed?.data.audioLoss,
        audioLatency: subscribed?.data.rttMs,
        videoResolution: '640x360',
      },
    ]);
    // Parlor's samples argument thins each series alike, at least one of each kept.
    const thinned = (await (
      await post({
        query: query.replace(
          'sessions(sessionIds: $sessionIds)',
          'sessions(sessionIds: $sessionIds, samples: 1)',
        ),
        variables: { projectId: parlor.apiKey, sessionIds: [sessionId] },
      })
    ).json()) as { data: InsightsAnswer };
    assert.deepEqual(thinned.data.project.sessionData.sessions.resources[0]?.meetings, meetings);
    const zero = (await (
      await post({
        query: query.replace(
          'sessions(sessionIds: $sessionIds)',
          'sessions(sessionIds: $sessionIds, samples: 0)',
        ),
        variables: { projectId: parlor.apiKey, sessionIds: [sessionId] },
      })
    ).json()) as { errors: { message: string }[] };
    assert.match(zero.errors[0]?.message ?? '', /samples must be 1 or more/);
    // Another project, a bad query and a query too large are refused.
    const other = (await (
      await post({ query, variables: { projectId: '99', sessionIds: [sessionId] } })
    ).json()) as {
      data: { project: unknown };
    };
    assert.equal(other.data.project, null);
    const invalid = (await (await post({ query: '{ project(projectId: "1") { nope } }' })).json()) as {
      errors: { message: string }[];
    };
    assert.match(invalid.errors[0]?.message ?? '', /nope/);
    const huge = `{ ${'x '.repeat(2500)} }`;
    const tooBig = (await (await post({ query: huge })).json()) as { errors: { message: string }[] };
    assert.match(tooBig.errors[0]?.message ?? '', /token/i);
    assert.equal((await post({ query }, 'not a token')).status, 403);
    // The bound on session IDs holds for the query as a whole, aliases included.
    const ids = Array.from({ length: 6 }, (_, i) => `"id-${i}"`).join(', ');
    const aliased = (await (
      await post({
        query: `{ ${['a', 'b']
          .map(
            (alias) =>
              `${alias}: project(projectId: "${parlor.apiKey}") { sessionData { sessions(sessionIds: [${ids}]) { totalCount } } }`,
          )
          .join(' ')} }`,
      })
    ).json()) as { errors?: { message: string }[] };
    assert.match(aliased.errors?.[0]?.message ?? '', /at most 10 session IDs/);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('keeps its data over a restart and purges a session idle past the retention', async () => {
    const { sessionId, alice, bob } = await parlor.liveSession();
    await timelineWhen(sessionId, (t) => t.connections.length === 2);
    await Promise.all([alice.close(), bob.close()]);
    parlor = await parlor.restart();
    await timelineWhen(sessionId, (t) => t.connections.length === 2);
    assert.equal(await parlor.server.inspector.purge(Date.now() + 29 * 86_400_000), 0);
    assert.ok((await parlor.server.inspector.purge(Date.now() + 31 * 86_400_000)) >= 1);
    assert.equal((await parlor.rest('GET', inspectorPath(sessionId))).status, 404);
  });
});
