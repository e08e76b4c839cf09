import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignalingRequestError, startTestServer, waitFor, type TestServer } from '../src/testing.js';

// Through the real server: two media workers, one made busy as a burst of joins would make it.
// Utilization alone decides: on a loaded machine an idle worker's delay reaches tens of ms.
const metricsToken = 'admission-test-scraper';
const env = {
  PARLOR_METRICS_TOKEN: metricsToken,
  PARLOR_MEDIA_WORKERS: '2',
  PARLOR_MEDIA_ADMISSION_MAX_UTILIZATION: '0.5',
  PARLOR_MEDIA_ADMISSION_MAX_LAG_MS: '1000',
};
const busy = { busyMs: 80, everyMs: 100, durationMs: 3000 };

/** Whether the worker sheds by /metrics, and its seconds of shedding so far. */
async function sheddingMetrics(
  parlor: TestServer,
  worker: number,
): Promise<{ shedding: number; seconds: number }> {
  const response = await fetch(`${parlor.url}/metrics`, {
    headers: { authorization: `Bearer ${metricsToken}` },
  });
  const text = await response.text();
  const value = (name: string): number => {
    const line = new RegExp(`^${name}\\{worker="${worker}"\\} (\\S+)$`, 'm').exec(text);
    assert.ok(line, `${name} of worker ${worker} in /metrics`);
    return Number(line[1]);
  };
  return {
    shedding: value('parlor_media_worker_shedding'),
    seconds: value('parlor_media_worker_shedding_seconds_total'),
  };
}

/** Whether the session's router sheds, by the media stats. */
async function sessionShedding(parlor: TestServer, sessionId: string): Promise<unknown> {
  const response = await parlor.rest('GET', `/session/${sessionId}/media`);
  assert.equal(response.status, 200);
  return ((await response.json()) as { shedding?: unknown }).shedding;
}

/** Resolves with the code and message of the request's refusal. */
async function refusal(request: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await request;
  } catch (error) {
    assert.ok(error instanceof SignalingRequestError, String(error));
    return { code: error.code, message: error.message };
  }
  assert.fail('the request was accepted');
}

describe('media worker admission', () => {
  let parlor: TestServer;
  before(async () => {
    parlor = await startTestServer({ env });
  });
  after(() => parlor.dispose());

  it('refuses new subscribers and publishers of a session on an overloaded worker with 1501 and 1500, places a new session on the other worker, sheds while overloaded (in /metrics and the media stats), and admits again once the load falls', async () => {
    const pool = parlor.server.mediaWorkers;
    await waitFor(() => pool.load.every((worker) => worker.admitting), 'admitting at rest', 15_000);
    const { alice, bob, streamId, sessionId } = await parlor.liveSession({ mediaMode: 'routed' });
    const busyIndex = pool.load.findIndex((worker) => worker.routers === 1);
    assert.notEqual(busyIndex, -1, 'the session has its router from its first publish');
    assert.deepEqual(await sheddingMetrics(parlor, busyIndex), { shedding: 0, seconds: 0 });
    assert.equal(await sessionShedding(parlor, sessionId), false);

    await pool.simulateLoad(busyIndex, busy);
    await waitFor(() => pool.load[busyIndex]?.admitting === false, 'overloaded', 2500);
    // The worker decides for itself, from the same readings: its next report says it sheds.
    await waitFor(() => pool.load[busyIndex]?.shedding === true, 'shedding', 2500);
    assert.equal((await sheddingMetrics(parlor, busyIndex)).shedding, 1);
    assert.equal(await sessionShedding(parlor, sessionId), true);
    const subscribe = await refusal(bob.request('subscribe', { streamId }));
    assert.equal(subscribe.code, 1501);
    assert.match(subscribe.message, /at capacity/);
    const publish = await refusal(bob.request('publish', { name: 'Late', hasAudio: true, hasVideo: true }));
    assert.equal(publish.code, 1500);
    assert.match(publish.message, /at capacity/);
    // A new session goes to the other worker.
    const other = await parlor.liveSession({ mediaMode: 'routed' });
    assert.deepEqual(
      pool.load.map((worker) => worker.routers),
      [1, 1],
    );

    await waitFor(() => pool.load[busyIndex]?.admitting === true, 'admitting again', busy.durationMs + 5000);
    await waitFor(() => pool.load[busyIndex]?.shedding === false, 'shedding no more', 10_000);
    const recovered = await sheddingMetrics(parlor, busyIndex);
    assert.equal(recovered.shedding, 0);
    assert.ok(recovered.seconds > 0.4, `seconds of shedding counted: ${recovered.seconds}`);
    assert.equal(await sessionShedding(parlor, sessionId), false);
    const { subscriptionId } = await bob.request('subscribe', { streamId });
    assert.ok(subscriptionId);
    for (const client of [alice, bob, other.alice, other.bob]) await client.close();
  });
});
