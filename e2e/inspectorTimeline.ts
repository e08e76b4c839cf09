import type { TestServer } from '@parlor/server/testing';

// The Inspector's JSON of a session as the e2e tests read it, and a wait for what they expect.

export interface InspectorEntry {
  at: number;
  source: string;
  type: string;
  connectionId: string | null;
  streamId: string | null;
  data: Record<string, unknown>;
}

export interface InspectorTimeline {
  connections: {
    connectionId: string;
    connectedAt: number;
    browser: string | null;
    sdkVersion: string | null;
    spans: { lane: string; streamId: string | null; startAt: number; endAt: number }[];
  }[];
  streams: { streamId: string; connectionId: string; createdAt: number }[];
  events: InspectorEntry[];
  quality: InspectorEntry[];
  scores: InspectorEntry[];
  issues: { connectionId: string | null; kind: string; message: string }[];
}

/** A figure of a record's data, 0 when it is not a number. */
export const num = (value: unknown): number => (typeof value === 'number' ? value : 0);

/**
 * Polls the session's Inspector JSON (by the project's REST credentials) until `ready` holds;
 * throws with what it last had after `timeoutMs`.
 */
export async function inspectorWhen(
  parlor: TestServer,
  sessionId: string,
  ready: (timeline: InspectorTimeline) => boolean,
  timeoutMs = 30_000,
): Promise<InspectorTimeline> {
  const deadline = Date.now() + timeoutMs;
  let last: InspectorTimeline | null = null;
  for (;;) {
    const response = await parlor.rest('GET', `/session/${sessionId}/inspector`);
    if (response.status === 200) {
      last = (await response.json()) as InspectorTimeline;
      if (ready(last)) return last;
    } else await response.body?.cancel();
    if (Date.now() > deadline)
      throw new Error(
        `the Inspector did not have what was expected in ${timeoutMs} ms: ${
          last
            ? `${last.events.length} events, ${last.quality.length} samples, ${last.scores.length} scores`
            : 'nothing'
        }`,
      );
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The client's successful attempts of a type (`connect`, `publish`, `subscribe`) of a connection. */
export function attempts(timeline: InspectorTimeline, connectionId: string, type: string): InspectorEntry[] {
  return timeline.events.filter(
    (e) => e.source === 'client' && e.connectionId === connectionId && e.type === type && e.data.ok === true,
  );
}
